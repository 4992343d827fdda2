// The policy simulation is exact: a generated history of at least 50,000 tool calls (bench/simHistory.ts: several keys
// and tenants, reads, tier-2 locks that fill the bulk window, tier-3 scripts and device actions, tier 4, bad arguments,
// foreign ids, unknown tools, bursts that hit the rate limits) is replayed under a draft policy that changes every kind of
// decision — rate limits, the allowlist, admin-only, bulk threshold and window, tier overrides for a tenant, a required
// ticket, and grants. The simulator's outcomes, call by call and counted per tool and per key, equal a brute-force
// replay of every call through a real Gate on a copy of the data directory as it was before the history, each call at
// its recorded time. Refusals the audit log counted during a flood instead of storing them are reported, not replayed:
// the history goes on until the log holds 50,000 calls one by one.
import { afterAll, describe, expect, it, vi } from 'vitest';
import { openApp, type App } from '../../src-main/app.ts';
import { Gate, type GateResult } from '../../src-main/governance/gate.ts';
import { RateLimiter } from '../../src-main/governance/rateLimiter.ts';
import { historyOutcome, PolicySimulator, type Outcome } from '../../src-main/governance/simulate.ts';
import { generateHistory, simulationDraft, simulationFleet, storedCalls } from '../../bench/simHistory.ts';
import { seedFromEnv } from '../helpers/prng.ts';
import { budget } from '../helpers/wait.ts';

const SEED = seedFromEnv('COUNTERSIGN_SIM_SEED', 0x51a);
const ENTRIES = Number(process.env.COUNTERSIGN_SIM_ENTRIES ?? 50_000);
const START = Date.parse('2026-11-19T01:00:00.000Z');

const apps: App[] = [];
afterAll(() => {
  vi.useRealTimers();
  for (const a of apps) a.close();
});

const outcomeOf = (r: GateResult): Outcome => (r.kind === 'ok' ? 'ran' : r.kind === 'refused' ? 'denied' : 'card');
/** A gate whose budgets run on the (fake) clock the calls are made at. */
const onTheClock = (app: App) => new Gate({ ...app.gate.d, limiter: new RateLimiter(() => Date.now()) });

