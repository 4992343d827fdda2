import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { initDataDir, DB_FILE } from '../../src-main/app.ts';
import { openDatabase } from '../../src-main/store/db.ts';
import { hashRow, type AuditRow } from '../../src-main/audit/log.ts';
import { sqliteSql } from '../../src-main/store/sql.ts';
import { openStore } from '../helpers/store.ts';
import { exportAudit, verifyExport } from '../../src-main/audit/export.ts';
import { loadSecrets, createSecrets } from '../../src-main/store/secrets.ts';

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-audit-'));
  const { store } = await initDataDir(dir);
  for (let i = 0; i < 20; i++) await store.audit.append({ event: 'tool_call', decision: i % 3 ? 'allowed' : 'denied', tool: 'list_devices', args: { i, password: 'hunter2' }, keyId: 'k', tier: 1 });
  await store.close();
});

/** A copy of the database with the append-only triggers dropped: what an attacker with file access could do. */
function tamperedCopy(edit: (db: Database.Database) => void): string {
  const d = mkdtempSync(join(tmpdir(), 'cs-tamper-'));
  copyFileSync(join(dir, DB_FILE), join(d, DB_FILE));
  const raw = new Database(join(d, DB_FILE));
  raw.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;');
  edit(raw);
  raw.close();
  return join(d, DB_FILE);
}
const verifyFile = async (file: string) => {
  const { store } = openStore(file);
  try {
    return await store.audit.verify();
  } finally {
    await store.close();
  }
};

describe('hash-chained audit log', () => {
  it('verifies intact, and redacts secrets in arguments', async () => {
    const r = await verifyFile(join(dir, DB_FILE));
    expect(r).toMatchObject({ ok: true, count: 21 });
    const db = openDatabase(join(dir, DB_FILE));
    const row = db.prepare('SELECT args_json FROM audit_log WHERE seq = 2').get() as { args_json: string };
    expect(JSON.parse(row.args_json)).toEqual({ i: 0, password: '[redacted]' });
    db.close();
  });

  it('UPDATE and DELETE are blocked by triggers', () => {
    const db = openDatabase(join(dir, DB_FILE));
    expect(() => db.prepare(`UPDATE audit_log SET decision = 'allowed' WHERE seq = 3`).run()).toThrow(/append-only/);
    expect(() => db.prepare(`DELETE FROM audit_log WHERE seq = 3`).run()).toThrow(/append-only/);
    db.close();
  });

  it('finds an edited entry', async () => {
    const r = await verifyFile(tamperedCopy((db) => db.prepare(`UPDATE audit_log SET decision = 'allowed' WHERE seq = 8`).run()));
    expect(r).toMatchObject({ ok: false, badSeq: 8 });
  });

  it('finds a deleted entry', async () => {
    const r = await verifyFile(tamperedCopy((db) => db.prepare(`DELETE FROM audit_log WHERE seq = 9`).run()));
    expect(r).toMatchObject({ ok: false, badSeq: 9 });
  });

  it('finds an inserted entry even with a self-consistent hash', async () => {
    const r = await verifyFile(tamperedCopy((db) => {
      const rows = db.prepare('SELECT * FROM audit_log ORDER BY seq').all() as AuditRow[];
      db.prepare('DELETE FROM audit_log WHERE seq > 10').run();
      const { hash: _h, ...template } = rows[9]!;
      const fake: Omit<AuditRow, 'hash'> = { ...template, seq: 11, decision: 'allowed', tool: 'forged', prev_hash: rows[9]!.hash };
      const insert = db.prepare(`INSERT INTO audit_log VALUES (@seq, @at, @event, @decision, @code, @rule, @key_id, @key_name, @tenant, @client, @session_id, @tool, @action, @tier, @args_json, @outcome, @detail_json, @duration_ms, @approval_id, @remote, @prev_hash, @hash)`);
      insert.run({ ...fake, hash: hashRow(fake) });
      for (const r of rows.slice(10)) insert.run({ ...r, seq: r.seq + 1 });
    }));
    expect(r).toMatchObject({ ok: false, badSeq: 12 });
  });

  it('rolls the entry back with the state change it records', async () => {
    const { store } = openStore(join(dir, DB_FILE));
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
    const secrets = loadSecrets(dir);
    const db = openDatabase(join(dir, DB_FILE));
    const file = join(mkdtempSync(join(tmpdir(), 'cs-exp-')), 'audit.jsonl');
    const cp = await exportAudit(sqliteSql(db), file, secrets.signingKey, secrets.verifyKey);
    db.close();
    expect(cp.count).toBe(21);
    expect(await verifyExport(file, { key: secrets.verifyKey })).toMatchObject({ ok: true, count: 21 });

    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const edited = lines.map((l, i) => (i === 4 ? l.replace('"allowed"', '"denied"').replace('"denied"', '"allowed"') : l));
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

    const otherDir = mkdtempSync(join(tmpdir(), 'cs-other-'));
    const other = createSecrets(otherDir);
    expect(await verifyExport(file, { key: other.verifyKey })).toMatchObject({ ok: false, reason: expect.stringMatching(/not by the trusted key/) });
  });
});
