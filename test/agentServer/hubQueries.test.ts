// The agent hub's sweeps over every device's commands (lost leases every second, expired queued commands every minute)
// read the open commands through device_commands_by_status, not every command the install ever ran.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXPIRED_COMMANDS, LOST_COMMANDS } from '../../src-main/agentServer/hub.ts';
import { openDatabase } from '../../src-main/store/db.ts';

describe('agent hub sweeps', () => {
  it('find running and queued commands by status, with an index, on SQLite', () => {
    const db = openDatabase(join(mkdtempSync(join(tmpdir(), 'cs-hub-queries-')), 'countersign.db'), { create: true });
    const plan = (sql: string) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all('x', 'x') as { detail: string }[]).map((r) => r.detail);
    expect(plan(LOST_COMMANDS)[0]).toBe('SEARCH c USING INDEX device_commands_by_status (status=?)');
    expect(plan(EXPIRED_COMMANDS)[0]).toBe('SEARCH c USING INDEX device_commands_by_status (status=?)');
    db.close();
  });
});
