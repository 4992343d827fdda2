// Plans: one card for a multi-step task. Every step is planned with its own tool when proposed and shown with the same
// detail; once approved, the next step called exactly runs without a card, in order; anything else gets its own card
// and ends the plan; plans expire closed and are re-checked at approval like any request.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { consoleLogin, denial, structured, type ConsoleClient } from '../helpers/console.ts';
import { callTool } from '../helpers/gate.ts';

let t: TestServer;
let admin: ConsoleClient;
let win: { id: string; hostname: string }[];
let script: { id: string; body: string; sha256: string };

beforeAll(async () => {
  t = await startTestServer();
  admin = await consoleLogin(t.url);
  win = t.app.db.prepare(`SELECT d.id, d.hostname FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = 'acme-dental' AND d.os = 'windows' ORDER BY d.hostname`).all() as typeof win;
  script = t.app.db.prepare(`SELECT id, body, sha256 FROM scripts WHERE name = 'Restart Print Spooler'`).get() as typeof script;
});
afterAll(async () => { await t.close(); });

const steps = () => [
  { tool: 'device_actions', arguments: { action: 'isolate', deviceIds: [win[0]!.id], reason: 'contain the infection first' } },
  { tool: 'run_script', arguments: { scriptId: script.id, deviceIds: [win[0]!.id] } },
  { tool: 'device_actions', arguments: { action: 'reboot', deviceIds: [win[0]!.id], reason: 'finish the clean-up' } },
];
const pendingId = (r: unknown) => {
  const s = structured<{ status: string; approvalId: string }>(r);
  expect(s.status, JSON.stringify(r).slice(0, 400)).toBe('pending_approval');
  return s.approvalId;
};
const ran = (r: unknown) => {
  const s = structured<Record<string, unknown>>(r);
  expect(s.status, JSON.stringify(r).slice(0, 400)).not.toBe('pending_approval');
  expect((r as { isError?: boolean }).isError).toBeFalsy();
  return s;
};
const call = (c: Client, s: { tool: string; arguments: Record<string, unknown> }) => c.callTool({ name: s.tool, arguments: s.arguments });

async function approvedPlan(c: Client, goal = 'Contain and clean ACME-OP-WS01') {
  const id = pendingId(await c.callTool({ name: 'propose_plan', arguments: { goal, steps: steps() } }));
  const r = await admin.post('/rpc/approve', { id, viewedMs: 9000 });
  expect(r.body.result.approval.status, JSON.stringify(r.body).slice(0, 400)).toBe('completed');
  return { approvalId: id, planId: r.body.result.approval.result.planId as string };
}

