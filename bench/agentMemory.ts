// The Linux agent executable's resident memory, idle and while it collects inventory (hardware, installed software, apt
// scan). A benchmark: it measures and asserts nothing. Part of `npm run bench`; alone, `node bench/agentMemory.ts` rewrites
// only its own section of docs/benchmarks.md.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAgents } from '../src-main/agentBuild/build.ts';
import { buildsDir } from '../src-main/agentBuild/manifest.ts';
import { defaultCacheDir } from '../src-main/agentBuild/command.ts';

const ROOT = join(import.meta.dirname, '..');
const CLI = [ '--disable-warning=ExperimentalWarning', join(ROOT, 'src-main/cli/main.ts')];
const TITLE = '## Endpoint agent memory (Linux executable)';
const INVENTORY_SECONDS = 20;
const SAMPLE_SECONDS = 65;

const rss = (pid: number, field: 'VmRSS' | 'VmHWM') => {
  const kb = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return kb ? Number(kb) / 1024 : NaN;
};
const mib = (n: number) => `${n.toFixed(0)} MiB`;
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

export async function agentMemory(say: (line?: string) => void): Promise<void> {
  if (process.platform !== 'linux' || process.arch !== 'x64') return void say(`${TITLE}\n\nNot measured: the agent executable runs on Linux x64 here.`);
  const dir = mkdtempSync(join(tmpdir(), 'cs-bench-agent-'));
  const data = join(dir, 'data');
  const env = { ...process.env, COUNTERSIGN_ADMIN_PASSPHRASE: 'bench-passphrase-long-enough', COUNTERSIGN_AGENT_INVENTORY_SECONDS: String(INVENTORY_SECONDS) };
  const cs = (...args: string[]) => spawnSync(process.execPath, [...CLI, ...args], { env, encoding: 'utf8' });
  cs('init', '--data-dir', data, '--demo');
  const built = await buildAgents({ targets: ['linux-x64'], outDir: buildsDir(data), version: '0.1.0', cacheDir: defaultCacheDir(process.env) });
  const exe = built.built[0]!.path;
  const serve = spawn(process.execPath, [...CLI, 'serve', '--data-dir', data, '--port', '0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let agent: ReturnType<typeof spawn> | undefined;
  try {
    const agentUrl = await new Promise<string>((resolve, reject) => {
      let err = '';
      serve.stderr!.on('data', (d) => {
        err += d;
        const m = /^agents (https:\/\/\S+)$/m.exec(err);
        if (m) resolve(m[1]!);
      });
      serve.once('exit', () => reject(new Error(`serve exited: ${err}`)));
    });
    const token = cs('enroll-tokens', 'create', '--data-dir', data, '--tenant', 'acme-dental').stdout.trim().split('\n').at(-1)!;
    const state = join(dir, 'state');
    spawnSync(exe, ['enroll', '--url', agentUrl, '--token', token, '--state-dir', state], { encoding: 'utf8' });
    agent = spawn(exe, ['run', '--state-dir', state], { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH!.split(':').filter((p) => !p.includes('node_modules')).join(':') } });
    await new Promise<void>((resolve) => agent!.stderr!.on('data', (d) => /connected /.test(String(d)) && resolve()));
    const samples: number[] = [];
    const end = Date.now() + SAMPLE_SECONDS * 1000;
    while (Date.now() < end) {
      samples.push(rss(agent.pid!, 'VmRSS'));
      await new Promise((r) => setTimeout(r, 100));
    }
    const idle = median(samples);
    say(TITLE);
    say();
    say(`Command: \`node bench/agentMemory.ts\` (also part of \`npm run bench\`). The executable built by \`countersign agent build --target linux-x64\` (${(built.built[0]!.size / 1_048_576).toFixed(1)} MiB), enrolled to a local \`serve\` with inventory every ${INVENTORY_SECONDS} s, sampled every 100 ms for ${SAMPLE_SECONDS} s from /proc. A scan is hardware (systeminformation), installed software (dpkg-query) and missing updates (apt); the commands it runs are separate processes and not counted.`);
    say();
    say('| agent process | resident memory |');
    say('|---|---|');
    say(`| idle (median of ${samples.length} samples) | ${mib(idle)} |`);
    say(`| during a scan (highest sample) | ${mib(Math.max(...samples))} |`);
    say(`| peak since start (VmHWM) | ${mib(rss(agent.pid!, 'VmHWM'))} |`);
    say();
  } finally {
    agent?.kill('SIGTERM');
    serve.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const lines: string[] = [];
  await agentMemory((l = '') => (console.log(l), lines.push(l)));
  const file = join(ROOT, 'docs/benchmarks.md');
  const doc = readFileSync(file, 'utf8');
  const start = doc.indexOf(TITLE);
  const next = start < 0 ? -1 : doc.indexOf('\n## ', start + TITLE.length);
  const section = `${lines.join('\n').trimEnd()}\n`;
  const updated = start < 0 ? `${doc.trimEnd()}\n\n${section}` : `${doc.slice(0, start)}${section}${next < 0 ? '' : `${doc.slice(next + 1)}`}`;
  writeFileSync(file, updated);
  console.log('updated docs/benchmarks.md');
}
