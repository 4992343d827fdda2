// Secret script parameters sealed to the device, with real processes (`countersign serve`, two `countersign agent run`):
// the value is in clear nowhere on the console's side (command row, audit log, any table, the command as sent), each
// agent opens the value sealed to it and runs the script with it, a value sealed to one device does not open on
// another, an altered command is refused, and a device whose agent has no key gets no secret parameters at all.
import { existsSync, readFileSync } from 'node:fs';
import { verify } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { budget } from '../helpers/wait.ts';
import { sqliteSql } from '../../src-main/store/sql.ts';
import { loadSecrets } from '../../src-main/store/secrets.ts';
import { secretVault } from '../../src-main/store/vault.ts';
import { envelopeFor } from '../../src-main/agentServer/signing.ts';
import { open } from '../../src-main/agent/sealed.ts';
import { signingBytes } from '../../src-main/agent/protocol.ts';
import { loadIdentity } from '../../src-main/agent/state.ts';
import { approved, executionOf, finished, until, startTwoAgents, stopTwoAgents, type AgentProc, type TwoAgents } from './harness.ts';

const SECRET = 'Sealed-To-The-Device-7f3c9a';
let t: TwoAgents;
beforeAll(async () => {
  t = await startTwoAgents(['seal-a', 'seal-b']);
}, budget(60_000));
afterAll(() => stopTwoAgents(t ?? {}));

/** Every cell of every table of the console's database, as text. */
function everything(): string {
  const tables = t.con.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).pluck().all() as string[];
  return tables.map((name) => JSON.stringify(t.con.db.prepare(`SELECT * FROM "${name}"`).all())).join('\n');
}
const commandsOf = (approvalId: string) => t.con.db.prepare(`SELECT c.id, c.device_id, c.payload_json, c.status, c.stderr FROM device_commands c
  JOIN executions e ON e.id = c.execution_id WHERE e.approval_id = ? ORDER BY c.device_id`).all(approvalId) as { id: string; device_id: string; payload_json: string; status: string; stderr: string | null }[];
const script = (out: string) => ({
  language: 'bash', body: 'printf "%s" "$CS_PARAM_pw" > "$CS_PARAM_out.$COUNTERSIGN_COMMAND_ID"\n', parameters: { pw: SECRET, out }, secretParameters: ['pw'], timeoutSeconds: 30,
});