describe('one card for a plan', () => {
  it('the card shows every step with its own card\'s detail', async () => {
    const c = await t.connect('http', await t.key({ name: 'plan-card', tenants: ['acme-dental'] }));
    const id = pendingId(await c.callTool({ name: 'propose_plan', arguments: { goal: 'Contain and clean', steps: steps(), ticket: { system: 'halopsa', id: '88120' } } }));
    const a = (await admin.post('/rpc/getApproval', { id })).body.result.approval;
    expect(a.summary).toContain('plan of 3 step(s) in acme-dental');
    expect(a.view.ticket).toEqual({ system: 'halopsa', id: '88120' });
    expect(a.view.plan.goal).toBe('Contain and clean');
    expect(a.view.plan.steps.map((s: { tool: string; action: string | null }) => [s.tool, s.action])).toEqual([['device_actions', 'isolate'], ['run_script', null], ['device_actions', 'reboot']]);
    const scriptStep = a.view.plan.steps[1];
    expect(scriptStep.view.script).toMatchObject({ sha256: script.sha256, body: script.body });
    expect(scriptStep.view.devices.map((d: { hostname: string }) => d.hostname)).toEqual([win[0]!.hostname]);
    expect(a.view.plan.steps[0].view.requestReason).toBe('contain the infection first');
    expect(a.grantOffer).toBeNull();
    await admin.post('/rpc/deny', { id, reason: 'done' });
  });

  it('approved: each step in order runs without a card; the plan completes; whoami shows the next step', async () => {
    const c = await t.connect('http', await t.key({ name: 'plan-run', tenants: ['acme-dental'] }));
    // Asked before the plan exists ("none" is remembered), and again once it does: the new plan shows.
    expect(structured<{ plans: unknown[] }>(await c.callTool({ name: 'whoami', arguments: {} })).plans).toEqual([]);
    const { approvalId, planId } = await approvedPlan(c);
    const who = structured<{ plans: { planId: string; next: { step: number; tool: string } }[] }>(await c.callTool({ name: 'whoami', arguments: {} }));
    expect(who.plans).toEqual([expect.objectContaining({ planId, stepsLeft: 3, next: expect.objectContaining({ step: 1, tool: 'device_actions' }) })]);
    for (const [i, s] of steps().entries()) {
      const out = ran(await call(c, s));
      expect(out.executionId).toBeTruthy();
      const audit = t.app.db.prepare(`SELECT rule, approval_id, detail_json FROM audit_log WHERE event = 'tool_call' AND key_name = 'plan-run' ORDER BY seq DESC LIMIT 1`).get() as { rule: string; approval_id: string; detail_json: string };
      expect(audit).toMatchObject({ rule: 'plan', approval_id: approvalId });
      expect(JSON.parse(audit.detail_json)).toMatchObject({ planId, planStep: i + 1, planSteps: 3 });
    }
    const views = (await admin.post('/rpc/listGrants', {})).body.result.plans;
    expect(views.find((p: { id: string }) => p.id === planId)).toMatchObject({ state: 'completed', nextStep: 3 });
    // The commands it queued belong to the plan's approval; a further identical call is a card again.
    expect((t.app.db.prepare('SELECT count(*) AS n FROM executions WHERE approval_id = ?').get(approvalId) as { n: number }).n).toBe(3);
    pendingId(await call(c, steps()[2]!));
  });

  it('a deviating call gets its own card and ends the plan; the remaining steps get cards too', async () => {
    const c = await t.connect('http', await t.key({ name: 'plan-deviate', tenants: ['acme-dental'] }));
    const { planId } = await approvedPlan(c);
    ran(await call(c, steps()[0]!));
    // Step 2 with another device: not the approved step.
    pendingId(await c.callTool({ name: 'run_script', arguments: { scriptId: script.id, deviceIds: [win[1]!.id] } }));
    const view = (await admin.post('/rpc/listGrants', {})).body.result.plans.find((p: { id: string }) => p.id === planId);
    expect(view).toMatchObject({ state: 'stopped', nextStep: 1, endReason: expect.stringMatching(/not step 2 of 3/) });
    pendingId(await call(c, steps()[1]!));
  });

  it('out of order is a deviation; reads and other keys do not touch the plan', async () => {
    const c = await t.connect('http', await t.key({ name: 'plan-order', tenants: ['acme-dental'] }));
    const other = await t.connect('http', await t.key({ name: 'plan-order-other', tenants: ['acme-dental'] }));
    const { planId } = await approvedPlan(c);
    // Another key's identical first step is its own card, and leaves this plan alone; so does a read.
    pendingId(await call(other, steps()[0]!));
    ran(await c.callTool({ name: 'list_devices', arguments: { limit: 1 } }));
    ran(await call(c, steps()[0]!));
    pendingId(await call(c, steps()[2]!));
    expect((await admin.post('/rpc/listGrants', {})).body.result.plans.find((p: { id: string }) => p.id === planId).state).toBe('stopped');
  });

  it('the console can stop a plan at once', async () => {
    const c = await t.connect('http', await t.key({ name: 'plan-stop', tenants: ['acme-dental'] }));
    const { planId } = await approvedPlan(c);
    const r = await admin.post('/rpc/stopPlan', { id: planId });
    expect(r.body.result.plan).toMatchObject({ state: 'stopped', endReason: 'stopped by console-admin' });
    pendingId(await call(c, steps()[0]!));
    expect((await admin.post('/rpc/stopPlan', { id: planId })).status).toBe(409);
  });
});

