// Serves the built console (out/renderer) at / in web mode: GET/HEAD only, path containment (no traversal, no dotfiles,
// no symlinks out of the root), fixed content types, and a strict CSP the Vite build satisfies.
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpError } from './util.ts';

// From the sources (src-main/http → out/renderer) or compiled (out/main/http → out/renderer).
const CANDIDATES = ['../../out/renderer/', '../../renderer/'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
export const DEFAULT_RENDERER_DIR = CANDIDATES.find((d) => existsSync(resolve(d, 'index.html'))) ?? CANDIDATES[0]!;

/** The app's own files only: no inline script or style, no eval, no framing, no foreign connections. */
export const CONSOLE_CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self'", "font-src 'self'", "connect-src 'self'",
  "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CONSOLE_CSP,
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), usb=(), payment=()',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

export const NOT_BUILT_HINT = 'The Countersign console is not built: run `npm run build` (vite build → out/renderer), then reload.';

export class StaticRenderer {
  private readonly root: string;
  constructor(root: string = DEFAULT_RENDERER_DIR) {
    this.root = resolve(root);
  }

  built(): boolean {
    return existsSync(resolve(this.root, 'index.html'));
  }

  /** Answers a GET/HEAD for a console file; false when the path is not the console's (the caller answers 404). */
  serve(req: IncomingMessage, res: ServerResponse, pathname: string): boolean {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (!this.built()) {
      if (pathname !== '/' && pathname !== '/index.html') return false;
      res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...SECURITY_HEADERS });
      res.end(req.method === 'HEAD' ? undefined : `${NOT_BUILT_HINT}\n`);
      return true;
    }
    const file = this.resolveFile(pathname === '/' ? '/index.html' : pathname);
    if (!file) return false;
    const type = TYPES[extname(file).toLowerCase()];
    if (!type) return false;
    const body = readFileSync(file);
    const immutable = pathname.startsWith('/assets/');
    res.writeHead(200, {
      'Content-Type': type,
      'Content-Length': String(body.length),
      'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      ...SECURITY_HEADERS,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }

  private resolveFile(pathname: string): string | undefined {
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      throw new HttpError(400, 'Malformed path');
    }
    if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
    const segments = decoded.split('/').filter((s) => s !== '');
    // No traversal, no hidden files: every segment is a plain name.
    if (segments.some((s) => s === '..' || s === '.' || s.startsWith('.'))) return undefined;
    const candidate = resolve(this.root, ...segments);
    if (!candidate.startsWith(this.root + sep)) return undefined;
    try {
      if (!statSync(candidate).isFile()) return undefined;
      const real = realpathSync(candidate);
      if (!real.startsWith(realpathSync(this.root) + sep)) return undefined;
      return real;
    } catch {
      return undefined;
    }
  }
}
