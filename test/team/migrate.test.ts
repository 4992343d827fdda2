// countersign migrate --from-sqlite: a demo install with 100k audit entries becomes a team install, and the copy
// verifies on the PostgreSQL side (chain, signed checkpoints, same head) before the command says so.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initDataDir, openApp } from '../../src-main/app.ts';
import { seedDemoFleet } from '../../src-main/demo/seed.ts';
import { writeCheckpoint } from '../../src-main/audit/anchor.ts';
import { newDatabase, postgresAvailable } from '../helpers/stores.ts';
import { budget } from '../helpers/wait.ts';

const ENTRIES = 100_000;
const cli = (...args: string[]) => spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', 'src-main/cli/main.ts', ...args], { encoding: 'utf8', maxBuffer: 16 << 20 });

describe.skipIf(!postgresAvailable())(`migrate --from-sqlite${postgresAvailable() ? '' : ' (skipped: no PostgreSQL for this run)'}`, () => {
  it(`copies a demo install with ${ENTRIES.toLocaleString('en')} audit entries and verifies the copy on PostgreSQL`, async () => {
    const root = mkdtempSync(join(tmpdir(), 'cs-migrate-'));
    const from = join(root, 'embedded');
    const { store, secrets } = await initDataDir(from);
    await seedDemoFleet(store);
    // 100k entries in batches of 5k, with signed checkpoints along the way (as a long-running install would have).
    for (let done = 1; done < ENTRIES;) {
      const n = Math.min(5_000, ENTRIES - done);
      await store.write(async (tx) => {
        for (let i = 0; i < n; i++) await tx.audit({ event: 'tool_call', decision: 'allowed', tool: 'list_devices', keyId: 'k', tier: 1, args: { i: done + i } });
      });
      done += n;
      if (done % 25_000 < 5_000) await writeCheckpoint(store, { dataDir: from, ...secrets });
    }
    await store.close();

    const url = await newDatabase('migrate');
    const to = join(root, 'team');
    const r = cli('migrate', '--from-sqlite', from, '--store', url, '--data-dir', to);
    expect(r.stderr).toMatch(/copied audit_log: 100000 row\(s\)/);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^migrated: 100000 audit entries, head [0-9a-f]{64}, \d+ signed checkpoint\(s\) verify on PostgreSQL/);

    // The team install serves from the copy, and the CLI verifies it too.
    const verify = cli('audit', 'verify', '--data-dir', to, '--store', url);
    expect(verify.stdout).toMatch(/audit chain OK: 100000 entries/);
    const app = await openApp(to, { storeUrl: url, log: () => {} });
    try {
      expect(await app.store.audit.count()).toBe(ENTRIES);
      expect((await app.store.sql.get<{ n: number }>('SELECT count(*) AS n FROM devices'))!.n).toBe(36);
    } finally {
      await app.close();
    }

    // A second run into the same (now full) database is refused and changes nothing.
    const again = cli('migrate', '--from-sqlite', from, '--store', url, '--data-dir', join(root, 'again'));
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already holds rows/);
  }, budget(240_000));
});
