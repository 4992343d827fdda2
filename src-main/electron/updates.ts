// Update checks, only where an update feed is configured: a packaged build made with COUNTERSIGN_UPDATE_URL set
// carries it in resources/app-update.yml (electron-builder's generic provider); COUNTERSIGN_UPDATE_URL at run time
// points a development build at a feed. Without either, electron-updater is never loaded and nothing is fetched.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export type UpdateFeed = { source: 'build' } | { source: 'env'; url: string };

export interface UpdaterLike {
  autoDownload: boolean;
  forceDevUpdateConfig: boolean;
  logger: unknown;
  setFeedURL(options: { provider: 'generic'; url: string }): void;
  on(event: 'update-available', listener: (info: { version: string }) => void): unknown;
  on(event: 'error', listener: (e: Error) => void): unknown;
  checkForUpdates(): Promise<unknown>;
}

export function updateFeed(env: NodeJS.ProcessEnv, resourcesPath: string | undefined, isPackaged: boolean): UpdateFeed | null {
  const url = env.COUNTERSIGN_UPDATE_URL;
  if (url) {
    const u = new URL(url);
    const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
    // Update files decide what runs next: only over TLS, or from this machine (a test or staging feed).
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback)) throw new Error(`COUNTERSIGN_UPDATE_URL must be https:// (or http:// on loopback), not ${url}`);
    return { source: 'env', url };
  }
  if (isPackaged && resourcesPath && existsSync(join(resourcesPath, 'app-update.yml'))) return { source: 'build' };
  return null;
}

export const UPDATE_CHECK_EVERY_MS = 6 * 3600_000;

/** Checks now and every `everyMs`; reports each newer version once. Returns the stop function. */
export function startUpdateChecks(updater: UpdaterLike, feed: UpdateFeed, onAvailable: (version: string) => void,
  log: (msg: string, err?: unknown) => void, everyMs = UPDATE_CHECK_EVERY_MS): () => void {
  if (feed.source === 'env') {
    updater.setFeedURL({ provider: 'generic', url: feed.url });
    updater.forceDevUpdateConfig = true;
  }
  // A packaged build downloads in the background and installs on quit; a feed given at run time only reports.
  updater.autoDownload = feed.source === 'build';
  updater.logger = { info: () => {}, debug: () => {}, warn: (m: unknown) => log(`updater: ${String(m)}`), error: (m: unknown) => log(`updater: ${String(m)}`) };
  let announced: string | undefined;
  updater.on('update-available', (info) => {
    if (info.version === announced) return;
    announced = info.version;
    onAvailable(info.version);
  });
  updater.on('error', (e) => log('update check failed', e));
  const check = () => void updater.checkForUpdates().catch((e: unknown) => log('update check failed', e));
  check();
  const timer = setInterval(check, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
