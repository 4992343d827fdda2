// whoami's answer, assembled from its key's facts serialized once per resolved key and this call's budgets and the
// rest (tools/resultJson.ts): on both transports, through the real SDK client, its text block is exactly the JSON of
// its structured content, for names that need escaping too; the budgets are this call's; the facts follow the key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startTestServer, TRANSPORTS, type TestServer } from '../helpers/server.ts';
import { callTool } from '../helpers/gate.ts';

type Who = { name: string; tenants: { slug: string; name: string }[]; budgets: { read: { remaining: number } }; tierMeaning: Record<string, string> };
let t: TestServer;
let secret: string;
// Quotes, a backslash, a tab, a character outside the BMP and a lone surrogate: each escaped in the text block.
const NAME = 'who "am" I \\ tab\t 😀 lone \ud800 end';

beforeAll(async () => {
  t = await startTestServer();
  secret = await t.key({ name: NAME, scopes: ['ai:read'], tenants: ['acme-dental', 'globex-logistics'], role: 'standard', readPerMinute: 1000 });
});
afterAll(async () => t?.close());

const whoami = async (c: Client) => {
  const r = await c.callTool({ name: 'whoami', arguments: {} });
  const text = (r.content as { type: string; text: string }[])[0]!.text;
  return { text, value: r.structuredContent as Who };
};

const structuredOf = (r: { structuredContent?: unknown }) => r.structuredContent as Who;

describe.each(TRANSPORTS)('whoami over %s', (kind) => {
  it('sends as text exactly the JSON of its structured content, with this call\'s budgets', async () => {
    const c = await t.connect(kind, secret);
    const first = await whoami(c);
    expect(first.text).toBe(JSON.stringify(first.value));
    expect(first.value.name).toBe(NAME.toWellFormed());
    expect(first.value.tenants.map((x) => x.slug).sort()).toEqual(['acme-dental', 'globex-logistics']);
    expect(Object.keys(first.value)).toEqual(['keyId', 'name', 'role', 'scopes', 'tenants', 'reachableTiers', 'tierMeaning', 'budgets', 'expiresAt', 'grants',
      'plans', 'ticketRequiredTenants']);
    const second = await whoami(c);
    expect(second.text).toBe(JSON.stringify(second.value));
    expect(second.value.budgets.read.remaining).toBeLessThan(first.value.budgets.read.remaining);
  });
});

it('a key with an expiry (the rest of the answer not the usual text) is sent as exactly its JSON too', async () => {
  const expiring = await t.key({ name: 'expiring "one"', scopes: ['ai:read'], tenants: ['acme-dental'], role: 'standard', expiresDays: 30 });
  const who = await whoami(await t.connect('sse', expiring));
  expect((who.value as unknown as { expiresAt: string | null }).expiresAt).toMatch(/^\d{4}-/);
  expect(who.text).toBe(JSON.stringify(who.value));
});

it('follows the key: facts changed in the database show once the key is resolved again', async () => {
  const c = await t.connect('http', secret);
  const before = await whoami(c);
  const tenant = before.value.tenants.find((x) => x.slug === 'acme-dental')!;
  t.app.db.prepare('UPDATE tenants SET name = ? WHERE slug = ?').run('Acme "Renamed" Dental', 'acme-dental');
  // This process's own change: the key service drops what it resolved (as a console edit does), and whoami follows.
  t.app.keys.invalidate();
  const after = await whoami(c);
  expect(after.text).toBe(JSON.stringify(after.value));
  expect(after.value.tenants.find((x) => x.slug === 'acme-dental')!.name).toBe('Acme "Renamed" Dental');
  expect(tenant.name).not.toBe('Acme "Renamed" Dental');
});

it('the facts every answer for a key shares cannot be changed through one answer (in process, the gate\'s own value)', async () => {
  const checked = await t.app.keys.check(secret);
  if (!checked.ok) throw new Error('the test key does not resolve');
  const answer = async () => structuredOf(await callTool(t.app, 'whoami', {}, { key: checked.key }));
  const first = await answer();
  expect(() => first.tenants.push({ slug: 'intruder', name: 'x' })).toThrow(TypeError);
  expect(() => (first.tenants[0]!.name = 'changed')).toThrow(TypeError);
  expect(() => (first.tierMeaning['4'] = 'runs')).toThrow(TypeError);
  expect(() => (first as unknown as { scopes: string[] }).scopes.push('ai:execute')).toThrow(TypeError);
  const second = await answer();
  expect(second.tenants.map((x) => x.slug).sort()).toEqual(['acme-dental', 'globex-logistics']);
  expect(second.tierMeaning['4']).toBe('never runs');
  // The key's own scopes are not frozen by whoami: its copy is.
  expect(Object.isFrozen(checked.key.scopes)).toBe(false);
});
