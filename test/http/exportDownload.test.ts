// The web console's audit export: streamed as it is read, with the socket's backpressure, and a client that leaves
// mid-download ends it (no export left running, holding the one-at-a-time slot or reading the log for nobody).
import { request } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyExport } from '../../src-main/audit/export.ts';
import { startTestServer, PASSPHRASE, type TestServer } from '../helpers/server.ts';
import { consoleLogin, type ConsoleClient } from '../helpers/console.ts';
import { until } from '../helpers/wait.ts';

let t: TestServer;
// Long enough that a reading client never stalls this long on a loaded machine; short enough for the test.
const STALL_MS = 3_000;
let admin: ConsoleClient;
beforeAll(async () => {
  t = await startTestServer({ serve: { console: { exportStallMs: STALL_MS } } });
  admin = await consoleLogin(t.url, PASSPHRASE);
  // About 9 MB of export: far past what the socket's buffers take, so the server must wait for the client to read.
  const args = { note: 'x'.repeat(8_000) };
  for (let i = 0; i < 20; i++) {
    await Promise.all(Array.from({ length: 100 }, (_, j) => t.app.store.audit.append({ event: 'console', decision: 'info', outcome: `filler ${i * 100 + j}`, args })));
  }
});
afterAll(async () => { await t.close(); });

describe('GET /console/api/audit/export', () => {
  it('a client that stops reading holds the export at the socket; one that leaves ends it, and the next export is whole', async () => {
    const url = new URL('/console/api/audit/export?format=jsonl', t.url);
    let received = 0;
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      request(url, { headers: { Cookie: admin.cookie } }, resolve).on('error', reject).end();
    });
    expect(res.statusCode).toBe(200);
    await new Promise<void>((resolve) => res.once('data', (c: Buffer) => { received += c.length; res.pause(); resolve(); }));
    // Paused: the export waits on the socket, so it is still running and a second one is refused.
    const busy = await fetch(url, { method: 'HEAD', headers: { Cookie: admin.cookie } });
    expect(busy.status).toBe(409);
    expect(received).toBeLessThan(9_000_000);
    res.destroy();
    await until('the abandoned export to end', async () => (await fetch(url, { method: 'HEAD', headers: { Cookie: admin.cookie } })).status === 200, 30_000);
    const whole = await fetch(url, { headers: { Cookie: admin.cookie } });
    expect(whole.status).toBe(200);
    const file = join(mkdtempSync(join(tmpdir(), 'cs-dl-')), 'export.jsonl');
    writeFileSync(file, Buffer.from(await whole.arrayBuffer()));
    expect(await verifyExport(file, { key: t.app.secrets.verifyKey })).toMatchObject({ ok: true });
  });
});

describe('a download that takes nothing', () => {
  it(`is ended after ${STALL_MS / 1000} s of it, freeing the one export a node makes at a time`, async () => {
    const url = new URL('/console/api/audit/export?format=ocsf', t.url);
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      request(url, { headers: { Cookie: admin.cookie } }, resolve).on('error', reject).end();
    });
    expect(res.statusCode).toBe(200);
    res.pause();
    // Held by a client that never reads: refused to others, until the server ends the stalled one.
    expect((await fetch(url, { method: 'HEAD', headers: { Cookie: admin.cookie } })).status).toBe(409);
    await until('the stalled export to release its slot', async () => (await fetch(url, { method: 'HEAD', headers: { Cookie: admin.cookie } })).status === 200, 30_000);
    // Ended, not finished: what the client can still read stops short of the signed checkpoint (OCSF's "audit checkpoint" event).
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    await new Promise<void>((resolve) => { res.once('close', () => resolve()); res.once('error', () => resolve()); res.resume(); });
    const text = Buffer.concat(chunks).toString();
    expect(text.length).toBeGreaterThan(0);
    expect(text).not.toContain('audit checkpoint');
  });
});
