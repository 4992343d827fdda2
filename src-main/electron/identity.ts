// Who the desktop app is, set before anything reads it: Electron derives the single-instance lock, the Chromium
// profile and the keystore item ("<name> Safe Storage") from the name and userData, so a dev run left as "Electron"
// would share all three with every other Electron app under development.
import { join } from 'node:path';

/** The installer's appId (electron-builder.ts): Windows ties toasts and taskbar grouping to this AppUserModelId. */
export const APP_ID = 'com.countersign.console';
export const PRODUCT_NAME = 'Countersign';

export interface IdentityApp {
  isPackaged: boolean;
  setName(name: string): void;
  getPath(name: 'appData'): string;
  setPath(name: 'userData', path: string): void;
  setAppUserModelId(id: string): void;
}

/** Packaged: <appData>/Countersign. Development: <appData>/Countersign-dev, so a dev run never touches an installed app's data. */
export function userDataDir(appData: string, isPackaged: boolean, env: NodeJS.ProcessEnv): string {
  return env.COUNTERSIGN_USER_DATA ?? join(appData, isPackaged ? PRODUCT_NAME : `${PRODUCT_NAME}-dev`);
}

export function applyIdentity(app: IdentityApp, env: NodeJS.ProcessEnv, platform: NodeJS.Platform): string {
  app.setName(PRODUCT_NAME);
  const userData = userDataDir(app.getPath('appData'), app.isPackaged, env);
  app.setPath('userData', userData);
  if (platform === 'win32') app.setAppUserModelId(APP_ID);
  return userData;
}
