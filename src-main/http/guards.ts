import type { IncomingMessage } from 'node:http';

const HOST_SHAPE = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

export const LOOPBACK_HOSTNAMES = ['localhost', '127.0.0.1', '[::1]'];

/**
 * DNS-rebinding defence for every route: the Host header must name an allowed hostname (any port),
 * and an Origin, when present, must too. Returns the reason for a 403, or undefined.
 */
export function checkHostOrigin(req: IncomingMessage, allowed: ReadonlySet<string>): string | undefined {
  const host = req.headers.host;
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
  const origin = req.headers.origin;
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
