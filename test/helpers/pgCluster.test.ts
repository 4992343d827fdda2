// The test runs' own PostgreSQL: a cluster whose run was killed before its teardown is stopped by the next run.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { alive, budget, within } from './wait.ts';
import { clusterUnavailable, reapOrphanClusters } from './pgCluster.ts';

const unavailable = clusterUnavailable();

describe.skipIf(unavailable)(`orphaned test clusters${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  it('a cluster whose run was killed is stopped and its folder removed; a live run\'s cluster is left alone', async () => {
    // A run that starts its cluster and is then killed (no teardown).
    const child = spawn(process.execPath, ['--input-type=module', '-e',
      `const { startCluster } = await import(${JSON.stringify(join(import.meta.dirname, 'pgCluster.ts'))});
       const c = await startCluster(); console.log(JSON.stringify({ pid: c.pid, url: c.url })); setInterval(() => {}, 1000);`],
    { stdio: ['ignore', 'pipe', 'inherit'] });
    const started = await within('the child run\'s cluster', new Promise<{ pid: number; url: string }>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(JSON.parse(out));
      });
      // Its error (on stderr, shown above) ends the wait at once, not at the timeout.
      child.once('exit', (code, signal) => reject(new Error(`the child run exited (${code ?? signal}) before its cluster started`)));
    }), 60_000);
    const root = readFileSync(`/proc/${started.pid}/cmdline`, 'utf8').split('\0').find((a) => a.endsWith('/data'))!.replace(/\/data$/, '');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(alive(started.pid)).toBe(true);

    const reaped = reapOrphanClusters();
    expect(reaped).toContain(root);
    expect(alive(started.pid)).toBe(false);
    expect(existsSync(root)).toBe(false);

    // This run's own cluster (its owner, the runner, is alive) still answers.
    const admin = inject('pgAdminUrl');
    if (admin) {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      await c.end();
    }
  }, budget(90_000));
});
