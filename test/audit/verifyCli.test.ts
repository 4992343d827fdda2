// `audit verify` as a technician runs it, against what an attacker with write access to the database can do: a history
// rewritten and re-chained, or cut short, verifies as a chain; only the signed checkpoints outside the database show it.
// And an export re-signed with any key is never reported OK without a key the technician trusts.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync, sign } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashRow, type AuditRow } from '../../src-main/audit/log.ts';
import { canonicalJson } from '../../src-main/store/canonical.ts';
import { cli, cliEnv, createKey, initDemoDir, startServe } from '../helpers/childServer.ts';
import { budget } from '../helpers/wait.ts';

const ENV = cliEnv('verify cli passphrase', { COUNTERSIGN_CHECKPOINT_EVERY_ENTRIES: '5' });
let base: string;

/** A demo install with a few dozen entries (keys created and revoked), then `serve` started and stopped once. */
beforeAll(async () => {
  base = initDemoDir(ENV, 'cs-verify-cli-');
  for (let i = 0; i < 6; i++) {
    const k = createKey(ENV, base, { name: `k${i}` });
    expect(cli(ENV, 'keys', 'revoke', k.id, '--data-dir', base).status).toBe(0);
  }
  // Where checkpoints exist, the long-running process writes them: `serve` signs the head when it starts.
  const srv = await startServe(ENV, base);
  await srv.stop();
}, budget(120_000));

function copy(edit: (db: Database.Database) => void): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'cs-verify-copy-')), 'data');
  cpSync(base, dir, { recursive: true });
  const db = new Database(join(dir, 'countersign.db'));
  db.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;');
  edit(db);
  db.close();
  return dir;
}

function rechainFrom(db: Database.Database, seq: number): void {
  let prev = (db.prepare('SELECT hash FROM audit_log WHERE seq = ?').get(seq - 1) as { hash: string }).hash;
  for (const r of db.prepare('SELECT * FROM audit_log WHERE seq >= ? ORDER BY seq').all(seq) as AuditRow[]) {
    const hash = hashRow({ ...r, prev_hash: prev });
    db.prepare('UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?').run(prev, hash, r.seq);
    prev = hash;
  }
}

describe('audit verify sees what the chain alone cannot', () => {
  it('an intact install verifies', () => {
    const r = cli(ENV, 'audit', 'verify', '--data-dir', base);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/audit chain OK/);
  });

  it('a history rewritten and re-chained fails', () => {
    const dir = copy((db) => {
      db.prepare(`UPDATE audit_log SET outcome = 'nothing to see' WHERE seq = 3`).run();
      rechainFrom(db, 3);
    });
    const r = cli(ENV, 'audit', 'verify', '--data-dir', dir);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/rewritten and re-chained/);
  });

  it('a truncated tail fails', () => {
    const dir = copy((db) => {
      const head = db.prepare('SELECT max(seq) FROM audit_log').pluck().get() as number;
      db.prepare('DELETE FROM audit_log WHERE seq > ?').run(Math.floor(head / 2));
    });
    const r = cli(ENV, 'audit', 'verify', '--data-dir', dir);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/tail was cut off/);
  });
});

describe('audit verify --export needs a trusted key', () => {
  it('an export re-signed with another key is never OK; without a trusted key nothing is OK', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'cs-verify-export-')), 'audit.jsonl');
    expect(cli(ENV, 'audit', 'export', '--data-dir', base, '--out', out).status).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    const cp = JSON.parse(lines.at(-1)!);
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const body = { count: cp.count, headSeq: cp.headSeq, headHash: cp.headHash, exportedAt: cp.exportedAt };
    const forged = { ...cp, publicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'), signature: sign(null, Buffer.from(canonicalJson(body)), privateKey).toString('base64') };
    const forgedFile = `${out}.forged`;
    writeFileSync(forgedFile, `${[...lines.slice(0, -1), JSON.stringify(forged)].join('\n')}\n`);
    for (const file of [out, forgedFile]) {
      const r = cli(ENV, 'audit', 'verify', '--export', file);
      expect(r.status, file).toBe(1);
      expect(r.stdout, file).not.toMatch(/OK/);
    }
    const forgedWithKey = cli(ENV, 'audit', 'verify', '--export', forgedFile, '--data-dir', base);
    expect(forgedWithKey.status).toBe(1);
    const genuine = cli(ENV, 'audit', 'verify', '--export', out, '--data-dir', base);
    expect(genuine.status).toBe(0);
    expect(genuine.stdout).toMatch(/export OK/);
  });
});
