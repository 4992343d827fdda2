// Policy simulation: the tool calls of the last N days, decided again under a draft policy (settings, tier overrides,
// grants) with the gate's own decision code — the rate limiter, effectiveTier and refusalFor, bulk escalation, the ticket
// requirement and the grant envelope — in the order they happened. Each call is decided on the facts the gate planned
// and recorded with it; a call that was refused before it was planned is planned now (read-only), as the gate would.
// Refusals the audit log counted during a flood (one entry per source, cause and minute) were never stored one by one:
// their arguments are unknown, so they are reported as counted, not replayed.
import type { z } from 'zod';
import type { ApiKey } from '../auth/keys.ts';
import { planBlocks } from '../audit/facets.ts';
import { canonicalJson } from '../store/canonical.ts';
import { AppError } from '../errors.ts';
import { allDeviceGroups } from '../store/data/grants.ts';
import { budgetOf, type ToolSpec } from '../tools/types.ts';
import { actionOf, bulkEscalation, effectiveTier, limitFor, refusalFor, ticketRefusal } from './decide.ts';
import { callFacts, GRANTABLE, outsideEnvelope, describeEnvelope, type CallFacts, type Envelope } from './envelope.ts';
import type { Gate } from './gate.ts';
import type { Policy } from './policyValues.ts';
import { RateLimiter } from './rateLimiter.ts';
import { DraftPolicy, SimulationDraft } from './simulateDraft.ts';
import { ticketOf } from './ticket.ts';
import { pauses } from '../pauses.ts';

export { DraftGrant, SimulationDraft } from './simulateDraft.ts';

export type Outcome = 'ran' | 'card' | 'denied';
const OUTCOMES: readonly Outcome[] = ['ran', 'card', 'denied'];

type Counts = Record<Outcome, number>;
const zero = (): Counts => ({ ran: 0, card: 0, denied: 0 });

export interface SimulationReport {
  from: string; to: string; entries: number; ms: number;
  /** Refusals counted during a flood (audit/flood.ts) rather than stored: not replayed. */
  counted: number;
  before: Counts; after: Counts;
  changes: { from: Outcome; to: Outcome; count: number }[];
  byTool: { tool: string; before: Counts; after: Counts }[];
  byKey: { keyId: string | null; keyName: string | null; before: Counts; after: Counts }[];
  examples: { seq: number; at: string; tool: string; action: string | null; keyName: string | null; tenant: string | null; from: Outcome; to: Outcome; reason: string }[];
  grants: { id: string; description: string; covered: number }[];
}

interface Row {
  seq: number; at: string; key_id: string | null; key_name: string | null; tool: string | null; action: string | null; tenant: string | null;
  decision: string; code: string | null; rule: string | null; args_json: string | null; detail_json: string | null;
}

interface SimGrant { id: string; keyId: string; tenantId: string; tool: string; action: string | null; envelope: Envelope; from: number; until: number; maxUses: number | null; uses: number; description: string }

/** Codes the gate gives before it plans a call (throttle, unknown tool, the decision on the tool's own tier). */
const DECISION_CODES = new Set(['RATE_LIMITED', 'UNKNOWN_TOOL', 'TIER4_BLOCKED', 'SCOPE_DENIED', 'NOT_ALLOWLISTED', 'EXECUTE_ADMIN_REQUIRED', 'TICKET_REQUIRED', 'POLICY_UNVERIFIED']);
const PAGE = 5000;

const json = (s: string | null): unknown => {
  if (s === null) return null;
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
};
const rec = (v: unknown): Record<string, unknown> => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/** What the history recorded: ran (allowed, or failed while running), a card, or denied. */
export function historyOutcome(decision: string): Outcome {
  return decision === 'pending' ? 'card' : decision === 'denied' || decision === 'throttled' ? 'denied' : 'ran';
}

export class PolicySimulator {
  private readonly gate: Gate;
  constructor(gate: Gate) {
    this.gate = gate;
  }

