// The renderer's walls, applied to every webContents the app ever creates (web-contents-created), not only the
// main window: nothing but app://console may be shown, no window may open, no permission is granted or reported.
import type { MenuItemConstructorOptions } from 'electron';

export const APP_ORIGIN = 'app://console';

/** Parsed, not prefix-matched: app://console.evil/, app://console@evil/ and app://consolex/ are all other origins. */
export function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'app:' && u.hostname === 'console' && u.port === '' && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}

/** Links the console may hand to the system browser; file:, custom schemes and the rest are never opened. */
export function isWebUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}

interface Preventable {
  preventDefault(): void;
}

/** The subset of WebContents the guards use; the boot test's stand-in implements it. */
export interface GuardedContents {
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
  on(event: 'will-navigate' | 'will-redirect', listener: (event: Preventable, url: string) => void): unknown;
  on(event: 'will-frame-navigate', listener: (event: Preventable & { url: string }) => void): unknown;
  on(event: 'will-attach-webview', listener: (event: Preventable) => void): unknown;
}

/** `alsoAllowed`: one more origin the window may show (the team server's console, in team mode). */
export function guardWebContents(contents: GuardedContents, openExternal: (url: string) => void, alsoAllowed: (url: string) => boolean = () => false): void {
  const allowed = (url: string) => isAppUrl(url) || alsoAllowed(url);
  // target=_blank and window.open: never a new window; a web link goes to the system browser instead.
  contents.setWindowOpenHandler(({ url }) => {
    if (isWebUrl(url)) openExternal(url);
    return { action: 'deny' };
  });
  contents.on('will-navigate', (e, url) => {
    if (allowed(url)) return;
    e.preventDefault();
    if (isWebUrl(url)) openExternal(url);
  });
  // A redirect of an allowed navigation, and navigations inside frames, must stay inside the app too.
  contents.on('will-redirect', (e, url) => {
    if (!allowed(url)) e.preventDefault();
  });
  contents.on('will-frame-navigate', (e) => {
    if (!allowed(e.url)) e.preventDefault();
  });
  contents.on('will-attach-webview', (e) => e.preventDefault());
}

export interface PermissionSession {
  setPermissionRequestHandler(handler: (wc: unknown, permission: string, callback: (granted: boolean) => void) => void): void;
  setPermissionCheckHandler(handler: () => boolean): void;
  setDevicePermissionHandler?(handler: () => boolean): void;
}

/** The console needs no web permission (its notifications come from the main process): deny requests and checks. */
export function denyAllPermissions(ses: PermissionSession): void {
  ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  ses.setDevicePermissionHandler?.(() => false);
}

/**
 * Packaged builds: no View menu (reload, DevTools). macOS keeps the app and Edit menus, without which Cmd+Q and
 * copy/paste stop working; elsewhere there is no menu at all. Development keeps Electron's default menu (undefined).
 */
export function packagedMenu(isPackaged: boolean, platform: NodeJS.Platform): MenuItemConstructorOptions[] | null | undefined {
  if (!isPackaged) return undefined;
  if (platform !== 'darwin') return null;
  return [{ role: 'appMenu' }, { role: 'editMenu' }, { role: 'windowMenu' }];
}
