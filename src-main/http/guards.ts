import type { IncomingMessage } from 'node:http';

const HOST_SHAPE = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

export const LOOPBACK_HOSTNAMES = ['localhost', '127.0.0.1', '[::1]'];

/**
 * DNS-rebinding defence for every route: the Host header must name an allowed hostname (any port),
 * and an Origin, when present, must too. Returns the reason for a 403, or undefined.
 */
export function checkHostOrigin(req: IncomingMessage, allowed: ReadonlySet<string>): string | undefined {
  return hostOriginVerdict(req.headers.host, req.headers.origin, allowed);
}

/**
 * checkHostOrigin for one allowed set, remembering its verdicts: a server sees a handful of Host and Origin pairs, and
 * parsing them as URLs on every request is measurable. Bounded: a client sending endless distinct values only
 * clears the memo.
 */
export function hostOriginGuard(allowed: ReadonlySet<string>): (req: IncomingMessage) => string | undefined {
  const memo = new Map<string, string | undefined>();
  return (req) => {
    const { host, origin } = req.headers;
    const k = `${host ?? ''}\n${origin ?? '\u0000'}`;
    if (memo.has(k)) return memo.get(k);
    const verdict = hostOriginVerdict(host, origin, allowed);
    if (memo.size >= 256) memo.clear();
    memo.set(k, verdict);
    return verdict;
  };
}

function hostOriginVerdict(host: string | undefined, origin: string | undefined, allowed: ReadonlySet<string>): string | undefined {
  if (!host) return 'missing Host header';
  // Strict shape first: `evil@localhost`, paths or fragments would otherwise parse as localhost.
  if (!HOST_SHAPE.test(host)) return 'malformed Host header';
  let hostname: string;
  try {
    hostname = new URL(`http://${host}`).hostname;
  } catch {
    return 'malformed Host header';
  }
  if (!allowed.has(hostname.toLowerCase())) return `Host '${hostname}' is not allowed`;
  if (origin !== undefined) {
    if (origin === 'null') return 'opaque Origin is not allowed';
    try {
      const o = new URL(origin);
      if (!allowed.has(o.hostname.toLowerCase())) return `Origin '${origin}' is not allowed`;
    } catch {
      return 'malformed Origin header';
    }
  }
  return undefined;
}