  /**
   * Replays the tool calls of the `days` before `now` under the draft. `outcomes` (when given) receives each entry's
   * outcome by audit seq.
   */
  async run(draftInput: SimulationDraft, o: { days: number; now?: Date; outcomes?: Map<number, Outcome> }): Promise<SimulationReport> {
    const started = performance.now();
    const parsed = SimulationDraft.safeParse(draftInput);
    if (!parsed.success) throw new AppError('BAD_INPUT', `draft: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(draft)'}: ${i.message}`).join('; ')}`);
    const draft = parsed.data;
    const d = this.gate.d;
    const now = o.now ?? new Date();
    const fromMs = now.getTime() - o.days * 86_400_000;
    const from = new Date(fromMs).toISOString();
    const to = now.toISOString();
    const tenantId = new Map((await d.store.sql.all<{ id: string; slug: string }>('SELECT id, slug FROM tenants')).map((t) => [t.slug, t.id]));
    const keys = new Map((await d.keys.list()).map((k) => [k.id, k]));
    const policy = this.draftPolicy(draft, tenantId);
    const grants = await this.draftGrants(draft, { fromMs, toMs: now.getTime(), keys, tenantId });
    const groups = new Map((await allDeviceGroups(d.store.sql)).map((r) => [r.id, r.group_id]));

    let clock = fromMs;
    const limiter = new RateLimiter(() => clock);
    // Devices each key changed without approval, per tenant: the bulk window.
    const touched = new Map<string, { t: number; ids: readonly string[] }[]>();
    const report: SimulationReport = { from, to, entries: 0, ms: 0, counted: 0, before: zero(), after: zero(), changes: [], byTool: [], byKey: [], examples: [], grants: [] };
    const byTool = new Map<string, { before: Counts; after: Counts }>();
    const byKey = new Map<string, { keyId: string | null; keyName: string | null; before: Counts; after: Counts }>();
    const changes = new Map<string, number>();
    const examplesPer = new Map<string, number>();

    // A call the gate refused before planning is planned now, once per key and arguments (the fleet as it is now; a
    // plan that reads the time, deploy_patches's window fit, is planned at the call's own time every time).
    const planned = new Map<string, { tenant: string | undefined; facts: CallFacts | undefined } | AppError>();
    const planNow = async (tool: ToolSpec, key: ApiKey, args: Record<string, unknown>, at: number) => {
      const memo = tool.name === 'deploy_patches' ? undefined : `${key.id}\u0000${tool.name}\u0000${canonicalJson(args)}`;
      const hit = memo === undefined ? undefined : planned.get(memo);
      if (hit) return hit;
      let out: { tenant: string | undefined; facts: CallFacts | undefined } | AppError;
      try {
        const p = await tool.plan(args as never, this.gate.readContext(key, tool, new Date(at)));
        out = { tenant: p.tenant?.slug, facts: tool.access === 'write' ? callFacts(tool.name, p) : undefined };
      } catch (e) {
        if (!(e instanceof AppError)) throw e;
        out = e;
      }
      if (memo !== undefined) planned.set(memo, out);
      return out;
    };

    const decide = async (r: Row, detail: Record<string, unknown>, at: number): Promise<{ outcome: Outcome; reason: string }> => {
      const key = r.key_id ? keys.get(r.key_id) : undefined;
      const was = historyOutcome(r.decision);
      if (!key) return { outcome: was, reason: 'the key is gone: kept as recorded' };
      const tool = r.tool ? this.gate.tools.get(r.tool) : undefined;
      const via = detail.kind;
      const budget = via === 'prompt' || !tool ? 'read' : budgetOf(tool);
      const take = limiter.take(`${key.id}:${budget}`, limitFor(key, budget, policy.values));
      if (!take.ok) return { outcome: 'denied', reason: `RATE_LIMITED: ${budget} budget of ${limitFor(key, budget, policy.values)}/min` };
      if (via === 'prompt') return r.decision === 'denied' && r.code !== 'RATE_LIMITED' ? { outcome: 'denied', reason: `${r.code}: as recorded` } : { outcome: 'ran', reason: 'prompt' };
      if (!tool) return { outcome: 'denied', reason: `UNKNOWN_TOOL: ${r.tool}` };
      let args = rec(json(r.args_json));
      // Arguments the gate never validated (throttled, or refused by validation) are validated now.
      if (r.decision === 'throttled' || r.code === 'INVALID_ARGUMENTS') {
        const p = tool.input.safeParse(json(r.args_json) ?? {});
        if (!p.success) return { outcome: 'denied', reason: 'INVALID_ARGUMENTS: the arguments do not fit the schema' };
        args = p.data as Record<string, unknown>;
      }
      const action = actionOf(tool, args);
      const early = refusalFor(tool, effectiveTier(tool, action, undefined, undefined, policy), key, action, policy);
      if (early) return { outcome: 'denied', reason: `${early.code}: ${early.message}` };
      // The plan's facts: recorded with the entry, or (for a call refused before planning) planned now.
      let facts = detail.facts ? (detail.facts as CallFacts) : undefined;
      let tenant = r.tenant ?? undefined;
      const wasPlanned = r.decision === 'allowed' || r.decision === 'pending' || r.decision === 'failed' || facts !== undefined
        || (r.decision === 'denied' && r.code !== null && !DECISION_CODES.has(r.code));
      if (wasPlanned && r.decision === 'denied' && !facts && r.code !== null && !DECISION_CODES.has(r.code)) {
        return { outcome: 'denied', reason: `${r.code}: refused while planning, as recorded` };
      }
      if (!wasPlanned) {
        const p = await planNow(tool, key, args, at);
        if (p instanceof AppError) return { outcome: 'denied', reason: `${p.code}: ${p.message}` };
        tenant = p.tenant;
        facts = p.facts;
      }
      const tid = facts?.tenantId ?? (tenant ? tenantId.get(tenant) : undefined);
      if (tid && !key.tenants.some((t) => t.id === tid)) return { outcome: 'denied', reason: 'NOT_FOUND: the key no longer reaches this tenant' };
      let argTier = facts?.argTier;
      const windowKey = `${key.id}\u0000${tid}`;
      if (tool.access === 'write' && facts?.deviceIds.length && tid) {
        const minutes = policy.values.bulkWindowMinutes;
        const since = at - minutes * 60_000;
        const set = new Set<string>();
        if (minutes > 0) for (const w of touched.get(windowKey) ?? []) if (w.t >= since) for (const id of w.ids) set.add(id);
        if (bulkEscalation(set, facts.deviceIds, policy.values.bulkDeviceThreshold).escalated) argTier = 3;
      }
      const tier = effectiveTier(tool, action, tid, argTier, policy);
      const refused = refusalFor(tool, tier, key, action, policy);
      if (refused) return { outcome: 'denied', reason: `${refused.code}: ${refused.message}` };
      const ran = (why: string): { outcome: Outcome; reason: string } => {
        const ids = facts?.commandDeviceIds ?? facts?.deviceIds;
        if (tool.access === 'write' && ids?.length && tid) {
          const list = touched.get(windowKey) ?? [];
          list.push({ t: at, ids });
          touched.set(windowKey, list);
        }
        return { outcome: 'ran', reason: why };
      };
      if (tier < 3) return ran(`tier ${tier}`);
      const single = key.tenants.length === 1 ? key.tenants[0]!.slug : undefined;
      const ticket = ticketRefusal(tool.name, tenant ?? single, !!ticketOf(args), policy.values);
      if (ticket) return { outcome: 'denied', reason: `${ticket.code}: ${ticket.message}` };
      // An approved plan is the technician's decision on those exact calls, not policy: it stands.
      if (typeof detail.planId === 'string' && r.rule === 'plan') return { outcome: 'ran', reason: 'a step of an approved plan' };
      if (!tid) return single ? { outcome: 'card', reason: 'tier 3' } : { outcome: 'denied', reason: 'INVALID_ARGUMENTS: a tier-3 call must name one tenant' };
      if (facts && !facts.hiddenText && GRANTABLE[tool.name]) {
        const act = r.action ?? action ?? null;
        const g = grants.find((x) => x.keyId === key.id && x.tenantId === tid && x.tool === tool.name && x.action === act && x.from <= at && at < x.until
          && (x.maxUses === null || x.uses < x.maxUses) && !outsideEnvelope(tool.name, x.envelope, facts!, (dev) => groups.get(dev)));
        if (g) {
          g.uses++;
          return ran(`under grant ${g.id.slice(0, 8)}`);
        }
      }
      return { outcome: 'card', reason: 'tier 3' };
    };

    // Only the blocks whose times meet the window (audit/facets.ts), each read in keyset pages.
    const { ranges } = await planBlocks(d.store.sql, { values: [], from, to, others: true });
    const pause = pauses();
    for (const range of ranges) {
      let after = range.lo - 1;
      for (;;) {
        const rows = await d.store.sql.all<Row>(`SELECT seq, at, key_id, key_name, tool, action, tenant, decision, code, rule, args_json, detail_json
          FROM audit_log WHERE event = 'tool_call' AND at >= ? AND at <= ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ${PAGE}`, [from, to, after, range.hi]);
        for (const r of rows) {
          const p = pause();
          if (p) await p;
          const detail = rec(json(r.detail_json));
          if (detail.aggregated === true) {
            report.counted += typeof detail.count === 'number' ? detail.count : 0;
            continue;
          }
          const at = Date.parse(r.at);
          clock = at;
          const before = historyOutcome(r.decision);
          const { outcome, reason } = await decide(r, detail, at);
          o.outcomes?.set(r.seq, outcome);
          report.entries++;
          report.before[before]++;
          report.after[outcome]++;
          const tool = r.tool ?? '(none)';
          const t = byTool.get(tool) ?? { before: zero(), after: zero() };
          t.before[before]++;
          t.after[outcome]++;
          byTool.set(tool, t);
          const kId = r.key_id ?? '(none)';
          const k = byKey.get(kId) ?? { keyId: r.key_id, keyName: r.key_name, before: zero(), after: zero() };
          k.before[before]++;
          k.after[outcome]++;
          byKey.set(kId, k);
          if (before !== outcome) {
            const c = `${before}\u0000${outcome}`;
            changes.set(c, (changes.get(c) ?? 0) + 1);
            if ((examplesPer.get(c) ?? 0) < 5) {
              examplesPer.set(c, (examplesPer.get(c) ?? 0) + 1);
              report.examples.push({ seq: r.seq, at: r.at, tool, action: r.action, keyName: r.key_name, tenant: r.tenant, from: before, to: outcome, reason });
            }
          }
        }
        if (rows.length < PAGE) break;
        after = rows[rows.length - 1]!.seq;
      }
    }
    report.changes = [...changes].map(([c, count]) => {
      const [f, t] = c.split('\u0000') as [Outcome, Outcome];
      return { from: f, to: t, count };
    }).sort((a, b) => b.count - a.count);
    report.byTool = [...byTool].map(([tool, v]) => ({ tool, ...v })).sort((a, b) => a.tool.localeCompare(b.tool));
    report.byKey = [...byKey.values()].sort((a, b) => (a.keyName ?? '').localeCompare(b.keyName ?? ''));
    report.grants = grants.map((g) => ({ id: g.id, description: g.description, covered: g.uses }));
    report.ms = performance.now() - started;
    return report;
  }

  private draftPolicy(draft: z.output<typeof SimulationDraft>, tenantId: Map<string, string>): DraftPolicy {
    const p = this.gate.d.policy;
    const values = { ...p.values, ...(draft.values ?? {}) } as Policy;
    if (!draft.overrides) return new DraftPolicy(values, p.listOverrides());
    const overrides = draft.overrides.map((o) => {
      if (!this.gate.tools.has(o.tool)) throw new AppError('BAD_INPUT', `draft.overrides: unknown tool '${o.tool}'`);
      const tid = o.tenant ? tenantId.get(o.tenant) : null;
      if (tid === undefined) throw new AppError('BAD_INPUT', `draft.overrides: unknown tenant '${o.tenant}'`);
      return { tool: o.tool, action: o.action ?? null, tenantId: tid, tier: o.tier };
    });
    return new DraftPolicy(values, overrides);
  }

  private async draftGrants(draft: z.output<typeof SimulationDraft>, c: { fromMs: number; toMs: number; keys: Map<string, ApiKey>; tenantId: Map<string, string> }): Promise<SimGrant[]> {
    if (draft.grants === 'none') return [];
    if (draft.grants === 'recorded') {
      const all = await this.gate.standing.grants.list({ limit: 10_000 });
      return all.filter((g) => g.state !== 'tampered').map((g) => ({
        id: g.id, keyId: g.keyId, tenantId: g.tenantId, tool: g.tool, action: g.action, envelope: g.envelope, from: Date.parse(g.createdAt),
        until: Math.min(Date.parse(g.expiresAt), g.revokedAt ? Date.parse(g.revokedAt) : Infinity), maxUses: g.maxUses, uses: 0, description: g.description,
      })).sort((a, b) => a.until - b.until || a.id.localeCompare(b.id));
    }
    const byName = new Map([...c.keys.values()].map((k) => [k.name, k]));
    return draft.grants.map((g, i) => {
      const key = c.keys.get(g.key) ?? byName.get(g.key);
      if (!key) throw new AppError('BAD_INPUT', `draft.grants[${i}].key: no key '${g.key}'`);
      const tid = c.tenantId.get(g.tenant);
      if (!tid) throw new AppError('BAD_INPUT', `draft.grants[${i}].tenant: unknown tenant '${g.tenant}'`);
      if (!GRANTABLE[g.tool]) throw new AppError('BAD_INPUT', `draft.grants[${i}].tool: ${g.tool} cannot be granted`);
      return {
        id: `draft-${i + 1}`, keyId: key.id, tenantId: tid, tool: g.tool, action: g.action, envelope: g.envelope, from: c.fromMs,
        until: g.minutes ? c.fromMs + g.minutes * 60_000 : c.toMs + 1, maxUses: g.uses ?? null, uses: 0, description: describeEnvelope(g.tool, g.action, g.envelope),
      };
    }).sort((a, b) => a.until - b.until || a.id.localeCompare(b.id));
  }
}

export { OUTCOMES };
