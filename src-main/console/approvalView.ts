// The approval card's facts: the tool's plan detail normalised into the contract's ApprovalView, with each target
// device's current state and the tenant's maintenance windows read from the store.
import { placeholders, type Sql } from '../store/sql.ts';
import type { Approval } from '../governance/approvals.ts';
import { requestFindings } from '../hiddenChars.ts';
import { ticketOf } from '../governance/ticket.ts';
import { describeWindow, windowFromRow, windowState, type Occurrence } from '../tools/maintenanceWindow.ts';
import type { ApprovalT } from './contract.ts';
import { isMask } from '../tools/secretParams.ts';

type View = ApprovalT['view'];
type Card = Omit<View, 'plan'>;
/** What a card is rendered from: an approval, or one step of a plan approval. */
type Source = Pick<Approval, 'tenantId' | 'tool' | 'action' | 'args' | 'summary' | 'detail'>;
type Rec = Record<string, unknown>;

const rec = (v: unknown): Rec => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const bool = (v: unknown): boolean | null => (typeof v === 'boolean' ? v : null);

interface DeviceRow { id: string; hostname: string; os: string; os_version: string; status: string; isolated: number; last_seen_at: string; hostname_conflict: number }
interface WindowRow { id: string; name: string; days: string; start_minute: number; duration_minutes: number }

const occurrence = (o: Occurrence | null) => (o ? { name: o.window.name, schedule: describeWindow(o.window), start: o.start.toISOString(), end: o.end.toISOString() } : null);

function storedOccurrence(v: unknown) {
  const o = rec(v);
  const name = str(o.name);
  const start = str(o.start);
  const end = str(o.end);
  return name && start && end ? { name, schedule: str(o.schedule) ?? '', start, end } : null;
}

/** The card without the fields the console service adds (the grant offer, the decision time). */
export type ApprovalCardT = Omit<ApprovalT, 'grantOffer' | 'decisionMs'>;

export function createApprovalViewer(sql: Sql): (a: Approval, now?: Date) => Promise<ApprovalCardT> {
  async function windowOf(a: Source, d: Rec, now: Date): Promise<View['window']> {
    const windows = (await sql.all<WindowRow>('SELECT id, name, days, start_minute, duration_minutes FROM maintenance_windows WHERE tenant_id = ? ORDER BY name, id', [a.tenantId]))
      .map(windowFromRow);
    const schedules = windows.map((w) => ({ name: w.name, schedule: describeWindow(w) }));
    const fit = str(d.windowFit);
    if (a.tool === 'deploy_patches' && (fit === 'inside' || fit === 'scheduled_for_next_window' || fit === 'override')) {
      return { fit, decidedBy: 'tool', notBefore: str(d.notBefore), current: storedOccurrence(d.currentWindow), next: storedOccurrence(d.nextWindow), windows: schedules };
    }
    const { inside, next } = windowState(windows, now);
    return {
      fit: windows.length === 0 ? 'no_window' : inside ? 'inside' : 'outside',
      decidedBy: 'tenant', notBefore: null, current: occurrence(inside), next: occurrence(next), windows: schedules,
    };
  }

  async function card(a: Source, now: Date): Promise<Card> {
    const d = rec(a.detail);
    const listed = arr(d.devices).map(rec);
    const ids = [...new Set(listed.map((p) => str(p.id) ?? ''))];
    const rows = new Map((ids.length
      ? await sql.all<DeviceRow>(`SELECT id, hostname, os, os_version, status, isolated, last_seen_at, hostname_conflict FROM devices
        WHERE tenant_id = ? AND id IN (${placeholders(ids.length)})`, [a.tenantId, ...ids])
      : []).map((r) => [r.id, r]));
    const devices = listed.map((p) => {
      const id = str(p.id) ?? '';
      const row = rows.get(id);
      const status = row?.status ?? str(p.status) ?? 'unknown';
      return {
        id,
        hostname: row?.hostname ?? str(p.hostname) ?? id,
        os: row?.os ?? str(p.os) ?? 'unknown',
        osVersion: row?.os_version ?? str(p.osVersion),
        status,
        online: status === 'online',
        isolated: row ? row.isolated === 1 : null,
        lastSeenAt: row?.last_seen_at ?? null,
        patchCount: Array.isArray(p.patches) ? p.patches.length : null,
        hostnameConflict: row?.hostname_conflict === 1,
      };
    });
    const s = rec(d.script);
    const script = typeof s.body === 'string' && typeof s.sha256 === 'string'
      ? {
        id: str(s.id), name: str(s.name) ?? 'ad-hoc', source: str(s.source) ?? 'ad-hoc', scope: str(s.scope) ?? '', language: str(s.language) ?? '',
        sha256: s.sha256, body: s.body, lines: num(s.lines) ?? s.body.split('\n').length, bytes: num(s.bytes) ?? new TextEncoder().encode(s.body).length,
      }
      : null;
    const patches = arr(d.patches).map((raw) => {
      const p = rec(raw);
      return {
        id: str(p.id) ?? '', externalId: str(p.externalId) ?? '', title: str(p.title) ?? '', os: str(p.os) ?? '',
        severity: str(p.severity) ?? 'unknown', requiresReboot: p.requiresReboot === true,
      };
    });
    const parameters: Record<string, string> = {};
    // Secret parameters are stored masked; the card says so and shows nothing of the value.
    for (const [k, v] of Object.entries(rec(d.parameters))) if (typeof v === 'string') parameters[k] = isMask(v) ? '•••••••• (secret)' : v;
    const ticket = ticketOf(a.args);
    const view: Card = {
      script,
      devices,
      deviceCount: devices.length,
      onlineCount: devices.filter((x) => x.online).length,
      patches,
      rebootRequired: bool(d.rebootRequired),
      window: await windowOf(a, d, now),
      action: a.action ?? str(d.action),
      requestReason: str(d.reason),
      parameters,
      timeoutSeconds: num(d.timeoutSeconds),
      warnings: arr(d.warnings).filter((w): w is string => typeof w === 'string'),
      bulkEscalated: d.bulkEscalated === true,
      skipped: arr(d.skipped).map((raw) => {
        const k = rec(raw);
        return { hostname: str(k.hostname) ?? '', externalId: str(k.externalId) ?? '', reason: str(k.reason) ?? '' };
      }),
      ticket: ticket ?? null,
      hiddenText: requestFindings({ summary: a.summary, detail: a.detail, ticket: a.args.ticket }),
    };
    if (a.tool === 'deploy_patches' && num(d.offlineCount)) view.warnings.push(`${num(d.offlineCount)} target device(s) offline: they install when they check in.`);
    return view;
  }

  /** propose_plan: each step rendered as its own card would be. */
  async function planOf(a: Approval, now: Date): Promise<View['plan']> {
    if (a.tool !== 'propose_plan') return null;
    const d = rec(a.detail);
    const steps = await Promise.all(arr(d.steps).map(async (raw, i) => {
      const st = rec(raw);
      const source: Source = {
        tenantId: a.tenantId, tool: str(st.tool) ?? '', action: str(st.action), args: rec(st.arguments), summary: str(st.summary) ?? '', detail: rec(st.detail),
      };
      return { index: num(st.index) ?? i + 1, tool: source.tool, action: source.action, summary: source.summary, args: source.args, view: await card(source, now) };
    }));
    return { goal: str(d.goal) ?? '', expiresInMinutes: num(d.expiresInMinutes) ?? 0, steps };
  }

  return async (a: Approval, now = new Date()): Promise<ApprovalCardT> => ({ ...a, view: { ...(await card(a, now)), plan: await planOf(a, now) } });
}
