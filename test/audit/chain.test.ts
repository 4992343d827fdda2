// The hash-chained audit log on both stores: it verifies intact, redacts secrets, refuses UPDATE and DELETE, finds an
// edited, deleted or inserted entry (written by someone who bypassed the append-only triggers), rolls an entry back
// with the change it records, and its signed export verifies offline.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { initDataDir, DB_FILE } from '../../src-main/app.ts';
import { hashRow, type AuditRow } from '../../src-main/audit/log.ts';
import { toPgPlaceholders } from '../../src-main/store/pg/sql.ts';
import type { Store } from '../../src-main/store/store.ts';
import { openStore } from '../helpers/store.ts';
import { describeStores, storeUrlFor, type StoreKind } from '../helpers/stores.ts';
import { exportAudit, verifyExport } from '../../src-main/audit/export.ts';
import { loadSecrets, createSecrets } from '../../src-main/store/secrets.ts';

interface Install { dir: string; url: string | undefined }

/** Direct access to the database, as an attacker with write access has it; `bypass` lifts the append-only triggers. */
interface Raw {
  run(sql: string, params?: unknown[]): Promise<void>;
  all<T>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

async function raw(i: Install, bypass: boolean): Promise<Raw> {
  if (!i.url) {
    const db = new Database(join(i.dir, DB_FILE));
    if (bypass) db.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;');
    return {
      run: async (sql, params = []) => void db.prepare(sql).run(...params),
      all: async <T>(sql: string, params: unknown[] = []) => db.prepare(sql).all(...params) as T[],
      close: async () => void db.close(),
    };
  }
  const c = new pg.Client({ connectionString: i.url });
  await c.connect();
  if (bypass) await c.query('ALTER TABLE audit_log DISABLE TRIGGER USER');
  return {
    run: async (sql, params = []) => void await c.query(toPgPlaceholders(sql), params),
    all: async <T>(sql: string, params: unknown[] = []) => (await c.query(toPgPlaceholders(sql), params)).rows as T[],
    close: () => c.end(),
  };
}

async function storeOf(i: Install): Promise<Store> {
  if (!i.url) return openStore(join(i.dir, DB_FILE)).store;
  const { openPgStore } = await import('../../src-main/store/pg/store.ts');
  return openPgStore({ url: i.url, signingKey: loadSecrets(i.dir).signingKey });
}

describeStores('hash-chained audit log', (kind: StoreKind) => {
  /** A fresh install with 20 entries after its first. */
  async function install(): Promise<Install> {
    const dir = mkdtempSync(join(tmpdir(), 'cs-audit-'));
    const url = await storeUrlFor(kind, 'chain');
    const { store } = await initDataDir(dir, undefined, { storeUrl: url });
    for (let i = 0; i < 20; i++) await store.audit.append({ event: 'tool_call', decision: i % 3 ? 'allowed' : 'denied', tool: 'list_devices', args: { i, password: 'hunter2' }, keyId: 'k', tier: 1 });
    await store.close();
    return { dir, url };
  }
  const verify = async (i: Install) => {
    const store = await storeOf(i);
    try {
      return await store.audit.verify();
    } finally {
      await store.close();
    }
  };
  const tampered = async (edit: (db: Raw) => Promise<void>) => {
    const i = await install();
    const db = await raw(i, true);
    try {
      await edit(db);
    } finally {
      await db.close();
    }
    return verify(i);
  };

  describe('chain', () => {
    it('verifies intact, and redacts secrets in arguments', async () => {
      const i = await install();
      expect(await verify(i)).toMatchObject({ ok: true, count: 21 });
      const db = await raw(i, false);
      const [row] = await db.all<{ args_json: string }>('SELECT args_json FROM audit_log WHERE seq = 2');
      await db.close();
      expect(JSON.parse(row!.args_json)).toEqual({ i: 0, password: '[redacted]' });
    });

    it('stores each field in its own column, exactly the row the append returned and hashed', async () => {
      const i = await install();
      const store = await storeOf(i);
      let appended: AuditRow;
      try {
        appended = await store.audit.append({
          event: 'tool_call', decision: 'pending', code: 'C', rule: 'R', keyId: 'K', keyName: 'KN', tenant: 'T', client: 'CL', sessionId: 'S',
          tool: 'TO', action: 'A', tier: 3, args: { a: 1 }, outcome: 'O', detail: { d: 2 }, durationMs: 1.5, approvalId: 'AP', remote: 'RE',
        });
      } finally {
        await store.close();
      }
      const db = await raw(i, false);
      const [row] = await db.all<AuditRow>('SELECT * FROM audit_log WHERE seq = ?', [appended.seq]);
      await db.close();
      expect({ ...row, seq: Number(row!.seq), tier: Number(row!.tier), duration_ms: Number(row!.duration_ms) }).toEqual(appended);
      expect(appended).toMatchObject({
        event: 'tool_call', decision: 'pending', code: 'C', rule: 'R', key_id: 'K', key_name: 'KN', tenant: 'T', client: 'CL', session_id: 'S',
        tool: 'TO', action: 'A', tier: 3, args_json: '{"a":1}', outcome: 'O', detail_json: '{"d":2}', duration_ms: 1.5, approval_id: 'AP', remote: 'RE',
      });
      expect(hashRow(appended)).toBe(appended.hash);
    });

    it('UPDATE and DELETE are blocked by triggers', async () => {
      const db = await raw(await install(), false);
      await expect(db.run(`UPDATE audit_log SET decision = 'allowed' WHERE seq = 3`)).rejects.toThrow(/append-only/);
      await expect(db.run(`DELETE FROM audit_log WHERE seq = 3`)).rejects.toThrow(/append-only/);
      await db.close();
    });

    it('finds an edited entry', async () => {
      expect(await tampered((db) => db.run(`UPDATE audit_log SET decision = 'allowed' WHERE seq = 8`))).toMatchObject({ ok: false, badSeq: 8 });
    });

    it('finds a deleted entry', async () => {
      expect(await tampered((db) => db.run(`DELETE FROM audit_log WHERE seq = 9`))).toMatchObject({ ok: false, badSeq: 9 });
    });

    it('finds an inserted entry even with a self-consistent hash', async () => {
      const r = await tampered(async (db) => {
        const rows = (await db.all<AuditRow>('SELECT * FROM audit_log ORDER BY seq')).map((x) => ({ ...x, seq: Number(x.seq) }));
        await db.run('DELETE FROM audit_log WHERE seq > 10');
        const { hash: _h, ...template } = rows[9]!;
        const fake: Omit<AuditRow, 'hash'> = { ...template, seq: 11, decision: 'allowed', tool: 'forged', prev_hash: rows[9]!.hash };
        const insert = async (r: AuditRow) => {
          const cols = Object.keys(r) as (keyof AuditRow)[];
          await db.run(`INSERT INTO audit_log (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`, cols.map((c) => r[c]));
        };
        await insert({ ...fake, hash: hashRow(fake) });
        for (const r of rows.slice(10)) await insert({ ...r, seq: r.seq + 1 });
      });
      expect(r).toMatchObject({ ok: false, badSeq: 12 });
    });

    it('rolls the entry back with the state change it records', async () => {
      const store = await storeOf(await install());
      const before = await store.audit.count();
      await expect(store.write(async (tx) => {
        await tx.sql.run(`UPDATE settings SET value_json = value_json WHERE name = 'none'`);
        await tx.audit({ event: 'system', decision: 'info', outcome: 'will roll back' });
        throw new Error('boom');
      })).rejects.toThrow('boom');
      expect(await store.audit.count()).toBe(before);
      await store.close();
    });
  });

  describe('signed export', () => {
    it('verifies offline, and any modification fails', async () => {
      const i = await install();
      const secrets = loadSecrets(i.dir);
      const store = await storeOf(i);
      const file = join(mkdtempSync(join(tmpdir(), 'cs-exp-')), 'audit.jsonl');
      const cp = await exportAudit(store.readOnly, file, secrets.signingKey, secrets.verifyKey);
      await store.close();
      expect(cp.count).toBe(21);
      expect(await verifyExport(file, { key: secrets.verifyKey })).toMatchObject({ ok: true, count: 21 });

      const lines = readFileSync(file, 'utf8').trim().split('\n');
      const edited = lines.map((l, n) => (n === 4 ? l.replace('"allowed"', '"denied"').replace('"denied"', '"allowed"') : l));
      const editedFile = `${file}.edited`;
      writeFileSync(editedFile, `${edited.join('\n')}\n`);
      expect((await verifyExport(editedFile)).ok).toBe(false);

      const truncated = `${file}.truncated`;
      writeFileSync(truncated, `${[...lines.slice(0, 10), lines.at(-1)].join('\n')}\n`);
      expect(await verifyExport(truncated)).toMatchObject({ ok: false });

      const cpLine = JSON.parse(lines.at(-1)!);
      const forgedSig = `${file}.sig`;
      writeFileSync(forgedSig, `${[...lines.slice(0, -1), JSON.stringify({ ...cpLine, exportedAt: '2020-01-01T00:00:00.000Z' })].join('\n')}\n`);
      expect(await verifyExport(forgedSig)).toMatchObject({ ok: false, reason: expect.stringMatching(/signature/) });

      const other = createSecrets(mkdtempSync(join(tmpdir(), 'cs-other-')));
      expect(await verifyExport(file, { key: other.verifyKey })).toMatchObject({ ok: false, reason: expect.stringMatching(/not by the trusted key/) });
    });
  });
});
