// A recording stand-in for the `electron` module, loaded in a child process by boot.ts. Every call the main process
// makes is sent to the test (process.send) in order; the test drives events back (ready, second-instance, quit,
// menu clicks, IPC, navigation). The scenario comes from STANDIN_SCENARIO (JSON). It behaves like Electron where the
// main process depends on it: ready after the main script, quit → before-quit → will-quit → exit 0 unless prevented,
// exit(code) ends the process, web-contents-created for every window, a keystore that really encrypts.
import { EventEmitter } from 'node:events';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';

interface Scenario {
  appData: string;
  /** 'available': a real keystore (AES-GCM under a key kept in keystoreKeyFile); 'none': no keystore. */
  keystore: 'available' | 'none';
  keystoreKeyFile: string;
  isPackaged?: boolean;
  lock?: boolean;
  /** Responses of successive showMessageBox calls (button index); when exhausted, cancelId. */
  dialogResponses?: number[];
  /** Where the save dialog says to save; absent: the technician cancels it. */
  savePath?: string;
  /** When the main process makes this call, these app events are emitted right then (inside start-up). */
  emitDuring?: { call: string; events: string[] };
}

const scenario = JSON.parse(process.env.STANDIN_SCENARIO ?? '{}') as Scenario;
const send = (msg: unknown) => new Promise<void>((resolve) => (process.send ? process.send(msg, () => resolve()) : resolve()));

function record(name: string, detail?: unknown): void {
  void send({ t: 'call', name, detail: detail === undefined ? undefined : JSON.parse(JSON.stringify(detail, (_k, v) => (typeof v === 'function' ? '[fn]' : v))) });
  if (scenario.emitDuring?.call === name) for (const ev of scenario.emitDuring.events) app.emit(ev, { preventDefault() {} }, [], '');
}

class Preventable {
  defaultPrevented = false;
  preventDefault() {
    this.defaultPrevented = true;
  }
}

// ---- app ----
class StandInApp extends EventEmitter {
  isPackaged = scenario.isPackaged ?? false;
  private name = 'Electron';
  private readonly paths: Record<string, string> = { appData: scenario.appData, temp: scenario.appData, home: scenario.appData };
  private ready = false;
  private readyPromise: Promise<void> | undefined;

  setName(name: string) {
    record('app.setName', name);
    this.name = name;
  }
  getName() {
    return this.name;
  }
  getVersion() {
    return (JSON.parse(readFileSync(join(import.meta.dirname, '../../../package.json'), 'utf8')) as { version: string }).version;
  }
  getAppPath() {
    return join(import.meta.dirname, '../../..');
  }
  getPath(name: string) {
    record('app.getPath', name);
    return this.paths[name] ?? join(scenario.appData, this.name);
  }
  setPath(name: string, path: string) {
    record('app.setPath', [name, path]);
    this.paths[name] = path;
  }
  setAppUserModelId(id: string) {
    record('app.setAppUserModelId', id);
  }
  requestSingleInstanceLock() {
    record('app.requestSingleInstanceLock');
    return scenario.lock !== false;
  }
  isReady() {
    return this.ready;
  }
  whenReady() {
    // Electron emits ready once the main script has run: the first whenReady() comes at the end of it.
    this.readyPromise ??= new Promise<void>((resolve) => setImmediate(() => {
      this.ready = true;
      record('app.ready');
      this.emit('ready');
      resolve();
    }));
    return this.readyPromise;
  }
  setBadgeCount(n: number) {
    record('app.setBadgeCount', n);
    return true;
  }
  quit() {
    record('app.quit');
    const before = new Preventable();
    this.emit('before-quit', before);
    if (before.defaultPrevented) return;
    const will = new Preventable();
    this.emit('will-quit', will);
    if (will.defaultPrevented) return;
    this.emit('quit');
    this.exit(0);
  }
  exit(code = 0) {
    void send({ t: 'call', name: 'app.exit', detail: code }).then(() => process.exit(code));
  }
}
export const app = new StandInApp();

// ---- windows ----
let nextId = 1;
class StandInWebContents extends EventEmitter {
  readonly id = nextId++;
  openHandler: ((d: { url: string }) => { action: string }) | undefined;
  setWindowOpenHandler(h: (d: { url: string }) => { action: string }) {
    record('webContents.setWindowOpenHandler', this.id);
    this.openHandler = h;
  }
  send(channel: string, payload: unknown) {
    record('webContents.send', { channel, payload });
  }
}

