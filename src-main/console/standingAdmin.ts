// The console's side of standing approvals and decision telemetry: a card's grant offer and decision time, approving
// with a grant, the Grants view (grants and plans, revoke and stop), per-day decision counts and medians with
// rubber-stamping flags, and the policy simulation.
import type { App } from '../app.ts';
import type { Approval } from '../governance/approvals.ts';
import type { Technician } from '../auth/technicians.ts';
import type { TenantScope } from './tenantScope.ts';
import { PolicySimulator } from '../governance/simulate.ts';
import { decisionTimes } from '../store/data/decisionTimes.ts';
import type { ApprovalCardT } from './approvalView.ts';
import { FAST_DECISION_MS, FAST_STREAK, type ApprovalT, type ConsoleInput, type ConsoleOutput } from './contract.ts';

type Stats = ConsoleOutput<'decisionStats'>;

/** Per-day counts and medians, and the approvals decided faster than FAST_DECISION_MS (in a row: a streak). */
export function decisionStats(rows: Awaited<ReturnType<typeof decisionTimes.since>>): Omit<Stats, 'fastMs' | 'streakLength'> {
  const days = new Map<string, { approved: number; denied: number; times: number[]; fast: number }>();
  const fast: Stats['fast'] = [];
  const streaks: Stats['streaks'] = [];
  // A streak is per technician: fast approvals one after another, with no slow decision between them.
  const run = new Map<string, Stats['fast']>();
  const close = (who: string) => {
    const r = run.get(who) ?? [];
    if (r.length >= FAST_STREAK) {
      for (const f of r) f.streak = true;
      streaks.push({ from: r[0]!.decidedAt, to: r[r.length - 1]!.decidedAt, count: r.length, decidedBy: who });
    }
    run.set(who, []);
  };
  for (const r of rows) {
    const day = r.decided_at.slice(0, 10);
    const d = days.get(day) ?? { approved: 0, denied: 0, times: [], fast: 0 };
    days.set(day, d);
    d[r.decision]++;
    const isFast = r.decision === 'approved' && r.viewed_ms !== null && r.viewed_ms < FAST_DECISION_MS;
    if (r.decision === 'approved' && r.viewed_ms !== null) d.times.push(r.viewed_ms);
    if (isFast) {
      d.fast++;
      const f = { approvalId: r.approval_id, tool: r.tool, action: r.action, tenant: r.tenant_slug, decidedAt: r.decided_at, decidedBy: r.decided_by, viewedMs: r.viewed_ms!, streak: false };
      fast.push(f);
      run.set(r.decided_by, [...(run.get(r.decided_by) ?? []), f]);
    } else {
      close(r.decided_by);
    }
  }
  for (const who of [...run.keys()]) close(who);
  const median = (xs: number[]) => {
    if (!xs.length) return null;
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  return {
    days: [...days].map(([date, d]) => ({ date, approved: d.approved, denied: d.denied, medianMs: median(d.times), fast: d.fast })).sort((a, b) => b.date.localeCompare(a.date)),
    fast: fast.reverse().slice(0, 200),
    streaks: streaks.sort((a, b) => b.to.localeCompare(a.to)),
  };
}

/** `by`: the signed-in technician (team mode) whose decisions these are; `scope`: the tenants they act on. */
export function createStandingAdmin(app: App, actor: string, card: (a: Approval, now?: Date) => Promise<ApprovalCardT>, by: Technician | undefined, scope: TenantScope) {
  const { grants, plans } = app.gate.standing;
  const simulator = new PolicySimulator(app.gate);
  // A technician limited to some tenants sees and ends the grants and plans of those tenants only.
  const sees = scope.reachesId;
  const tenantIds = scope.ids ? [...scope.ids] : undefined;

  /** Cards as the console shows them: with the grant a pending one may offer, and a decided one's time on screen. */
  async function full(list: Approval[], now = new Date()): Promise<ApprovalT[]> {
    const times = await decisionTimes.of(app.store.sql, list.filter((a) => a.status !== 'pending').map((a) => a.id));
    return Promise.all(list.map(async (a) => ({
      ...(await card(a, now)), grantOffer: a.status === 'pending' ? (await grants.offer(a)) ?? null : null, decisionMs: times.get(a.id) ?? null,
    })));
  }

  return {
    full,
    one: async (a: Approval) => (await full([a]))[0]!,
    async approve(q: ConsoleInput<'approve'>) {
      const a = await app.gate.approve(q.id, actor, { viewedMs: q.viewedMs, confirmHiddenText: q.confirmHiddenText, grant: q.grant, by });
      const grant = q.grant ? (await grants.fromSource(a.id)) ?? null : null;
      return { approval: (await full([a]))[0]!, grant };
    },
    async deny(q: ConsoleInput<'deny'>) {
      return { approval: (await full([await app.gate.deny(q.id, actor, q.reason, { viewedMs: q.viewedMs, by })]))[0]! };
    },
    async list(q: { live: boolean }) {
      return { grants: await grants.list({ live: q.live, tenantIds }), plans: await plans.list({ live: q.live, tenantIds }) };
    },
    revoke: async (id: string) => ({ grant: await grants.revoke(id, actor, sees) }),
    stopPlan: async (id: string) => ({ plan: await plans.stopById(id, actor, sees) }),
    async stats(days: number): Promise<Stats> {
      const from = new Date(Date.now() - days * 86_400_000).toISOString();
      const rows = (await decisionTimes.since(app.store.sql, from)).filter((r) => scope.seesSlug(r.tenant_slug));
      return { fastMs: FAST_DECISION_MS, streakLength: FAST_STREAK, ...decisionStats(rows) };
    },
    simulate: (q: ConsoleInput<'simulatePolicy'>) => simulator.run(q.draft as never, { days: q.days ?? 7 }),
  };
}
