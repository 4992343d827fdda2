// The composition root of the desktop app, loaded by main.ts once the compile cache is on: the only module that
// imports electron. It starts the same server as `countersign serve` in-process and shows the console in a locked-down window served from app://console.
// Order matters: identity before anything reads userData, the scheme before ready, the single-instance lock, then
// on ready the lock-down, the protocol, the data, the server, IPC and last the window. Launches and Dock clicks that
// arrive before the window exists are remembered and answered by focusing that one window once start-up is done.
import { app, BrowserWindow, dialog, ipcMain, Menu, nativeImage, Notification, protocol, safeStorage, session, shell, Tray } from 'electron';
import { join } from 'node:path';
import { initDataDir, isInitialized, openApp, type App } from '../app.ts';
import { hubOptionsFromEnv } from '../agentServer/listener.ts';
import { createConsoleService, type ConsoleService } from '../console/service.ts';
import { consoleMethods } from '../console/contract.ts';
import { resealSecrets } from '../store/secrets.ts';
import { PortInUseError, startServing, type Serving } from '../serving.ts';
import { registerConsoleIpc, trustedSender, CHANNEL_PREFIX } from './ipc.ts';
import { serveAsset } from './appProtocol.ts';
import { applyIdentity } from './identity.ts';
import { APP_ORIGIN, denyAllPermissions, guardWebContents, packagedMenu } from './lockdown.ts';
import { desktopSecrets, resealOffer, type DesktopSecrets } from './secretsDoor.ts';
import { describeFailure, portConflictQuestion, StartupAborted } from './startupFailure.ts';
import { HeldNotifications } from './notifications.ts';
import { startUpdateChecks, updateFeed, type UpdaterLike } from './updates.ts';
import { isTeamUrl, teamServerUrl } from './teamServer.ts';
import { CONSOLE_COOKIE, TeamPending } from './teamPending.ts';
import type { ApprovalT } from '../console/contract.ts';

const here = import.meta.dirname;
// Packaged: out/main/electron/main.js next to out/renderer; in development the same layout after `npm run build`.
const RENDERER_ROOT = join(here, '..', '..', 'renderer');
const ASSETS = join(here, '..', '..', '..', 'assets');
const env = process.env;