const windows: StandInBrowserWindow[] = [];
export class StandInBrowserWindow extends EventEmitter {
  readonly webContents = new StandInWebContents();
  private minimized = false;
  constructor(options: unknown) {
    super();
    record('BrowserWindow.new', options);
    windows.push(this);
    app.emit('web-contents-created', new Preventable(), this.webContents);
  }
  static getAllWindows() {
    return windows;
  }
  loadURL(url: string) {
    record('BrowserWindow.loadURL', url);
    setImmediate(() => this.emit('ready-to-show'));
    return Promise.resolve();
  }
  show() { record('BrowserWindow.show'); }
  focus() { record('BrowserWindow.focus'); }
  hide() { record('BrowserWindow.hide'); }
  restore() { record('BrowserWindow.restore'); }
  isMinimized() { return this.minimized; }
  setTitle(title: string) { record('BrowserWindow.setTitle', title); }
  isDestroyed() { return false; }
}
export { StandInBrowserWindow as BrowserWindow };

// ---- protocol, session, ipc ----
const protocolHandlers = new Map<string, (req: { url: string }) => Promise<Response> | Response>();
export const protocol = {
  registerSchemesAsPrivileged(schemes: unknown) {
    record('protocol.registerSchemesAsPrivileged', schemes);
  },
  handle(scheme: string, handler: (req: { url: string }) => Promise<Response> | Response) {
    record('protocol.handle', scheme);
    protocolHandlers.set(scheme, handler);
  },
};

const permissionHandlers: { request?: (wc: unknown, p: string, cb: (g: boolean) => void) => void; check?: (...a: unknown[]) => boolean } = {};
// The session's cookie jar: the test sets and clears cookies as a sign-in in the window would ('cookie' command).
interface Cookie { name: string; value: string; domain: string }
const jar = new Map<string, Cookie>();
class StandInCookies extends EventEmitter {
  get(filter: { url?: string; name?: string }) {
    record('cookies.get', filter);
    const host = filter.url ? new URL(filter.url).hostname : undefined;
    return Promise.resolve([...jar.values()].filter((c) => (!filter.name || c.name === filter.name) && (!host || c.domain === host)));
  }
}
const cookies = new StandInCookies();
const defaultSession = {
  cookies,
  setPermissionRequestHandler(h: (wc: unknown, p: string, cb: (g: boolean) => void) => void) {
    record('session.setPermissionRequestHandler');
    permissionHandlers.request = h;
  },
  setPermissionCheckHandler(h: (...a: unknown[]) => boolean) {
    record('session.setPermissionCheckHandler');
    permissionHandlers.check = h;
  },
  setDevicePermissionHandler() {
    record('session.setDevicePermissionHandler');
  },
};
export const session = { defaultSession, fromPartition: (name: string) => ({ partition: name }) };

const ipcHandlers = new Map<string, (event: unknown, ...args: unknown[]) => unknown>();
export const ipcMain = {
  handle(channel: string, fn: (event: unknown, ...args: unknown[]) => unknown) {
    record('ipcMain.handle', channel);
    ipcHandlers.set(channel, fn);
  },
  on(channel: string) {
    record('ipcMain.on', channel);
  },
  removeHandler(channel: string) {
    ipcHandlers.delete(channel);
  },
};

// ---- keystore ----
const keystoreKey = (): Buffer => {
  if (!existsSync(scenario.keystoreKeyFile)) writeFileSync(scenario.keystoreKeyFile, randomBytes(32), { mode: 0o600 });
  return readFileSync(scenario.keystoreKeyFile);
};
export const safeStorage = {
  isEncryptionAvailable: () => scenario.keystore === 'available',
  getSelectedStorageBackend: () => (scenario.keystore === 'available' ? 'gnome_libsecret' : 'basic_text'),
  encryptString(plain: string): Buffer {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', keystoreKey(), iv);
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return Buffer.concat([Buffer.from('v10'), iv, c.getAuthTag(), body]);
  },
  decryptString(sealed: Buffer): string {
    if (scenario.keystore !== 'available') throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.');
    const d = createDecipheriv('aes-256-gcm', keystoreKey(), sealed.subarray(3, 15));
    d.setAuthTag(sealed.subarray(15, 31));
    return Buffer.concat([d.update(sealed.subarray(31)), d.final()]).toString('utf8');
  },
};

// ---- dialogs, shell, menus, tray, notifications ----
const responses = [...(scenario.dialogResponses ?? [])];
export const dialog = {
  showErrorBox(title: string, content: string) {
    record('dialog.showErrorBox', { title, content });
  },
  showSaveDialog(_win: unknown, options: { title?: string; defaultPath?: string }) {
    record('dialog.showSaveDialog', { title: options.title, defaultPath: options.defaultPath });
    return Promise.resolve(scenario.savePath ? { canceled: false, filePath: scenario.savePath } : { canceled: true, filePath: '' });
  },
  showMessageBox(options: { title?: string; message: string; buttons?: string[]; cancelId?: number }) {
    record('dialog.showMessageBox', { title: options.title, message: options.message, buttons: options.buttons });
    return Promise.resolve({ response: responses.shift() ?? options.cancelId ?? 0, checkboxChecked: false });
  },
};
export const shell = {
  openExternal(url: string) {
    record('shell.openExternal', url);
    return Promise.resolve();
  },
};

