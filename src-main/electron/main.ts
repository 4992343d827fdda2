// The composition root of the desktop app: the only module that imports electron. It starts the same server as
// `countersign serve` in-process and shows the console in a locked-down window served from app://console.
import { app, BrowserWindow, ipcMain, Menu, nativeImage, Notification, protocol, safeStorage, session, Tray } from 'electron';
import { join } from 'node:path';
import { initDataDir, isInitialized, openApp, type App } from '../app.ts';
import { startServer, type RunningServer } from '../http/server.ts';
import { startAgentListener, hubOptionsFromEnv } from '../agentServer/listener.ts';
import { createConsoleService, type ConsoleService } from '../console/service.ts';
import { consoleMethods, ConsoleError } from '../console/contract.ts';
import { plainFileProtector } from '../store/secrets.ts';
import { registerConsoleIpc, trustedSender, CHANNEL_PREFIX } from './ipc.ts';
import { serveAsset } from './appProtocol.ts';
import { safeStorageProtector } from './safeStorageProtector.ts';

const ORIGIN = 'app://console';
const here = import.meta.dirname;
// Packaged: out/main/electron/main.js next to out/renderer; in development the same layout after `npm run build`.
const RENDERER_ROOT = join(here, '..', '..', 'renderer');
const ASSETS = join(here, '..', '..', '..', 'assets');
const PORT = Number(process.env.COUNTERSIGN_PORT ?? 4319);

protocol.registerSchemesAsPrivileged([{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  let win: BrowserWindow | undefined;
  let tray: Tray | undefined;
  let core: App | undefined;
  let server: RunningServer | undefined;
  let service: ConsoleService | undefined;
  let quitting = false;
  let stopAgents: () => Promise<unknown> = async () => {};

  const showWindow = () => {
    if (!win) return createWindow();
    if (win.isMinimized()) win.restore();
    win.show();
    win.focus();
  };
  app.on('second-instance', showWindow);

  function createWindow(): void {
    win = new BrowserWindow({
      width: 1280, height: 800, minWidth: 1024, minHeight: 640, title: 'Countersign', show: false,
      webPreferences: { contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, spellcheck: false, preload: join(here, 'preload.cjs') },
    });
    const contents = win.webContents;
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
    contents.on('will-navigate', (e, url) => { if (!url.startsWith(`${ORIGIN}/`)) e.preventDefault(); });
    contents.on('will-attach-webview', (e) => e.preventDefault());
    win.once('ready-to-show', () => win?.show());
    win.on('close', (e) => {
      // Closing hides to the tray: the gate keeps serving and approvals keep arriving.
      if (!quitting) {
        e.preventDefault();
        win?.hide();
      }
    });
    win.on('closed', () => (win = undefined));
    void win.loadURL(`${ORIGIN}/index.html`);
  }

  function updatePending(): void {
    const n = (core?.db.prepare(`SELECT count(*) AS n FROM approvals WHERE status = 'pending'`).get() as { n: number } | undefined)?.n ?? 0;
    win?.setTitle(n ? `Countersign (${n} pending)` : 'Countersign');
    tray?.setToolTip(n ? `Countersign: ${n} approval${n === 1 ? '' : 's'} waiting` : 'Countersign');
    if (process.platform === 'darwin') tray?.setTitle(n ? String(n) : '');
    app.setBadgeCount?.(n);
  }

  async function boot(): Promise<void> {
    const dataDir = process.env.COUNTERSIGN_DATA_DIR ?? join(app.getPath('userData'), 'data');
    const protector = safeStorageProtector(safeStorage) ?? plainFileProtector;
    if (!isInitialized(dataDir)) initDataDir(dataDir, protector).db.close();
    core = await openApp(dataDir, { protector, longRunning: true });
    // One console service for the window (IPC) and the server's web console, so both push the same events.
    let agentsUrl: string | null = null;
    service = createConsoleService(core, { mode: 'desktop', mcpBaseUrl: () => server?.url ?? null, agentUrl: () => agentsUrl, actor: 'desktop' });
    server = await startServer(core, { port: PORT, console: { service } });
    // Agents live on other machines: their TLS listener is separate from the loopback MCP one (see `serve --agent-host`).
    const agents = await startAgentListener(core, {
      host: process.env.COUNTERSIGN_AGENT_HOST ?? '127.0.0.1', port: Number(process.env.COUNTERSIGN_AGENT_PORT ?? 0), hub: hubOptionsFromEnv(process.env),
    });
    stopAgents = () => agents.close();
    agentsUrl = agents.url;

    // Deny every web permission: the console needs none (notifications come from this process).
    session.defaultSession.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));
    protocol.handle('app', (req) => serveAsset(RENDERER_ROOT, req.url));

    const svc = service;
    registerConsoleIpc(ipcMain, consoleMethods,
      Object.fromEntries(Object.keys(consoleMethods).map((name) => [name, async (input: unknown) => {
        try {
          return await (svc as unknown as Record<string, (i: unknown) => unknown>)[name]!(input);
        } catch (e) {
          // Electron passes only `message` across IPC: carry the console error shape inside it.
          if (e instanceof ConsoleError) throw new Error(JSON.stringify(e.toJSON()));
          throw e;
        }
      }])) as never,
      trustedSender(() => win?.webContents.id, ORIGIN));

    svc.subscribe((event) => {
      win?.webContents.send(`${CHANNEL_PREFIX}event`, event);
      if (event.type === 'approval.created' && Notification.isSupported()) {
        const n = new Notification({ title: `Approval requested: ${event.approval.tool}`, body: event.approval.summary, urgency: 'critical' });
        n.on('click', showWindow);
        n.show();
      }
      if (event.type.startsWith('approval.')) updatePending();
    });

    tray = new Tray(nativeImage.createFromPath(join(ASSETS, 'tray.png')));
    tray.setContextMenu(Menu.buildFromTemplate([
      { label: 'Show Countersign', click: showWindow },
      { type: 'separator' },
      { label: `MCP server: ${server.url}`, enabled: false },
      { label: 'Quit', click: () => { quitting = true; app.quit(); } },
    ]));
    tray.on('click', showWindow);
    createWindow();
    updatePending();
  }

  app.on('before-quit', () => {
    quitting = true;
  });
  app.on('will-quit', (e) => {
    if (!server && !core) return;
    e.preventDefault();
    const s = server;
    server = undefined;
    void Promise.allSettled([stopAgents(), s ? s.close() : Promise.resolve()]).finally(() => {
      core?.close();
      core = undefined;
      app.exit(0);
    });
  });
  app.on('activate', showWindow);
  app.whenReady().then(boot).catch((e: unknown) => {
    console.error(`countersign: ${(e as Error).message}`);
    app.exit(1);
  });
}
