import { readFile } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json', '.woff2': 'font/woff2', '.map': 'application/json',
};

export const RENDERER_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

/** Maps app://console/<path> to a file under root; anything that escapes root, or is not a file we serve, is 404. */
export function resolveAsset(root: string, url: string): string | undefined {
  let pathname: string;
  try {
    const u = new URL(url);
    if (u.protocol !== 'app:' || u.host !== 'console') return undefined;
    pathname = decodeURIComponent(u.pathname);
  } catch {
    return undefined;
  }
  if (pathname.includes('\0')) return undefined;
  const base = resolve(root);
  const target = resolve(base, `.${pathname === '/' ? '/index.html' : pathname}`);
  if (target !== base && !target.startsWith(base + sep)) return undefined;
  return TYPES[extname(target)] ? target : undefined;
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
