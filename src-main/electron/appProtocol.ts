import { readFile } from 'node:fs/promises';
import path from 'node:path';

const { extname } = path;

/** The path rules containment is checked under: the host's by default; the tests also pass path.win32. */
type PathRules = Pick<typeof path, 'resolve' | 'sep' | 'extname'>;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json', '.woff2': 'font/woff2', '.map': 'application/json',
};

export const RENDERER_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

/** Maps app://console/<path> to a file under root; anything that escapes root, or is not a file we serve, is 404. */
export function resolveAsset(root: string, url: string, rules: PathRules = path): string | undefined {
  const { resolve, sep } = rules;
  let pathname: string;
  try {
    const u = new URL(url);
    if (u.protocol !== 'app:' || u.host !== 'console') return undefined;
    pathname = decodeURIComponent(u.pathname);
  } catch {
    return undefined;
  }
  // NUL, and ':' (Windows drive letters and NTFS alternate data streams): never in a built asset's name.
  if (pathname.includes('\0') || pathname.includes(':')) return undefined;
  const base = resolve(root);
  const target = resolve(base, `.${pathname === '/' ? '/index.html' : pathname}`);
  if (target !== base && !target.startsWith(base + sep)) return undefined;
  return TYPES[rules.extname(target)] ? target : undefined;
}

/** The protocol handler body: a Response for the asset, with the CSP on every answer. */
export async function serveAsset(root: string, url: string): Promise<Response> {
  const file = resolveAsset(root, url);
  const headers = { 'Content-Security-Policy': RENDERER_CSP, 'X-Content-Type-Options': 'nosniff' };
  if (!file) return new Response('not found', { status: 404, headers });
  try {
    return new Response(await readFile(file), { status: 200, headers: { ...headers, 'Content-Type': TYPES[extname(file)]! } });
  } catch {
    return new Response('not found', { status: 404, headers });
  }
}
