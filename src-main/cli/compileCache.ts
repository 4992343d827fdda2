// Imported first by the command line's entry, so it runs before any other module is compiled. Node keeps the V8 code
// of every module it loads (and, for the TypeScript sources, the stripped text) in an on-disk cache, and a later start
// loads that instead of parsing and compiling again: about a quarter of `countersign serve`'s start-up CPU from out/main,
// and half from the sources. The cache is in this user's own cache directory, not the shared temporary one: code
// another local user could write there would run here. NODE_COMPILE_CACHE chooses another directory (Node reads it
// itself); NODE_DISABLE_COMPILE_CACHE=1 turns it off.
import { enableCompileCache } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where the cache goes when NODE_COMPILE_CACHE does not say: the platform's per-user cache directory. */
export function compileCacheDir(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): string {
  const base = platform === 'win32' ? (env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local')) : (env.XDG_CACHE_HOME ?? join(env.HOME ?? homedir(), '.cache'));
  return join(base, 'countersign', 'compile-cache');
}

try {
  // Node ≥ 22.1. A cache that cannot be written (read-only home) only costs the speed-up: the status says so, nothing throws.
  enableCompileCache?.(process.env.NODE_COMPILE_CACHE ? undefined : compileCacheDir(process.env));
} catch {
  // Start-up goes on uncached.
}