interface MenuItem { label?: string; click?: () => void; enabled?: boolean; type?: string; role?: string }
export const Menu = {
  buildFromTemplate: (template: MenuItem[]) => ({ template }),
  setApplicationMenu(menu: { template: MenuItem[] } | null) {
    record('Menu.setApplicationMenu', menu && menu.template.map((i) => i.role ?? i.label));
  },
};
let trayMenu: MenuItem[] = [];
export class Tray extends EventEmitter {
  constructor(image: unknown) {
    super();
    record('Tray.new', image);
  }
  setContextMenu(menu: { template: MenuItem[] }) {
    trayMenu = menu.template;
    record('Tray.setContextMenu', menu.template.map((i) => i.label ?? i.type));
  }
  setToolTip(text: string) { record('Tray.setToolTip', text); }
  setTitle(text: string) { record('Tray.setTitle', text); }
}
export const nativeImage = {
  createFromPath(path: string) {
    record('nativeImage.createFromPath', path);
    return { path, setTemplateImage: (on: boolean) => record('nativeImage.setTemplateImage', on), isEmpty: () => false };
  },
};
export class Notification extends EventEmitter {
  static isSupported() {
    return true;
  }
  constructor(options: unknown) {
    super();
    record('Notification.new', options);
  }
  show() { record('Notification.show'); }
}

// electron-updater fetches through Electron's net module; plain http stands in (the test's feed is on loopback).
export const net = {
  request(options: Record<string, unknown>) {
    const { session: _s, redirect: _r, ...rest } = options;
    record('net.request', `${String(rest.protocol)}//${String(rest.hostname)}:${String(rest.port)}${String(rest.path)}`);
    return httpRequest(rest);
  },
};
export const autoUpdater = new EventEmitter();

// ---- the test driving the app ----
type Command =
  | { cmd: 'quit' }
  | { cmd: 'emit'; event: string }
  | { cmd: 'menu'; label: string }
  | { cmd: 'ipc'; channel: string; input?: unknown; senderId?: number; url?: string }
  | { cmd: 'navigate'; how: 'will-navigate' | 'will-redirect' | 'will-frame-navigate' | 'window-open'; url: string }
  | { cmd: 'permission'; permission: string }
  | { cmd: 'protocol'; url: string }
  | { cmd: 'cookie'; name: string; domain: string; value?: string };

async function run(c: Command): Promise<unknown> {
  switch (c.cmd) {
    case 'quit':
      return app.quit();
    case 'emit':
      return void app.emit(c.event, new Preventable(), [], '');
    case 'menu': {
      const item = trayMenu.find((i) => i.label === c.label);
      if (!item?.click) throw new Error(`no tray menu item '${c.label}' in ${JSON.stringify(trayMenu.map((i) => i.label))}`);
      return void item.click();
    }
    case 'ipc': {
      const h = ipcHandlers.get(c.channel);
      if (!h) throw new Error(`no IPC handler for ${c.channel}`);
      const wc = windows[0]?.webContents;
      return await h({ sender: { id: c.senderId ?? wc?.id }, senderFrame: { url: c.url ?? 'app://console/index.html' } }, c.input);
    }
    case 'navigate': {
      const wc = windows[0]?.webContents;
      if (!wc) throw new Error('no window');
      if (c.how === 'window-open') return wc.openHandler?.({ url: c.url });
      const e = Object.assign(new Preventable(), { url: c.url });
      if (c.how === 'will-frame-navigate') wc.emit(c.how, e);
      else wc.emit(c.how, e, c.url);
      return { prevented: e.defaultPrevented };
    }
    case 'permission': {
      const granted = await new Promise<boolean>((resolve) => permissionHandlers.request?.(null, c.permission, resolve));
      return { check: permissionHandlers.check?.(null, c.permission, 'app://console', {}), granted };
    }
    case 'cookie': {
      const key = `${c.domain}\n${c.name}`;
      const cookie = { name: c.name, domain: c.domain, value: c.value ?? jar.get(key)?.value ?? '' };
      if (c.value === undefined) jar.delete(key);
      else jar.set(key, cookie);
      return void cookies.emit('changed', new Preventable(), cookie, c.value === undefined ? 'explicit' : 'inserted', c.value === undefined);
    }
    case 'protocol': {
      const res = await protocolHandlers.get('app')!({ url: c.url });
      return { status: res.status, csp: res.headers.get('content-security-policy') };
    }
  }
}

process.on('message', (m: { id: number } & Command) => {
  run(m).then(
    (value) => send({ t: 'reply', id: m.id, ok: true, value: value === undefined ? null : value }),
    (e: unknown) => send({ t: 'reply', id: m.id, ok: false, error: (e as Error).message }),
  );
});

export default { app, BrowserWindow: StandInBrowserWindow, protocol, session, ipcMain, safeStorage, dialog, shell, Menu, Tray, nativeImage, Notification, net, autoUpdater };
