// A store that has closed stays closed: a write that comes after close (a message still being handled as serve shuts
// down) is refused and leaves nothing behind, on either store. On PostgreSQL it used to open a new write connection that
// nothing would end, which kept `serve` alive after SIGTERM.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { initDataDir } from '../../src-main/app.ts';
import { withInstallSql } from '../helpers/installSql.ts';
import { describeStores, storeUrlFor } from '../helpers/stores.ts';
import { until } from '../helpers/wait.ts';

describeStores('a closed store', (kind) => {
  it('refuses a write that comes after close: nothing is written, and no connection is left open for it', async () => {
    const url = await storeUrlFor(kind, 'closed');
    const dir = mkdtempSync(join(tmpdir(), 'cs-closed-'));
    const { store } = await initDataDir(dir, undefined, { storeUrl: url });
    await store.write((tx) => tx.audit({ event: 'system', decision: 'info', outcome: 'before close' }));
    await store.close();
    await expect(store.write((tx) => tx.audit({ event: 'system', decision: 'info', outcome: 'after close' }))).rejects.toThrow();
    await withInstallSql(dir, url, async (db) => {
      expect(await db.num(`SELECT count(*) FROM audit_log WHERE outcome = 'before close'`)).toBe(1);
      expect(await db.num(`SELECT count(*) FROM audit_log WHERE outcome = 'after close'`)).toBe(0);
      // Only this reading's own connection: the closed store's have all ended (a backend exits just after its client).
      if (url) await until('no connection of the closed store left', async () => (await db.num('SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()')) === 0);
    }, { readOnly: true });
  });
});
