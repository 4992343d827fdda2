// Prepared audit exports: fetched once, by their owner, within their time; nothing of them outlives that.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXPORT_ID, EXPORTS_DIR, PreparedExports } from '../../src-main/console/preparedExports.ts';
import { until } from '../helpers/wait.ts';

const dataDir = () => mkdtempSync(join(tmpdir(), 'cs-prep-'));
const write = (p: PreparedExports, owner: string) => {
  const slot = p.reserve()!;
  writeFileSync(slot.file, 'line\n');
  return p.hold({ id: slot.id, file: slot.file, fileName: 'a.jsonl', mediaType: 'application/x-ndjson' }, owner);
};

describe('prepared exports', () => {
  it('a handle is 256 random bits; only its owner takes it, once', () => {
    const p = new PreparedExports(dataDir());
    const x = write(p, 'tech-a');
    expect(x.id).toMatch(EXPORT_ID);
    expect(x.bytes).toBe(5);
    expect(p.take(x.id, 'tech-b')).toBeUndefined();
    expect(p.take(x.id, '')).toBeUndefined();
    expect(p.take(x.id, 'tech-a')).toMatchObject({ id: x.id, file: x.file });
    expect(p.take(x.id, 'tech-a')).toBeUndefined();
    p.discard(x.id);
    expect(existsSync(x.file)).toBe(false);
  });

  it('lapses with its file when nobody fetches it in time', async () => {
    const p = new PreparedExports(dataDir(), { ttlMs: 30 });
    const x = write(p, '');
    await until('the lapsed export\'s file removed', () => !existsSync(x.file), 5_000);
    expect(p.take(x.id, '')).toBeUndefined();
  });

  it('files a process left behind (it ended before they were fetched) are removed when the next one starts', () => {
    const dir = dataDir();
    mkdirSync(join(dir, EXPORTS_DIR));
    writeFileSync(join(dir, EXPORTS_DIR, 'left.export'), 'old');
    const p = new PreparedExports(dir);
    expect(readdirSync(join(dir, EXPORTS_DIR))).toEqual([]);
    write(p, '');
    p.clear();
    expect(readdirSync(join(dir, EXPORTS_DIR))).toEqual([]);
  });
});
