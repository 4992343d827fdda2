// Passkeys over the real web console API, on both stores, with a software authenticator: a technician registers,
// lists and removes passkeys (audited under their name); sign-in with a passkey works without a name and with one,
// is audited like a passphrase sign-in and shares its throttling; every bad answer (garbage, another origin, no user
// verification, a replayed challenge, a counter going back, an unknown or removed passkey) is a clear 4xx.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initTestDir, startTestServer, PASSPHRASE, type TestServer } from '../helpers/server.ts';
import { describeStores, newDatabase, postgresAvailable } from '../helpers/stores.ts';
import { SoftAuthenticator } from '../helpers/softAuthenticator.ts';
import type { Technician } from '../../src-main/auth/technicians.ts';
import { publicOriginOf } from '../../src-main/http/server.ts';
import { cookieClient as client, type CookieClient as Client } from '../helpers/console.ts';

const PASS = 'passkey route passphrase';
const FREE_FAILURES = 12;

describeStores('passkeys of technician accounts', (store) => {
  let t: TestServer;
  let origin: string;
  let dana: Technician;
  let danaKeys: SoftAuthenticator;
  beforeAll(async () => {
    t = await startTestServer({ store, serve: { console: { loginBackoff: { freeFailures: FREE_FAILURES, baseMs: 60_000, maxMs: 60_000 } } } });
    origin = `http://localhost:${new URL(t.url).port}`;
    danaKeys = new SoftAuthenticator(origin);
  });
  afterAll(async () => {
    await t.close();
  });
  const signIn = async (name: string, passphrase = PASS) => {
    const r = await client(t.url).call('POST', '/login', { name, passphrase });
    expect(r.status).toBe(200);
    return client(t.url, r.cookie);
  };
  const lastConsoleAudit = async () => (await t.app.store.sql.get<{ decision: string; code: string | null; rule: string; outcome: string | null; detail_json: string }>(
    `SELECT decision, code, rule, outcome, detail_json FROM audit_log WHERE event = 'console' ORDER BY seq DESC LIMIT 1`))!;
  const register = async (c: Client, keys: SoftAuthenticator, name: string) => {
    const options = await c.call('POST', '/passkeys/options', {});
    expect(options.status).toBe(200);
    return c.call('POST', '/passkeys', { name, response: keys.create(options.body) });
  };
  const passkeySignIn = async (keys: SoftAuthenticator, opts: { name?: string; touch?: Parameters<SoftAuthenticator['get']>[1]; bodyName?: string | null; credential?: number } = {}) => {
    const anon = client(t.url);
    const options = await anon.call('POST', '/login/passkey/options', opts.name ? { name: opts.name } : {});
    expect(options.status).toBe(200);
    const response = keys.get(options.body, opts.touch, keys.credentials.at(opts.credential ?? -1));
    const bodyName = opts.bodyName === undefined ? opts.name : opts.bodyName ?? undefined;
    const r = await anon.call('POST', '/login/passkey', bodyName ? { response, name: bodyName } : { response });
    return { ...r, response, options: options.body };
  };

  it('without technician accounts: offered nowhere, and the single passphrase\'s session holds no passkeys', async () => {
    expect((await client(t.url).call('GET', '/login/passkey')).body).toEqual({ available: false, origin, rpId: 'localhost' });
    expect((await client(t.url).call('POST', '/login/passkey/options', {})).status).toBe(409);
    const admin = await client(t.url).call('POST', '/login', { passphrase: PASSPHRASE });
    expect((await client(t.url, admin.cookie).call('GET', '/passkeys')).status).toBe(403);
    dana = await t.app.technicians.create({ name: 'dana', passphrase: PASS, role: 'admin', tenants: 'all' }, 'test');
    await t.app.technicians.create({ name: 'ed', passphrase: PASS, role: 'technician', tenants: ['acme-dental'] }, 'test');
    expect((await client(t.url).call('GET', '/login/passkey')).body).toEqual({ available: true, origin, rpId: 'localhost' });
  });

  it('a technician registers passkeys with names, lists them; registration is audited under their name', async () => {
    const c = await signIn('dana');
    const options = await c.call('POST', '/passkeys/options', {});
    expect(options.body).toMatchObject({ rp: { id: 'localhost', name: 'Countersign' }, user: { name: 'dana' },
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' }, attestation: 'none' });
    const made = await c.call('POST', '/passkeys', { name: 'dana laptop', response: danaKeys.create(options.body) });
    expect(made.status).toBe(200);
    expect(made.body.passkey).toMatchObject({ name: 'dana laptop', lastUsedAt: null });
    expect(await lastConsoleAudit()).toMatchObject({ decision: 'info', outcome: 'passkey registered', rule: 'dana' });
    expect(JSON.parse((await lastConsoleAudit()).detail_json)).toMatchObject({ technician: 'dana', authenticator: 'dana laptop' });
    expect((await register(c, danaKeys, 'dana phone')).status).toBe(200);
    const listed = await c.call('GET', '/passkeys');
    expect(listed.body.passkeys.map((p: { name: string }) => p.name)).toEqual(['dana laptop', 'dana phone']);
    // The second registration's options exclude what dana already has.
    expect((await c.call('POST', '/passkeys/options', {})).body.excludeCredentials).toHaveLength(2);
    // Ed sees only his own (none).
    expect((await (await signIn('ed')).call('GET', '/passkeys')).body).toEqual({ passkeys: [] });
  });

  it('a bad registration is a 400 and stores nothing: garbage, another origin, no user verification, replayed or foreign challenge, no name', async () => {
    const c = await signIn('dana');
    const before = (await c.call('GET', '/passkeys')).body.passkeys.length;
    const other = new SoftAuthenticator(origin);
    const fresh = async () => (await c.call('POST', '/passkeys/options', {})).body;
    const cases: [string, () => Promise<unknown>, RegExp][] = [
      ['garbage attestation', async () => {
        const r = other.create(await fresh());
        return { name: 'x', response: { ...r, response: { ...r.response, attestationObject: 'AAAA' } } };
      }, /passkey not registered/],
      ['not a response', async () => ({ name: 'x', response: { id: 'x' } }), /response/],
      ['clientDataJSON not JSON', async () => {
        const r = other.create(await fresh());
        return { name: 'x', response: { ...r, response: { ...r.response, clientDataJSON: 'bm90IGpzb24' } } };
      }, /clientDataJSON is not JSON/],
      ['another origin', async () => ({ name: 'x', response: other.create(await fresh(), { origin: 'http://evil.example' }) }), /made on http:\/\/evil\.example/],
      ['no user verification', async () => ({ name: 'x', response: other.create(await fresh(), { userVerified: false }) }), /passkey not registered: .*verif/i],
      ['a challenge this server never issued', async () => ({ name: 'x', response: other.create({ ...(await fresh()), challenge: Buffer.alloc(58, 1).toString('base64url') }) }), /not a challenge this server issued/],
      ['another session\'s challenge', async () => ({ name: 'x', response: other.create((await (await signIn('dana')).call('POST', '/passkeys/options', {})).body) }), /not a challenge this server issued for this sign-in/],
      ['a sign-in challenge', async () => ({ name: 'x', response: other.create({ ...(await fresh()), challenge: (await client(t.url).call('POST', '/login/passkey/options', {})).body.challenge }) }), /not a challenge this server issued/],
      ['no name', async () => ({ name: ' ', response: other.create(await fresh()) }), /name/],
    ];
    for (const [what, body, message] of cases) {
      const r = await c.call('POST', '/passkeys', await body());
      expect(r.status, what).toBe(400);
      expect(r.body.error.message, what).toMatch(message);
    }
    expect((await c.call('POST', '/passkeys', '{"name":')).status).toBe(400);
    // The same answer twice: the challenge was spent by the first.
    const options = await fresh();
    const response = other.create(options);
    expect((await c.call('POST', '/passkeys', { name: 'once', response })).status).toBe(200);
    const again = await c.call('POST', '/passkeys', { name: 'twice', response });
    expect([again.status, again.body.error.message]).toEqual([400, 'passkey not registered: this challenge was already answered']);
    const now = (await c.call('GET', '/passkeys')).body.passkeys;
    expect(now.length).toBe(before + 1);
    expect((await c.call('DELETE', `/passkeys/${now.find((p: { name: string }) => p.name === 'once').id}`)).status).toBe(200);
  });

  it('signs in with a passkey without a name and with one; audited like a passphrase sign-in', async () => {
    const r = await passkeySignIn(danaKeys);
    expect(r.status).toBe(200);
    expect(r.options).toMatchObject({ rpId: 'localhost', userVerification: 'required' });
    expect(r.options.allowCredentials).toBeUndefined();
    const session = await client(t.url, r.cookie).call('GET', '/session');
    expect(session.body).toMatchObject({ authenticated: true, technician: { name: 'dana', role: 'admin' } });
    const audit = await lastConsoleAudit();
    expect(audit).toMatchObject({ decision: 'allowed', outcome: 'login: dana', rule: 'console_login' });
    expect(JSON.parse(audit.detail_json)).toMatchObject({ technician: 'dana', method: 'passkey', authenticator: 'dana phone' });
    expect((await passkeySignIn(danaKeys, { name: 'dana' })).status).toBe(200);
    const listed = (await client(t.url, r.cookie).call('GET', '/passkeys')).body.passkeys;
    expect(listed.find((p: { name: string }) => p.name === 'dana phone').lastUsedAt).not.toBeNull();
  });

  it('refuses with a clear 4xx, audited and counted: another name, a replay, another origin, no user verification, a clone, garbage, an unknown passkey', async () => {
    // The first refusal of each cause in a minute is audited in full; later ones may be counted (audit/flood.ts).
    const audited = new Set<string>();
    const refused = async (r: { status: number; body: any }, code: string, message: RegExp) => {
      expect(r.status).toBe(401);
      expect(r.body.error.message).toMatch(message);
      if (audited.has(code)) return;
      audited.add(code);
      expect(await lastConsoleAudit()).toMatchObject({ decision: 'denied', code, rule: 'console_login' });
    };
    await refused(await passkeySignIn(danaKeys, { name: 'ed' }), 'PASSKEY_UNKNOWN', /not ed's/);
    // The name is part of the challenge: it cannot be dropped or swapped after the options were asked for.
    await refused(await passkeySignIn(danaKeys, { name: 'ed', bodyName: null }), 'PASSKEY_CHALLENGE', /not a challenge this server issued for this sign-in/);
    await refused(await passkeySignIn(danaKeys, { name: 'ed', bodyName: 'dana' }), 'PASSKEY_CHALLENGE', /not a challenge this server issued for this sign-in/);
    const ok = await passkeySignIn(danaKeys);
    expect(ok.status).toBe(200);
    await refused(await client(t.url).call('POST', '/login/passkey', { response: ok.response }), 'PASSKEY_REPLAYED', /already answered/);
    await refused(await passkeySignIn(danaKeys, { touch: { origin: 'https://evil.example' } }), 'PASSKEY_ORIGIN', /signed for https:\/\/evil\.example, not http:\/\/localhost:/);
    await refused(await passkeySignIn(danaKeys, { touch: { userVerified: false } }), 'PASSKEY_REJECTED', /user.*verif/i);
    await refused(await passkeySignIn(danaKeys, { touch: { counter: 1 } }), 'PASSKEY_CLONED', /counter did not advance/);
    await refused(await passkeySignIn(new SoftAuthenticator(origin).withCredential()), 'PASSKEY_UNKNOWN', /no account has this passkey/);
    // The real authenticator's counter is ahead of the clone's: it still signs in.
    expect((await passkeySignIn(danaKeys, { touch: { counter: 100 } })).status).toBe(200);
    const options = (await client(t.url).call('POST', '/login/passkey/options', {})).body;
    const signed = danaKeys.get(options);
    await refused(await client(t.url).call('POST', '/login/passkey', { response: { ...signed, response: { ...signed.response, signature: 'AAAA' } } }), 'PASSKEY_REJECTED', /did not verify/);
    // A well-formed signature over something else.
    const elsewhere = danaKeys.get((await client(t.url).call('POST', '/login/passkey/options', {})).body, { counter: 200 });
    const forged = danaKeys.get(options, { counter: 201 });
    await refused(await client(t.url).call('POST', '/login/passkey', { response: { ...forged, response: { ...forged.response, signature: elsewhere.response.signature } } }), 'PASSKEY_REJECTED', /did not verify/);
    // Malformed bodies are a 400 and no verdict.
    for (const body of ['{', { response: 'x' }, { response: { ...signed, response: { ...signed.response, clientDataJSON: 'e30' } } }, { response: signed, extra: 1 }]) {
      expect((await client(t.url).call('POST', '/login/passkey', body)).status).toBe(400);
    }
    expect((await client(t.url).call('POST', '/login/passkey/options', { name: 7 })).status).toBe(400);
    // A disabled technician's passkey signs no one in.
    const ed = (await t.app.technicians.list()).find((x) => x.name === 'ed')!;
    const edKeys = new SoftAuthenticator(origin);
    expect((await register(await signIn('ed'), edKeys, 'ed key')).status).toBe(200);
    await t.app.technicians.update(ed.id, { disabled: true }, 'test');
    await refused(await passkeySignIn(edKeys), 'PASSKEY_UNKNOWN', /disabled/);
    await t.app.technicians.update(ed.id, { disabled: false }, 'test');
    expect((await passkeySignIn(edKeys)).status).toBe(200);
  });

  it('a removed passkey signs in no more; removal is audited; another technician\'s passkey cannot be removed', async () => {
    const c = await signIn('dana');
    const phone = (await c.call('GET', '/passkeys')).body.passkeys.find((p: { name: string }) => p.name === 'dana phone');
    expect((await (await signIn('ed')).call('DELETE', `/passkeys/${phone.id}`)).status).toBe(404);
    expect((await c.call('DELETE', '/passkeys/not%20an%20id')).status).toBe(404);
    expect((await c.call('DELETE', `/passkeys/${phone.id}`)).status).toBe(200);
    expect(await lastConsoleAudit()).toMatchObject({ decision: 'info', outcome: 'passkey removed', rule: 'dana' });
    expect(JSON.parse((await lastConsoleAudit()).detail_json)).toMatchObject({ technician: 'dana', authenticator: 'dana phone' });
    const r = await passkeySignIn(danaKeys);
    expect(r.status).toBe(401);
    expect(r.body.error.message).toMatch(/no account has this passkey/);
    expect((await c.call('DELETE', `/passkeys/${phone.id}`)).status).toBe(404);
    // Her other passkey still signs her in.
    expect((await passkeySignIn(danaKeys, { credential: 0 })).status).toBe(200);
  });

  it('no passkey route answers garbage with a 5xx', async () => {
    const c = await signIn('dana');
    const b64 = 'A'.repeat(40);
    const bodies: unknown[] = ['null', '[]', '7', '"x"', '{"a":', 'x'.repeat(1000), {}, { response: null }, { response: [] }, { name: {} },
      { name: 'n', response: { id: b64, rawId: b64, type: 'public-key', response: { clientDataJSON: b64, attestationObject: b64, authenticatorData: b64, signature: b64 } } },
      { name: 'n', response: { id: b64, rawId: b64, type: 'public-key', response: { clientDataJSON: Buffer.from('{"type":"webauthn.get","challenge":7,"origin":"x"}').toString('base64url'), authenticatorData: b64, signature: b64 } } },
      { response: { id: b64, rawId: b64, type: 'public-key', response: { clientDataJSON: Buffer.from('{"type":"webauthn.get","challenge":"","origin":""}').toString('base64url'), authenticatorData: b64, signature: b64, userHandle: b64 } } }];
    for (const [who, method, path] of [[client(t.url), 'POST', '/login/passkey/options'], [client(t.url), 'POST', '/login/passkey'],
      [c, 'POST', '/passkeys/options'], [c, 'POST', '/passkeys'], [c, 'DELETE', `/passkeys/${b64}`]] as const) {
      for (const body of bodies) {
        const r = await who.call(method, path, body);
        // Only an empty object is a valid options request; everything else is refused with a 4xx.
        if (!(path.endsWith('/options') && typeof body === 'object' && body !== null && Object.keys(body).length === 0)) {
          expect(r.status, `${method} ${path} ${JSON.stringify(body).slice(0, 80)}`).toBeGreaterThanOrEqual(400);
        }
        expect(r.status, `${method} ${path} ${JSON.stringify(body).slice(0, 80)}`).toBeLessThan(500);
      }
    }
    // Failed sign-ins above count against this address: a passphrase sign-in resets them for the next test.
    await signIn('dana');
  });

  it('passkey failures and wrong passphrases share one throttle', async () => {
    const stranger = new SoftAuthenticator(origin).withCredential();
    for (let i = 0; i <= FREE_FAILURES; i++) expect((await passkeySignIn(stranger)).status).toBe(401);
    const r = await client(t.url).call('POST', '/login', { name: 'dana', passphrase: PASS });
    expect(r.status).toBe(429);
    expect((await passkeySignIn(danaKeys)).status).toBe(429);
    expect(await lastConsoleAudit()).toMatchObject({ decision: 'throttled', code: 'LOGIN_THROTTLED' });
  });
});

describe('the relying party of a node', () => {
  it('is the configured public URL: its hostname is the RP ID and an allowed host; answers from elsewhere are refused', async () => {
    const t = await startTestServer({ serve: { publicUrl: 'https://countersign.msp.example' } });
    try {
      await t.app.technicians.create({ name: 'pat', passphrase: PASS, role: 'technician', tenants: 'all' }, 'test');
      const anon = client(t.url);
      expect((await anon.call('GET', '/login/passkey')).body).toEqual({ available: true, origin: 'https://countersign.msp.example', rpId: 'countersign.msp.example' });
      expect((await anon.call('POST', '/login/passkey/options', {})).body.rpId).toBe('countersign.msp.example');
      const login = await anon.call('POST', '/login', { name: 'pat', passphrase: PASS });
      const pat = client(t.url, login.cookie);
      const options = (await pat.call('POST', '/passkeys/options', {})).body;
      expect(options.rp.id).toBe('countersign.msp.example');
      // Made on the loopback origin, for the public RP: refused.
      const local = await pat.call('POST', '/passkeys', { name: 'x', response: new SoftAuthenticator(`http://localhost:${new URL(t.url).port}`).create(options) });
      expect([local.status, local.body.error.message]).toEqual([400, expect.stringMatching(/made on http:\/\/localhost:\d+, not https:\/\/countersign\.msp\.example/)]);
      expect((await pat.call('POST', '/passkeys', { name: 'public', response: new SoftAuthenticator('https://countersign.msp.example').create((await pat.call('POST', '/passkeys/options', {})).body) })).status).toBe(200);
      // The public hostname passes the Host/Origin check.
      const viaProxy = await fetch(`${t.url}/console/api/login/passkey`, { headers: { Origin: 'https://countersign.msp.example' } });
      expect(viaProxy.status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('refuses a public URL browsers would not allow passkeys on', () => {
    expect(publicOriginOf('https://countersign.msp.example:8443').origin).toBe('https://countersign.msp.example:8443');
    expect(publicOriginOf('http://localhost:4319').hostname).toBe('localhost');
    expect(() => publicOriginOf('http://countersign.msp.example')).toThrow(/must be https/);
    expect(() => publicOriginOf('https://10.0.0.5')).toThrow(/not an IP address/);
    expect(() => publicOriginOf('https://[::1]')).toThrow(/not an IP address/);
    expect(() => publicOriginOf('https://countersign.msp.example/console')).toThrow(/origin only/);
    expect(() => publicOriginOf('countersign')).toThrow(/not a URL/);
  });
});

// Behind a proxy, each request may reach another node: a challenge one node issued is checked by another (the install
// secret signs it) and is accepted once across all of them (its use is recorded in the shared database).
(postgresAvailable() ? describe : describe.skip)(`passkeys across two nodes${postgresAvailable() ? '' : ' [PostgreSQL: skipped, no cluster for this run]'}`, () => {
  it('a passkey made through node A signs in through node B; the same answer replayed, or raced on both nodes, signs in once', async () => {
    const publicUrl = 'https://countersign.msp.example';
    const storeUrl = await newDatabase('passkey nodes');
    const dir = await initTestDir(storeUrl);
    const [a, b] = await Promise.all([startTestServer({ dir, storeUrl, serve: { publicUrl } }), startTestServer({ dir, storeUrl, serve: { publicUrl } })]);
    try {
      await a.app.technicians.create({ name: 'nia', passphrase: PASS, role: 'technician', tenants: 'all' }, 'test');
      const keys = new SoftAuthenticator(publicUrl);
      const nia = client(a.url, (await client(a.url).call('POST', '/login', { name: 'nia', passphrase: PASS })).cookie);
      expect((await nia.call('POST', '/passkeys', { name: 'nia key', response: keys.create((await nia.call('POST', '/passkeys/options', {})).body) })).status).toBe(200);
      const options = (await client(a.url).call('POST', '/login/passkey/options', {})).body;
      const response = keys.get(options);
      const onB = await client(b.url).call('POST', '/login/passkey', { response });
      expect(onB.status).toBe(200);
      expect((await client(b.url, onB.cookie).call('GET', '/session')).body.technician).toMatchObject({ name: 'nia' });
      const replay = await client(a.url).call('POST', '/login/passkey', { response });
      expect([replay.status, replay.body.error.message]).toEqual([401, 'Passkey not accepted: this challenge was already answered']);
      // The same answer sent to both nodes at once: one signs in, the other is refused (replayed, or its counter taken).
      for (let i = 0; i < 3; i++) {
        const raced = keys.get((await client(b.url).call('POST', '/login/passkey/options', {})).body);
        const results = await Promise.all([a, b].map((node) => client(node.url).call('POST', '/login/passkey', { response: raced })));
        expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
        expect(results.find((r) => r.status === 401)!.body.error.message).toMatch(/already answered|counter/);
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
