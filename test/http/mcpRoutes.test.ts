// The legacy message endpoint's session id: a request to the endpoint exactly as the transport hands it out is routed
// without parsing its URL, and what that reads is what parsing it would give; every other target is parsed.
import { expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import type { ServerResponse } from 'node:http';
import { LegacySseTransport } from '../../src-main/http/legacySse.ts';
import { MESSAGE_PATH, plainLegacySession, sessionIdOf } from '../../src-main/http/mcpRoutes.ts';

const ID = '0b8a3c3e-9a56-4a43-9c4f-5f9b3f8b8a11';

it('reads the session id of the endpoint as handed out, and only where parsing the URL gives the same', () => {
  const targets = [
    `${MESSAGE_PATH}?sessionId=${ID}`, `${MESSAGE_PATH}?sessionId=${ID.toUpperCase()}`, `${MESSAGE_PATH}?sessionId=${ID}&sessionId=other`,
    `${MESSAGE_PATH}?x=1&sessionId=${ID}`, `${MESSAGE_PATH}?sessionId=${ID.replace('-', '%2D')}`, `${MESSAGE_PATH}?sessionid=${ID}`,
    `${MESSAGE_PATH}/?sessionId=${ID}`, `/api/v1/mcp/./message?sessionId=${ID}`, `/api/v1/mcp/x/../message?sessionId=${ID}`, `${MESSAGE_PATH}s?sessionId=${ID}`,
    `//evil${MESSAGE_PATH}?sessionId=${ID}`, `${MESSAGE_PATH}?sessionId=${ID}#x`, `${MESSAGE_PATH}%3FsessionId=${ID}`, `${MESSAGE_PATH}?sessionId=${ID.slice(1)}`,
  ];
  let plain = 0;
  for (const target of targets) {
    const url = new URL(target, 'http://localhost');
    const id = plainLegacySession(target);
    if (id !== undefined) {
      plain++;
      expect([target, url.pathname, sessionIdOf(url)]).toEqual([target, MESSAGE_PATH, id]);
    }
  }
  // The endpoint as written, and no other target of the list.
  expect(plain).toBe(1);
  expect(plainLegacySession(undefined)).toBeUndefined();
});

it('the endpoint the transport names is one it reads without parsing', async () => {
  const res = Object.assign(new PassThrough(), { writeHead: () => res }) as unknown as ServerResponse & PassThrough;
  const t = new LegacySseTransport(MESSAGE_PATH, res);
  let sent = '';
  res.on('data', (d: Buffer) => (sent += d));
  await t.start();
  await new Promise((r) => setImmediate(r));
  const endpoint = /^data: (.*)$/m.exec(sent)![1]!;
  expect(plainLegacySession(endpoint)).toBe(t.sessionId);
});

it('a legacy stream whose client went away while its key was checked opens no session', async () => {
  const { startTestServer } = await import('../helpers/server.ts');
  const t = await startTestServer();
  try {
    const secret = await t.key({ name: 'gone' });
    const check = await t.app.keys.check(secret);
    if (!check.ok) throw new Error('key not accepted');
    const before = t.server.sessions.size;
    // A request and response whose connection has closed, as route() hands them over after its await.
    const socket = new PassThrough();
    socket.destroy();
    const req = { socket, headers: {} } as unknown as import('node:http').IncomingMessage;
    const res = Object.assign(new PassThrough(), { writeHead: () => res, setHeader: () => {} }) as unknown as ServerResponse & PassThrough;
    await t.server.sessions.openLegacy(req, res, check.key);
    expect(t.server.sessions.size).toBe(before);
    // The control: the same with the connection open does open one.
    const open = Object.assign(new PassThrough(), { writeHead: () => open, setHeader: () => {} }) as unknown as ServerResponse & PassThrough;
    await t.server.sessions.openLegacy({ socket: new PassThrough(), headers: {} } as unknown as import('node:http').IncomingMessage, open, check.key);
    expect(t.server.sessions.size).toBe(before + 1);
    open.destroy();
  } finally {
    await t.close();
  }
});
