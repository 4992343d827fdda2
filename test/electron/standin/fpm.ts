// A stand-in for fpm, which cannot be had here (it is not packaged by Debian, and electron-builder's own copy is a
// download from GitHub). It builds the .deb electron-builder asks for with dpkg-deb, from the same arguments, so the
// packaging test can read the real package's metadata and layout. Only `-s dir -t deb` is implemented.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const MULTI = new Set(['-d', '--deb-recommends']);
const FLAGS = new Set(['--force', '--debug']);
const opts = new Map<string, string[]>();
const mappings: [string, string][] = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  if (FLAGS.has(a)) continue;
  if (a.startsWith('-')) {
    const v = argv[++i]!;
    opts.set(a, MULTI.has(a) ? [...(opts.get(a) ?? []), v] : [v]);
    continue;
  }
  const eq = a.indexOf('=');
  mappings.push([a.slice(0, eq), a.slice(eq + 1)]);
}
const one = (k: string) => opts.get(k)?.[0];
if (one('-s') !== 'dir' || one('-t') !== 'deb') {
  console.error(`stand-in fpm: only -s dir -t deb, got -s ${one('-s')} -t ${one('-t')}`);
  process.exit(2);
}

const root = mkdtempSync(join(tmpdir(), 'cs-fpm-'));
for (const [src, dest] of mappings) {
  const target = join(root, dest);
  mkdirSync(dirname(target), { recursive: true });
  if (statSync(src).isDirectory()) cpSync(src, target, { recursive: true, verbatimSymlinks: true });
  else copyFileSync(src, target);
}
const sizeKb = (p: string): number => (statSync(p).isDirectory() ? readdirSync(p).reduce((t, n) => t + sizeKb(join(p, n)), 0) : Math.ceil(statSync(p).size / 1024));
mkdirSync(join(root, 'DEBIAN'));
const [synopsis, ...more] = (one('--description') ?? '').split('\n');
const fields: [string, string | undefined][] = [
  ['Package', one('--name')],
  ['Version', one('--version')],
  ['Architecture', one('--architecture')],
  ['Maintainer', one('--maintainer')],
  ['Installed-Size', String(sizeKb(root))],
  ['Depends', opts.get('-d')?.join(', ')],
  ['Recommends', opts.get('--deb-recommends')?.join(', ')],
  ['Section', one('--category')],
  ['Priority', one('--deb-priority')],
  ['Homepage', one('--url')],
  ['Description', [synopsis, ...more.map((l) => (l.trim() ? ` ${l.trim()}` : ' .'))].join('\n')],
];
writeFileSync(join(root, 'DEBIAN', 'control'), `${fields.filter(([, v]) => v).map(([k, v]) => `${k}: ${v}`).join('\n')}\n`);
for (const [flag, script] of [['--after-install', 'postinst'], ['--after-remove', 'postrm']] as const) {
  const src = one(flag);
  if (!src) continue;
  copyFileSync(src, join(root, 'DEBIAN', script));
  chmodSync(join(root, 'DEBIAN', script), 0o755);
}
// Fast compression: the test reads the package, it does not ship it.
const r = spawnSync('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z1', '--build', root, one('--package')!], { stdio: 'inherit' });
process.exit(r.status ?? 1);
