// A throwaway PostgreSQL cluster for the test run: initdb as user postgres under a temporary folder, a free port on
// loopback (TCP only: no socket file), the log in a folder postgres can write, stopped by pid at the end. One cluster per run; suites make databases.
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { alive } from './wait.ts';
import { ownerState, recordOwner } from './processIdentity.ts';

/** COUNTERSIGN_PG_BIN, else the newest Debian PostgreSQL installed (/usr/lib/postgresql/<major>/bin). */
export const PG_BIN = process.env.COUNTERSIGN_PG_BIN ?? newestDebianPg() ?? '/usr/lib/postgresql/15/bin';

function newestDebianPg(): string | undefined {
  let majors: number[];
  try {
    majors = readdirSync('/usr/lib/postgresql').map(Number).filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return undefined;
  }
  const dirs = majors.sort((a, b) => b - a).map((n) => `/usr/lib/postgresql/${n}/bin`).filter((d) => existsSync(join(d, 'initdb')));
  return dirs[0];
}

export interface Cluster {
  url: string;
  pid: number;
  stop(): void;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Why this machine cannot start a cluster, or undefined when it can (the binaries, and root to act as postgres). */
export function clusterUnavailable(): string | undefined {
  if (!existsSync(join(PG_BIN, 'initdb'))) return `no PostgreSQL binaries at ${PG_BIN}`;
  if (process.getuid?.() !== 0) return 'not root: cannot run initdb as user postgres';
  if (spawnSync('id', ['-u', 'postgres']).status !== 0) return 'no user postgres';
  return undefined;
}

export async function startCluster(): Promise<Cluster> {
  const root = mkdtempSync(join(tmpdir(), 'cs-pg-'));
  const data = join(root, 'data');
  const run = join(root, 'run');
  mkdirSync(run);
  const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  // Who started it: a run killed before its teardown leaves its cluster running, and the next run stops it (reapOrphans).
  recordOwner(root);
  chownSync(root, uid, gid);
  chownSync(run, uid, gid);
  const as = (cmd: string, args: string[]) => spawnSync('runuser', ['-u', 'postgres', '--', join(PG_BIN, cmd), ...args], { encoding: 'utf8', cwd: root });
  const init = as('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  // The port is free when chosen, not when the server binds it: a server the suites start meanwhile may take it (the
  // server's log says so), and then another port is tried. Any other failure is thrown with the server's own words.
  const logFile = join(run, 'log');
  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    const logged = existsSync(logFile) ? statSync(logFile).size : 0;
    // fsync off: a throwaway cluster; the durability tests of team mode kill Countersign, not PostgreSQL.
    const r = as('pg_ctl', ['-D', data, '-o', `-p ${port} -c unix_socket_directories= -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300`, '-l', logFile, '-w', 'start']);
    if (r.status === 0) break;
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(logged) : '';
    if (attempt < 3 && /could not bind|address already in use/i.test(log)) continue;
    throw new Error(`pg_ctl failed: ${r.stderr || r.stdout}\nthe server's log:\n${log.slice(-2000)}`);
  }
  const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    pid,
    stop() {
      try {
        process.kill(pid, 'SIGINT'); // fast shutdown
      } catch { /* gone already */ }
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        spawnSync('sleep', ['0.1']);
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * Stops the clusters of runs that ended without their teardown (Vitest or Playwright killed), and removes their
 * folders: each would otherwise keep its postmaster, its memory and a port until the machine restarts. A cluster is an
 * orphan when the process that started it (its owner file: pid and start time) is gone. Returns the folders removed.
 */
export function reapOrphanClusters(): string[] {
  const reaped: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const data = argv[0] === join(PG_BIN, 'postgres') ? argv[argv.indexOf('-D') + 1] : undefined;
    if (!data || basename(data) !== 'data' || !basename(dirname(data)).startsWith('cs-pg-')) continue;
    const root = dirname(data);
    // No owner file: not one of ours, or one from before owner files, left alone.
    if (ownerState(root) !== 'gone') continue;
    try {
      process.kill(Number(entry), 'SIGQUIT'); // immediate shutdown: nothing in it is kept
    } catch {
      continue;
    }
    for (let i = 0; i < 100 && alive(Number(entry)); i++) spawnSync('sleep', ['0.1']);
    // The run's own folder when the cluster was made inside one (test/helpers/tmpRoot.ts), else the cluster's.
    const parent = dirname(root);
    const folder = basename(parent).startsWith('cs-run-') ? parent : root;
    rmSync(folder, { recursive: true, force: true });
    reaped.push(folder);
  }
  return reaped;
}

/** A fresh, empty database on the cluster at adminUrl (named after label); its URL. */
export async function createDatabase(adminUrl: string, label: string): Promise<string> {
  const name = `cs_${label.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}