describe(`policy simulation (seed ${SEED}, ${ENTRIES} calls)`, () => {
  it('outcomes equal a brute-force replay of every call through the gate', async () => {
    const fleet = await simulationFleet();

    // ---- the history, through the gate and the policy in force then ----
    const a = await openApp(fleet.dir, { env: {}, log: () => {} });
    apps.push(a);
    vi.useFakeTimers({ toFake: ['Date'] });
    const generated = performance.now();
    const last = await generateHistory(onTheClock(a), fleet, { entries: ENTRIES, seed: SEED, start: START, batch: 16, tick: (ms) => vi.setSystemTime(ms), stored: () => storedCalls(a.db) });
    const generateMs = performance.now() - generated;
    vi.useRealTimers();
    const history = a.db.prepare(`SELECT seq, at, key_id, tool, decision, args_json FROM audit_log WHERE event = 'tool_call'
      AND json_extract(detail_json, '$.aggregated') IS NOT 1 ORDER BY seq`).all() as
      { seq: number; at: string; key_id: string; tool: string; decision: string; args_json: string | null }[];
    expect(history.length).toBeGreaterThanOrEqual(ENTRIES);
    const counted = Number(a.db.prepare(`SELECT coalesce(sum(json_extract(detail_json, '$.count')), 0) FROM audit_log WHERE event = 'tool_call'
      AND json_extract(detail_json, '$.aggregated') IS 1`).pluck().get());
    expect(last - START).toBeLessThan(22 * 3_600_000);

    // ---- the simulator, over the last day ----
    const end = new Date(START + 23 * 3_600_000);
    const draft = simulationDraft(fleet);
    const simulated = new Map<number, Outcome>();
    const report = await new PolicySimulator(a.gate).run(draft, { days: 1, now: end, outcomes: simulated });
    expect(report.entries).toBe(history.length);
    expect(report.counted).toBe(counted);

    // ---- the brute force: the draft applied to the copy, then every call again, at its recorded time ----
    const b = await openApp(fleet.before, { env: {}, log: () => {} });
    apps.push(b);
    await b.policy.update(draft.values!, 'test');
    const tenants = new Map((b.db.prepare('SELECT id, slug FROM tenants').all() as { id: string; slug: string }[]).map((t) => [t.slug, t.id]));
    for (const o of draft.overrides!) await b.policy.setOverride({ tool: o.tool, action: o.action ?? undefined, tenantId: o.tenant ? tenants.get(o.tenant) : undefined, tier: o.tier }, 'test');
    vi.useFakeTimers({ toFake: ['Date'] });
    const gate = onTheClock(b);
    // The simulator starts a draft grant at the start of the simulated window: so does the brute force.
    vi.setSystemTime(end.getTime() - 86_400_000);
    for (const g of draft.grants) {
      const key = (await b.keys.current(g.key))!;
      await b.store.write((tx) => gate.standing.grants.create(tx, {
        key, tenant: key.tenants.find((x) => x.slug === g.tenant)!, tool: g.tool, action: g.action ?? null, draft: { envelope: g.envelope, minutes: g.minutes, uses: g.uses },
        sourceApprovalId: null, actor: 'test',
      }));
    }
    const brute = new Map<number, Outcome>();
    const keys = new Map((await b.keys.list()).map((k) => [k.id, k]));
    const bruteStarted = performance.now();
    for (const h of history) {
      vi.setSystemTime(Date.parse(h.at));
      brute.set(h.seq, outcomeOf(await gate.call(h.tool, JSON.parse(h.args_json ?? '{}'), { key: keys.get(h.key_id)! })));
    }
    const bruteMs = performance.now() - bruteStarted;
    vi.useRealTimers();

    // ---- equal, call by call and in the counts ----
    const diffs = history.filter((h) => simulated.get(h.seq) !== brute.get(h.seq)).map((h) => `seq ${h.seq} ${h.tool} ${h.args_json}: simulated ${simulated.get(h.seq)}, gate ${brute.get(h.seq)}`);
    expect(diffs.slice(0, 10), `${diffs.length} calls differ`).toEqual([]);
    const count = (m: Map<number, Outcome>, by: (h: (typeof history)[number]) => string) => {
      const out: Record<string, Record<Outcome, number>> = {};
      for (const h of history) (out[by(h)] ??= { ran: 0, card: 0, denied: 0 })[m.get(h.seq)!]++;
      return out;
    };
    expect(Object.fromEntries(report.byTool.map((x) => [x.tool, x.after]))).toEqual(count(brute, (h) => h.tool));
    expect(Object.fromEntries(report.byKey.map((x) => [x.keyId, x.after]))).toEqual(count(brute, (h) => h.key_id));
    expect(report.before).toEqual(count(new Map(history.map((h) => [h.seq, historyOutcome(h.decision)])), () => 'all').all);
    // The draft changed every kind of outcome, and every grant but the one over a hidden character covered calls.
    for (const [f, t] of [['card', 'ran'], ['card', 'denied'], ['ran', 'denied'], ['ran', 'card'], ['denied', 'ran'], ['denied', 'card']]) {
      expect(report.changes.some((c) => c.from === f && c.to === t && c.count > 0), `${f} → ${t}`).toBe(true);
    }
    expect(report.grants.filter((g) => g.id !== 'draft-5').every((g) => g.covered > 0), JSON.stringify(report.grants)).toBe(true);
    expect(report.grants.find((g) => g.id === 'draft-5')!.covered).toBe(0);
    console.log(`[policy simulation] ${history.length} calls stored one by one, ${counted} refusals counted in floods (generated in ${Math.round(generateMs)} ms): simulated in ${Math.round(report.ms)} ms, `
      + `brute force through the gate ${Math.round(bruteMs)} ms; before ${JSON.stringify(report.before)}, after ${JSON.stringify(report.after)}; `
      + `changes ${report.changes.map((c) => `${c.from}→${c.to} ${c.count}`).join(', ')}`);
  }, budget(900_000));
});
