// What the desktop reads from a team server is checked like any other input: a stream of garbage, unknown or malformed
// events, a frame past 1 MiB, an answer that is not the session's shape; none of it is shown, none of it crashes the
// follower, and it reconnects. A real HTTP server on port 0 plays the team server.
import { createServer, type Server, type ServerResponse } from 'node:http';
import { afterEach, expect, it } from 'vitest';
import { TeamPending } from '../../src-main/electron/teamPending.ts';
import { until } from '../helpers/wait.ts';

const servers: Server[] = [];
const followers: TeamPending[] = [];
afterEach(async () => {
  for (const f of followers.splice(0)) f.stop();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => {
    s.closeAllConnections();
    s.close(r);
  })));
});

async function teamServer(events: (res: ServerResponse, connection: number) => void, session: (n: number) => unknown): Promise<{ url: URL; cookies: string[] }> {
  const cookies: string[] = [];
  let connections = 0;
  let sessions = 0;
  const s = createServer((req, res) => {
    cookies.push(String(req.headers.cookie));
    if (req.url === '/console/api/events') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      return events(res, ++connections);
    }
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(session(++sessions)));
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { url: new URL(`http://127.0.0.1:${(s.address() as { port: number }).port}/`), cookies };
}

const approval = (id: string) => ({
  id, tool: 'device_actions', action: 'reboot', summary: 'reboot one device', status: 'pending',
});

it('garbage, unknown events and a card missing its fields are dropped, an oversize frame ends the stream, a count out of shape is refused; it reconnects each time', async () => {
  const logs: string[] = [];
  const counts: number[] = [];
  const created: string[] = [];
  const { url, cookies } = await teamServer((res, connection) => {
    if (connection === 1) {
      res.write('data: not json\n\n');
      res.write(`data: ${JSON.stringify({ type: 'approval.created', approval: approval('11111111-1111-4111-8111-111111111111') })}\n\n`);
      res.write(`data: ${JSON.stringify({ type: 'from.the.future', x: 1 })}\n\n`);
      res.write(`data: ${'x'.repeat((1 << 20) + 10)}`);
    } else res.write(': connected\n\n');
  }, (n) => (n === 1 ? { result: { pendingApprovals: 0 } } : n === 2 ? { result: { pendingApprovals: -3 } } : { result: { pendingApprovals: 4 } }));
  const f = new TeamPending({
    team: url, cookie: async () => 'abc', retryMs: 20,
    onCount: (n) => counts.push(n), onCreated: (a) => created.push(a.id), log: (m) => logs.push(m),
  });
  followers.push(f);
  f.start();
  await until('a second connection counted', () => counts.includes(4), 10_000, 20);
  expect(created).toEqual([]);
  expect(counts.every((n) => Number.isInteger(n) && n >= 0)).toBe(true);
  expect(logs).toContain('the team server sent an event that is not JSON');
  // The oversize frame, then the count out of shape: two failures, two reconnections.
  expect(logs.filter((m) => m.startsWith('following')).length).toBe(2);
  expect(counts).toEqual([0, 4]);
  expect(cookies.every((c) => c === 'cs_console=abc')).toBe(true);
});

it('no cookie: nothing is asked of the server and the count is 0; a sign-in wakes it at once', async () => {
  let cookie: string | undefined;
  const counts: number[] = [];
  const { url, cookies } = await teamServer((res) => res.write(': connected\n\n'), () => ({ result: { pendingApprovals: 2 } }));
  const f = new TeamPending({ team: url, cookie: async () => cookie, retryMs: 60_000, onCount: (n) => counts.push(n), onCreated: () => {}, log: () => {} });
  followers.push(f);
  f.start();
  await until('count 0', () => counts.includes(0), 5_000, 20);
  expect(cookies).toEqual([]);
  cookie = 'signed-in';
  f.signInChanged();
  await until('count 2', () => counts.includes(2), 5_000, 20);
  expect(cookies[0]).toBe('cs_console=signed-in');
});