describe('secret parameters sealed to the device', () => {
  let approvalId: string;
  const out = () => join(t.con.root, 'got');

  it('each agent opens the value sealed to it and runs the script with it; the console holds it in clear nowhere', async () => {
    approvalId = await approved(t.client, t.tech, 'run_script', { ...script(out()), deviceIds: [t.a.deviceId, t.b.deviceId] });
    const r = await finished(t.client, await executionOf(t.client, approvalId));
    expect(r.counts).toMatchObject({ completed: 2 });
    for (const c of commandsOf(approvalId)) {
      expect(readFileSync(`${out()}.${c.id}`, 'utf8'), `what the script on ${c.device_id} got`).toBe(SECRET);
      const payload = JSON.parse(c.payload_json) as { parameters: Record<string, string>; sealedParameters: Record<string, string> };
      expect(payload.parameters.pw).toMatch(/^\[secret:[0-9a-f]{16}\]$/);
      expect(payload.sealedParameters.pw).toMatch(/^[A-Za-z0-9_-]{82,}$/);
    }
    const all = everything();
    expect(all).not.toContain(SECRET);
    expect(all).toContain('sealedParameters');
    expect(t.con.db.prepare('SELECT count(*) FROM audit_log WHERE args_json LIKE ? OR detail_json LIKE ? OR outcome LIKE ?').pluck().get(`%${SECRET}%`, `%${SECRET}%`, `%${SECRET}%`)).toBe(0);
  });

  it('the command as sent is the signed one and carries only the sealed value; it opens only on its own device', async () => {
    const secrets = loadSecrets(t.con.dir);
    const boxKey = (p: AgentProc) => loadIdentity(p.stateDir).boxPrivateKey!;
    for (const c of commandsOf(approvalId)) {
      const wire = (await envelopeFor(sqliteSql(t.con.db), secretVault(secrets.signingKey), c.id))!;
      const text = JSON.stringify({ type: 'command', command: wire });
      expect(text).not.toContain(SECRET);
      expect(verify(null, signingBytes(wire), secrets.verifyKey, Buffer.from(wire.signature!, 'base64')), 'the signature covers the sealed payload').toBe(true);
      const sealed = (wire.payload as { sealedParameters: { pw: string } }).sealedParameters.pw;
      const [own, other] = c.device_id === t.a.deviceId ? [t.a, t.b] : [t.b, t.a];
      const ctx = { commandId: c.id, deviceId: c.device_id, name: 'pw' };
      expect(open(boxKey(own), sealed, ctx)).toBe(SECRET);
      expect(() => open(boxKey(other), sealed, ctx), 'the other device\'s key').toThrow(/does not open/);
      expect(() => open(boxKey(own), sealed, { ...ctx, commandId: 'another-command' }), 'another command').toThrow(/does not open/);
      const flipped = sealed.slice(0, 60) + (sealed[60] === 'A' ? 'B' : 'A') + sealed.slice(61);
      expect(() => open(boxKey(own), flipped, ctx), 'an altered value').toThrow(/does not open/);
    }
  });

  it('an altered sealed value in a queued command is refused by the agent (the signature), and nothing runs', async () => {
    await t.b.stop();
    const pending = await approved(t.client, t.tech, 'run_script', { ...script(join(t.con.root, 'tampered')), deviceIds: [t.b.deviceId] });
    const [c] = await until('the queued command', () => commandsOf(pending).length === 1 && commandsOf(pending));
    const payload = JSON.parse(c!.payload_json) as { sealedParameters: { pw: string } };
    // Another value sealed to b for another command of this test: well-formed, but not what was signed.
    const [other] = commandsOf(approvalId).filter((x) => x.device_id === t.b.deviceId);
    payload.sealedParameters.pw = (JSON.parse(other!.payload_json) as { sealedParameters: { pw: string } }).sealedParameters.pw;
    t.con.db.prepare('UPDATE device_commands SET payload_json = ? WHERE id = ?').run(JSON.stringify(payload), c!.id);
    await t.b.start();
    const done = await until('the refusal', () => {
      const x = commandsOf(pending)[0]!;
      return x.status === 'failed' && x;
    });
    expect(done.stderr).toMatch(/refused by the agent \(BAD_SIGNATURE\)/);
    expect(existsSync(`${join(t.con.root, 'tampered')}.${c!.id}`)).toBe(false);
  });

  it('a device whose agent has no key (enrolled before sealing) gets no secret parameters: the call is refused and says to re-enroll', async () => {
    t.con.db.prepare('UPDATE agents SET box_public_key = NULL WHERE device_id = ?').run(t.b.deviceId);
    const r = await t.client.callTool({ name: 'run_script', arguments: { ...script(join(t.con.root, 'legacy')), deviceIds: [t.a.deviceId, t.b.deviceId] } });
    expect(r.isError).toBe(true);
    const text = JSON.stringify(r.content);
    expect(text).toContain('INVALID_ARGUMENTS');
    expect(text).toMatch(/seal-b \(.*\).*Re-enroll the agent/);
    expect(text).not.toContain('seal-a (');
    expect(everything()).not.toContain(SECRET);
    // Without secret parameters the same device still runs scripts.
    const plain = await approved(t.client, t.tech, 'run_script', { language: 'bash', body: 'true\n', deviceIds: [t.b.deviceId], timeoutSeconds: 30 });
    expect((await finished(t.client, await executionOf(t.client, plain))).counts).toMatchObject({ completed: 1 });
  });
});
