// Audit log reads for the console: filtered keyset pages, one entry, the live-call feed. Every statement is prepared
// once with a fixed text; absent filters bind NULL ("? IS NULL OR …"), lists bind as JSON arrays (json_each).
import type { Db } from '../store/db.ts';
import type { AuditRow } from '../audit/log.ts';
import { jsonColumn } from '../audit/siem.ts';
import type { AuditEntryDetailT, AuditEntryT, ConsoleInput, LiveCallT } from './contract.ts';

type AuditQuery = Required<Pick<ConsoleInput<'queryAudit'>, 'limit'>> & Omit<ConsoleInput<'queryAudit'>, 'limit'>;
type LiveQuery = Required<Pick<ConsoleInput<'liveCalls'>, 'limit'>> & Omit<ConsoleInput<'liveCalls'>, 'limit'>;

const like = (s: string | undefined) => (s === undefined ? null : `%${s.replace(/[\\%_]/g, '\\$&')}%`);
const list = (v: readonly string[] | undefined) => (v === undefined ? null : JSON.stringify(v));
const json = jsonColumn;

const FILTERS = `(@from IS NULL OR at >= @from) AND (@to IS NULL OR at <= @to)
  AND (@keyId IS NULL OR key_id = @keyId) AND (@tenant IS NULL OR tenant = @tenant) AND (@tool IS NULL OR tool = @tool)
  AND (@events IS NULL OR event IN (SELECT value FROM json_each(@events)))
  AND (@decisions IS NULL OR decision IN (SELECT value FROM json_each(@decisions)))
  AND (@code IS NULL OR code = @code)
  AND (@outcome IS NULL OR outcome LIKE @outcome ESCAPE '\\')
  AND (@q IS NULL OR tool LIKE @q ESCAPE '\\' OR action LIKE @q ESCAPE '\\' OR key_name LIKE @q ESCAPE '\\' OR tenant LIKE @q ESCAPE '\\'
    OR client LIKE @q ESCAPE '\\' OR code LIKE @q ESCAPE '\\' OR outcome LIKE @q ESCAPE '\\' OR args_json LIKE @q ESCAPE '\\'
    OR detail_json LIKE @q ESCAPE '\\' OR approval_id LIKE @q ESCAPE '\\' OR key_id LIKE @q ESCAPE '\\' OR session_id LIKE @q ESCAPE '\\'
    OR remote LIKE @q ESCAPE '\\' OR rule LIKE @q ESCAPE '\\' OR event LIKE @q ESCAPE '\\')`;

const LIST_COLUMNS = 'seq, at, event, decision, code, rule, key_id, key_name, tenant, client, session_id, tool, action, tier, outcome, duration_ms, approval_id, remote';

export function toEntry(r: Omit<AuditRow, 'args_json' | 'detail_json' | 'prev_hash' | 'hash'>): AuditEntryT {
  return {
    seq: r.seq, at: r.at, event: r.event, decision: r.decision, code: r.code, rule: r.rule, keyId: r.key_id, keyName: r.key_name, tenant: r.tenant,
    client: r.client, sessionId: r.session_id, tool: r.tool, action: r.action, tier: r.tier, outcome: r.outcome, durationMs: r.duration_ms,
    approvalId: r.approval_id, remote: r.remote,
  };
}

export function toDetail(r: AuditRow): AuditEntryDetailT {
  return { ...toEntry(r), args: json(r.args_json), detail: json(r.detail_json), prevHash: r.prev_hash, hash: r.hash };
}

/** The grant or plan step a call ran under (recorded in its detail by the gate). */
function standingOf(detailJson: string | null): Pick<LiveCallT, 'grantId' | 'planId' | 'planStep'> {
  if (detailJson === null || !detailJson.includes('"grantId"') && !detailJson.includes('"planId"')) return { grantId: null, planId: null, planStep: null };
  const d = json(detailJson) as { grantId?: unknown; planId?: unknown; planStep?: unknown } | null;
  return {
    grantId: typeof d?.grantId === 'string' ? d.grantId : null, planId: typeof d?.planId === 'string' ? d.planId : null,
    planStep: typeof d?.planStep === 'number' ? d.planStep : null,
  };
}

export function toLiveCall(r: AuditRow): LiveCallT {
  return {
    ...standingOf(r.detail_json),
    seq: r.seq, at: r.at, keyId: r.key_id, keyName: r.key_name, client: r.client, tenant: r.tenant, tool: r.tool, action: r.action, tier: r.tier,
    decision: r.decision, code: r.code, durationMs: r.duration_ms, args: json(r.args_json), outcome: r.outcome, approvalId: r.approval_id,
    remote: r.remote, sessionId: r.session_id,
  };
}

export function createAuditQueries(db: Db) {
  const page = db.prepare(`SELECT ${LIST_COLUMNS} FROM audit_log WHERE ${FILTERS} AND (@beforeSeq IS NULL OR seq < @beforeSeq) ORDER BY seq DESC LIMIT @limit`);
  const total = db.prepare(`SELECT count(*) AS n FROM audit_log WHERE ${FILTERS}`);
  const one = db.prepare('SELECT * FROM audit_log WHERE seq = ?');
  const head = db.prepare('SELECT coalesce(max(seq), 0) AS seq FROM audit_log');
  const live = db.prepare(`SELECT * FROM audit_log WHERE event = 'tool_call' AND seq > @afterSeq
    AND (@keyId IS NULL OR key_id = @keyId) AND (@tenant IS NULL OR tenant = @tenant)
    AND (@decisions IS NULL OR decision IN (SELECT value FROM json_each(@decisions)))
    ORDER BY seq DESC LIMIT @limit`);

  return {
    query(q: AuditQuery): { entries: AuditEntryT[]; total: number; nextBeforeSeq: number | null } {
      const params = {
        from: q.from ?? null, to: q.to ?? null, keyId: q.keyId ?? null, tenant: q.tenant ?? null, tool: q.tool ?? null,
        events: list(q.event), decisions: list(q.decision), code: q.code ?? null, outcome: like(q.outcome), q: like(q.q),
      };
      const rows = page.all({ ...params, beforeSeq: q.beforeSeq ?? null, limit: q.limit + 1 }) as AuditRow[];
      const more = rows.length > q.limit;
      const entries = rows.slice(0, q.limit).map(toEntry);
      return { entries, total: (total.get(params) as { n: number }).n, nextBeforeSeq: more ? entries[entries.length - 1]!.seq : null };
    },
    entry(seq: number): AuditEntryDetailT | undefined {
      const r = one.get(seq) as AuditRow | undefined;
      return r && toDetail(r);
    },
    liveCalls(q: LiveQuery): { calls: LiveCallT[]; headSeq: number } {
      const rows = live.all({ afterSeq: q.afterSeq ?? 0, keyId: q.keyId ?? null, tenant: q.tenant ?? null, decisions: list(q.decision), limit: q.limit }) as AuditRow[];
      return { calls: rows.map(toLiveCall), headSeq: (head.get() as { seq: number }).seq };
    },
  };
}