const userData = applyIdentity(app, env, process.platform);
protocol.registerSchemesAsPrivileged([{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  let phase: 'starting' | 'running' | 'failed' = 'starting';
  let focusWhenReady = false;
  let win: BrowserWindow | undefined;
  let tray: Tray | undefined;
  let core: App | undefined;
  let serving: Serving | undefined;
  let secrets: DesktopSecrets | undefined;
  let update: { version: string } | null = null;
  let quitting = false;
  const notifications = new HeldNotifications();
  const dataDir = env.COUNTERSIGN_DATA_DIR ?? join(userData, 'data');
  const openExternal = (url: string) => void shell.openExternal(url);
  /** Team mode (COUNTERSIGN_TEAM_URL): the window shows the team server's console; nothing runs here. */
  let team: URL | undefined;
  let teamPending: TeamPending | undefined;

  const showWindow = () => {
    // A second launch or a Dock click during start-up: no half-built window, just the one window once it exists.
    if (phase !== 'running') {
      focusWhenReady = phase === 'starting';
      return;
    }
    if (!win) return createWindow();
    if (win.isMinimized()) win.restore();
    win.show();
    win.focus();
  };
  app.on('second-instance', showWindow);
  app.on('activate', showWindow);
  app.on('web-contents-created', (_e, contents) => guardWebContents(contents, openExternal, (url) => isTeamUrl(url, team)));

  function createWindow(): void {
    win = new BrowserWindow({
      width: 1280, height: 800, minWidth: 1024, minHeight: 640, title: 'Countersign', show: false,
      webPreferences: {
        contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, spellcheck: false,
        // The team server's console is a web page of its own: it gets no bridge into this process.
        devTools: !app.isPackaged, ...(team ? {} : { preload: join(here, 'preload.cjs') }),
      },
    });
    win.once('ready-to-show', () => win?.show());
    win.on('close', (e) => {
      // Closing hides to the tray: the gate keeps serving and approvals keep arriving.
      if (!quitting) {
        e.preventDefault();
        win?.hide();
      }
    });
    win.on('closed', () => (win = undefined));
    void win.loadURL(team ? team.toString() : `${APP_ORIGIN}/index.html`);
  }

  function updatePending(): void {
    core?.approvals.pendingCount().then(showPending, (e: unknown) => console.error('[countersign] counting pending approvals failed', e));
  }

  function showPending(n: number): void {
    win?.setTitle(n ? `Countersign (${n} pending)` : 'Countersign');
    tray?.setToolTip(n ? `Countersign: ${n} approval${n === 1 ? '' : 's'} waiting` : 'Countersign');
    if (process.platform === 'darwin') tray?.setTitle(n ? String(n) : '');
    app.setBadgeCount?.(n);
  }

  /** A desktop notification for a new request; a click shows the window (embedded and team mode alike). */
  function notifyApproval(a: ApprovalT): void {
    if (!Notification.isSupported() || !notifications.firstTime(a.id)) return;
    notifications.show(new Notification({ title: `Approval requested: ${a.tool}`, body: a.summary, urgency: 'critical' }), showWindow);
  }

  /** Team mode: the pending count and new requests of the account signed in in the window, from the team server. */
  function followTeam(server: URL): void {
    const cookies = session.defaultSession.cookies;
    teamPending = new TeamPending({
      team: server,
      cookie: async () => (await cookies.get({ url: server.toString(), name: CONSOLE_COOKIE }))[0]?.value,
      onCount: showPending,
      onCreated: notifyApproval,
      log: (msg, err) => console.error(`[countersign] ${msg}`, err ?? ''),
    });
    // Signing in or out in the window sets or clears the cookie: follow the new account at once.
    cookies.on('changed', (_e, cookie) => {
      if (cookie.name === CONSOLE_COOKIE && cookie.domain?.replace(/^\./, '') === server.hostname) teamPending?.signInChanged();
    });
    teamPending.start();
  }

  /** The tray menu, rebuilt when the secrets' seal changes. */
  function setTrayMenu(): void {
    const offer = secrets ? resealOffer(dataDir, secrets) : null;
    tray?.setContextMenu(Menu.buildFromTemplate([
      { label: 'Show Countersign', click: showWindow },
      { type: 'separator' },
      { label: team ? `Team server: ${team.origin}` : `MCP server: ${serving?.server.url ?? '…'}`, enabled: false },
      ...(offer ? [{ label: offer.menuLabel, click: () => void reseal() }] : []),
      { label: 'Quit', click: () => { quitting = true; app.quit(); } },
    ]));
  }

  /** Changes the seal of the install secrets, only after the person confirms (see secretsDoor.ts). */
  async function reseal(): Promise<void> {
    const offer = secrets ? resealOffer(dataDir, secrets) : null;
    if (!offer || !secrets || !core) return;
    const { response } = await dialog.showMessageBox({
      type: 'question', title: offer.title, message: offer.message, detail: offer.detail, buttons: offer.buttons, defaultId: 1, cancelId: 1, noLink: true,
    });
    if (response !== 0) return;
    try {
      resealSecrets(dataDir, secrets.protectors, offer.to);
      await core.store.audit.append({ event: 'system', decision: 'info', rule: 'desktop', outcome: 'secrets re-sealed', detail: { protector: offer.to.kind } });
    } catch (e) {
      dialog.showErrorBox('The secrets were not changed', (e as Error).message);
    }
    setTrayMenu();
  }

  /** Starts the server; a taken port asks the person what to do instead of failing with EADDRINUSE. */
  async function serve(app_: App, svc: ConsoleService): Promise<Serving> {
    let port = Number(env.COUNTERSIGN_PORT ?? 4319);
    for (;;) {
      try {
        return await startServing(app_, {
          port, console: { service: svc }, by: 'desktop', hub: hubOptionsFromEnv(env),
          agentHost: env.COUNTERSIGN_AGENT_HOST ?? '127.0.0.1', agentPort: Number(env.COUNTERSIGN_AGENT_PORT ?? 0),
        });
      } catch (e) {
        if (!(e instanceof PortInUseError)) throw e;
        const q = portConflictQuestion(e);
        const { response } = await dialog.showMessageBox({ type: 'warning', title: q.title, message: q.message, detail: q.detail, buttons: q.buttons, defaultId: 0, cancelId: q.buttons.length - 1, noLink: true });
        const choice = q.choices[response] ?? 'quit';
        if (choice === 'other-port') {
          port = 0;
          continue;
        }
        if (choice === 'open-console') {
          await shell.openExternal(`http://127.0.0.1:${e.port}/`);
          throw new StartupAborted(0);
        }
        throw new StartupAborted(1);
      }
    }
  }

  async function boot(): Promise<void> {
    denyAllPermissions(session.defaultSession);
    const menu = packagedMenu(app.isPackaged, process.platform);
    if (menu !== undefined) Menu.setApplicationMenu(menu && Menu.buildFromTemplate(menu));
    protocol.handle('app', (req) => serveAsset(RENDERER_ROOT, req.url));

    team = teamServerUrl(env);
    if (team) {
      // A window onto the team server: its console signs the technician in with their own account.
      tray = new Tray(trayIcon());
      setTrayMenu();
      tray.on('click', showWindow);
      createWindow();
      followTeam(team);
      phase = 'running';
      if (focusWhenReady) showWindow();
      return;
    }
    secrets = desktopSecrets(safeStorage, env, process.platform);
    if (!isInitialized(dataDir)) await (await initDataDir(dataDir, secrets.forNew)).store.close();
    core = await openApp(dataDir, { protector: secrets.protectors, longRunning: true });
    // One console service for the window (IPC) and the server's web console, so both push the same events.
    const svc = createConsoleService(core, {
      mode: 'desktop', actor: 'desktop', update: () => update,
      saveAs: async (fileName) => {
        const options = { title: 'Save the audit export', defaultPath: join(app.getPath('downloads'), fileName) };
        const r = await (win ? dialog.showSaveDialog(win, options) : dialog.showSaveDialog(options));
        return r.canceled || !r.filePath ? null : r.filePath;
      },
      mcpBaseUrl: () => serving?.server.url ?? null, agentUrl: () => serving?.agents.url ?? null,
    });
    serving = await serve(core, svc);

    registerConsoleIpc(ipcMain, consoleMethods,
      Object.fromEntries(Object.keys(consoleMethods).map((name) => [name, (input: unknown) => (svc as unknown as Record<string, (i: unknown) => unknown>)[name]!(input)])) as never,
      trustedSender(() => win?.webContents.id, APP_ORIGIN));

    svc.subscribe((event) => {
      win?.webContents.send(`${CHANNEL_PREFIX}event`, event);
      if (event.type === 'approval.created') notifyApproval(event.approval);
      if (event.type.startsWith('approval.')) updatePending();
    });

    tray = new Tray(trayIcon());
    setTrayMenu();
    tray.on('click', showWindow);
    createWindow();
    updatePending();
    phase = 'running';
    if (focusWhenReady) showWindow();
    // A malformed COUNTERSIGN_UPDATE_URL (or a missing updater) is logged: a rejection left unhandled would end the app.
    checkForUpdates().catch((e: unknown) => core?.log('the update check could not start', e));
  }

  function trayIcon() {
    // macOS draws menu-bar icons from a black-and-alpha template image, in either appearance.
    const icon = nativeImage.createFromPath(join(ASSETS, process.platform === 'darwin' ? 'trayTemplate.png' : 'tray.png'));
    if (process.platform === 'darwin') icon.setTemplateImage(true);
    return icon;
  }

  async function checkForUpdates(): Promise<void> {
    const feed = updateFeed(env, process.resourcesPath, app.isPackaged);
    if (!feed) return;
    const mod = await import('electron-updater');
    const updater = (mod.autoUpdater ?? (mod as unknown as { default: typeof mod }).default.autoUpdater) as unknown as UpdaterLike;
    startUpdateChecks(updater, feed, (version) => {
      update = { version };
      win?.webContents.send(`${CHANNEL_PREFIX}event`, { type: 'update.available', version });
    }, (msg, err) => core?.log(msg, err));
  }

  async function closeAll(): Promise<void> {
    teamPending?.stop();
    const s = serving;
    serving = undefined;
    await s?.close();
    await core?.close();
    core = undefined;
  }

  app.on('before-quit', () => {
    quitting = true;
  });
  app.on('will-quit', (e) => {
    teamPending?.stop();
    if (!serving && !core) return;
    e.preventDefault();
    void closeAll().finally(() => app.exit(0));
  });
  app.whenReady().then(boot).catch(async (e: unknown) => {
    phase = 'failed';
    if (!(e instanceof StartupAborted)) {
      const f = describeFailure(e, dataDir);
      console.error(`countersign: ${f.message} ${(e as Error).message ?? ''}`);
      dialog.showErrorBox(f.title, `${f.message}\n\n${f.detail}`);
    }
    await closeAll().catch(() => {});
    app.exit(e instanceof StartupAborted ? e.exitCode : 1);
  });
}