describe('what a plan may hold', () => {
  it('refuses steps that need no approval, span tenants, are unknown, invalid, or a plan', async () => {
    const c = await t.connect('http', await t.key({ name: 'plan-bad', tenants: ['acme-dental', 'globex-logistics'] }));
    const globex = (t.app.db.prepare(`SELECT d.id FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = 'globex-logistics' AND d.os = 'windows' LIMIT 1`).get() as { id: string }).id;
    const propose = async (s: unknown[]) => denial(await c.callTool({ name: 'propose_plan', arguments: { goal: 'bad', steps: s } }));
    expect(await propose([{ tool: 'device_actions', arguments: { action: 'lock', deviceIds: [win[0]!.id] } }])).toMatchObject({ code: 'INVALID_ARGUMENTS', message: expect.stringMatching(/steps\[0\].*tier 2/) });
    expect(await propose([steps()[0], { tool: 'device_actions', arguments: { action: 'reboot', deviceIds: [globex] } }])).toMatchObject({ code: 'INVALID_ARGUMENTS', message: expect.stringMatching(/steps\[1\].*globex-logistics/) });
    expect((await propose([{ tool: 'no_such_tool', arguments: {} }])).code).toBe('INVALID_ARGUMENTS');
    expect((await propose([{ tool: 'device_actions', arguments: { action: 'reboot' } }])).message).toMatch(/steps\.0\.arguments\.deviceIds/);
    expect((await propose([{ tool: 'propose_plan', arguments: {} }])).message).toMatch(/cannot be a step/);
    expect((await propose([{ tool: 'device_actions', arguments: { action: 'wipe', deviceIds: [win[0]!.id] } }])).code).toBe('TIER4_BLOCKED');
    expect((await propose([{ tool: 'device_actions', arguments: { action: 'reboot', deviceIds: ['no-such-device'] } }])).code).toBe('NOT_FOUND');
  });

  it('a library script edited after the proposal: PLAN_CHANGED at approval, nothing starts', async () => {
    const c = await t.connect('http', await t.key({ name: 'plan-changed', tenants: ['acme-dental'] }));
    const id = pendingId(await c.callTool({ name: 'propose_plan', arguments: { goal: 'g', steps: steps() } }));
    const evil = `${script.body}\nRemove-Item C:\\ -Recurse`;
    t.app.db.prepare('UPDATE scripts SET body = ?, sha256 = ? WHERE id = ?').run(evil, createHash('sha256').update(evil).digest('hex'), script.id);
    try {
      const a = (await admin.post('/rpc/approve', { id })).body.result.approval;
      expect(a).toMatchObject({ status: 'denied', decisionCode: 'PLAN_CHANGED' });
      expect((t.app.db.prepare('SELECT count(*) AS n FROM plans WHERE approval_id = ?').get(id) as { n: number }).n).toBe(0);
    } finally {
      t.app.db.prepare('UPDATE scripts SET body = ?, sha256 = ? WHERE id = ?').run(script.body, script.sha256, script.id);
    }
  });

  it('expires closed: after expiresInMinutes the next step is a card', async () => {
    const c = await t.connect('http', await t.key({ name: 'plan-expiry', tenants: ['acme-dental'] }));
    const id = pendingId(await c.callTool({ name: 'propose_plan', arguments: { goal: 'g', steps: steps(), expiresInMinutes: 5 } }));
    await admin.post('/rpc/approve', { id });
    const key = (await t.app.keys.list()).find((k) => k.name === 'plan-expiry')!;
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 6 * 60_000);
      const r = await callTool(t.app, 'device_actions', steps()[0]!.arguments, { key });
      expect(structured<{ status: string }>(r).status).toBe('pending_approval');
    } finally {
      vi.useRealTimers();
    }
  });

  it('a plan whose record was edited in the database covers nothing', async () => {
    const c = await t.connect('http', await t.key({ name: 'plan-tamper', tenants: ['acme-dental'] }));
    const { planId } = await approvedPlan(c);
    t.app.db.prepare(`UPDATE plans SET expires_at = '2999-01-01T00:00:00.000Z' WHERE id = ?`).run(planId);
    pendingId(await call(c, steps()[0]!));
    expect((await admin.post('/rpc/listGrants', {})).body.result.plans.find((p: { id: string }) => p.id === planId).state).toBe('tampered');
  });
});
