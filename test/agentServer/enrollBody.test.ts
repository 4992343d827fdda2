// An oversized enrollment body on the real agent listener (TLS), each on a fresh connection the client closes after it:
// the client must read the 413, never a reset. Answering while the client still writes and then closing resets the
// connection (EPIPE at the client, the 413 lost); the listener drains a bounded amount first.
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, type App } from '../../src-main/app.ts';
import { startAgentListener, type RunningAgentListener } from '../../src-main/agentServer/listener.ts';
import { DRAIN_MAX } from '../../src-main/http/util.ts';
import { initTestDir } from '../helpers/server.ts';

const MiB = 1_048_576;
let app: App;
let listener: RunningAgentListener;

function post(body: Buffer, chunked: boolean): Promise<{ status: number; err?: string }> {
  return new Promise((resolve) => {
    const u = new URL(listener.url);
    const headers: Record<string, string> = { 'Content-Type': 'application/json', ...(chunked ? { 'Transfer-Encoding': 'chunked' } : { 'Content-Length': String(body.length) }) };
    const req = https.request({ host: u.hostname, port: u.port, path: '/agent/v1/enroll', method: 'POST', headers, rejectUnauthorized: false, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      res.on('error', (e) => resolve({ status: res.statusCode ?? 0, err: e.message }));
    });
    req.on('error', (e) => resolve({ status: 0, err: e.message }));
    // Written in 64 KiB pieces, as a client streaming a file would.
    for (let o = 0; o < body.length; o += 65_536) req.write(body.subarray(o, o + 65_536));
    req.end();
  });
}

beforeAll(async () => {
  app = await openApp(await initTestDir(), { log: () => {} });
  listener = await startAgentListener(app);
});
afterAll(async () => {
  await listener?.close();
  app?.close();
});

describe('oversized enrollment bodies', () => {
  it('1 to 7 MiB, declared or chunked, on fresh connections: every one is a 413 the client reads', async () => {
    const answers: string[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await post(Buffer.alloc(MiB + i * 850_000, 0x61), i % 2 === 1);
      answers.push(r.err ? `${r.status} ${r.err}` : String(r.status));
    }
    expect(answers.every((a) => a === '413' || a === '429'), answers.join(', ')).toBe(true);
    expect(answers.filter((a) => a === '413').length).toBeGreaterThanOrEqual(5);
  });

  it('a declared length past the drain limit is answered at once, without reading the body', async () => {
    const u = new URL(listener.url);
    const r = await new Promise<number>((resolve, reject) => {
      const req = https.request({ host: u.hostname, port: u.port, path: '/agent/v1/enroll', method: 'POST', rejectUnauthorized: false, agent: false,
        headers: { 'Content-Type': 'application/json', 'Content-Length': String(DRAIN_MAX + 1) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write('{"token":');
    });
    expect([413, 429]).toContain(r);
  });
});
