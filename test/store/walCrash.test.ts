// A process killed while it checkpoints the write-ahead log: SQLite writes the log's pages into the database file in
// page order, page 1 (with the grown page count) first, so the file can say it holds more pages than it does while the
// rest are still in the log. That install must open (SQLite reads those pages from the log), and the start-up check for a
// cut file must still refuse a file whose missing pages are nowhere.
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseError, openDatabase, type Db } from '../../src-main/store/db.ts';

const root = mkdtempSync(join(tmpdir(), 'cs-walcrash-'));
const PAGE = 4096;
let source: Db;
let rows: number;

/** The last committed image of `page` in a WAL file (frames of its current salts), and where its frames end. */
function lastImage(wal: Buffer, page: number): { image: Buffer; framesOfPage: number[] } {
  const salt = wal.subarray(16, 24);
  let image: Buffer | undefined;
  const framesOfPage: number[] = [];
  for (let at = 32; at + 24 + PAGE <= wal.length; at += 24 + PAGE) {
    if (!wal.subarray(at + 8, at + 16).equals(salt)) break;
    if (wal.readUInt32BE(at) === page) {
      image = wal.subarray(at + 24, at + 24 + PAGE);
      framesOfPage.push(at);
    }
  }
  if (!image) throw new Error(`page ${page} is not in the log`);
  return { image, framesOfPage };
}

/** A copy of the live database and its log, with page 1 of the file replaced by its newest image from the log. */
function crashedMidCheckpoint(name: string): { dir: string; file: string; wal: string } {
  const dir = join(root, name);
  const file = join(dir, 'countersign.db');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  copyFileSync(join(root, 'src', 'countersign.db'), file);
  copyFileSync(join(root, 'src', 'countersign.db-wal'), `${file}-wal`);
  const fd = openSync(file, 'r+');
  writeSync(fd, lastImage(readFileSync(`${file}-wal`), 1).image, 0, PAGE, 0);
  closeSync(fd);
  return { dir, file, wal: `${file}-wal` };
}

beforeAll(() => {
  mkdirSync(join(root, 'src'));
  source = openDatabase(join(root, 'src', 'countersign.db'), { create: true });
  source.exec('CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT NOT NULL) STRICT');
  source.pragma('wal_checkpoint(TRUNCATE)');
  // From here on nothing is checkpointed: the new pages live only in the log.
  source.pragma('wal_autocheckpoint = 0');
  const insert = source.prepare('INSERT INTO filler (body) VALUES (?)');
  source.transaction(() => {
    for (let i = 0; i < 400; i++) insert.run('x'.repeat(1000));
  })();
  rows = 400;
});
afterAll(() => {
  source?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('a database file its header says is longer than it is', () => {
  it('opens when the log holds the missing pages (a kill during a checkpoint), with every row', () => {
    const { file } = crashedMidCheckpoint('mid-checkpoint');
    const header = readFileSync(file).subarray(0, 100);
    // The precondition this test is about: the header now records more pages than the file holds.
    expect(header.readUInt32BE(28) * PAGE).toBeGreaterThan(readFileSync(file).length);
    const db = openDatabase(file);
    try {
      expect((db.prepare('SELECT count(*) AS n FROM filler').get() as { n: number }).n).toBe(rows);
      expect(db.pragma('quick_check', { simple: true })).toBe('ok');
    } finally {
      db.close();
    }
  });

  // Refused as truncated by the header check, or as corrupt by SQLite itself when it meets a missing page first.
  it('is refused when the log is gone', () => {
    const { file, wal } = crashedMidCheckpoint('no-log');
    rmSync(wal);
    expect(() => openDatabase(file)).toThrow(DatabaseError);
    expect(() => openDatabase(file)).toThrow(/truncated|corrupt/);
  });

  it('is refused when the log ends before the last missing page', () => {
    const { file, wal } = crashedMidCheckpoint('short-log');
    const log = readFileSync(wal);
    const pages = readFileSync(file).subarray(0, 100).readUInt32BE(28);
    // Cut the log just before the first frame of the file's last page.
    truncateSync(wal, lastImage(log, pages).framesOfPage[0]!);
    expect(() => openDatabase(file)).toThrow(DatabaseError);
    expect(() => openDatabase(file)).toThrow(/truncated|corrupt/);
  });
});
