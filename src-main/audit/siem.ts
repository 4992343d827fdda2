// Audit entries for a SIEM: OCSF 1.5.0 API Activity events (class 6003, category 6 Application Activity) as JSON lines,
// or RFC 5424 syslog lines. Each keeps the entry's seq and hash, and the stored row itself (OCSF: unmapped.countersign;
// syslog: the message), so the chain can be checked from the export (`audit verify --export`).
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import type { AuditRow } from './log.ts';

export const EXPORT_FORMATS = ['jsonl', 'ocsf', 'syslog'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export const OCSF_VERSION = '1.5.0';

const CLASS_UID = 6003;
const CATEGORY_UID = 6;
const ACTIVITY = { create: 1, read: 2, update: 3, other: 99 } as const;
const ACTIVITY_NAME: Record<number, string> = { 1: 'Create', 2: 'Read', 3: 'Update', 99: 'Other' };
const FAILED = new Set(['denied', 'throttled', 'rejected', 'failed', 'expired', 'cancelled']);

/** A JSON column as a value (its text, if a row written by hand holds something else). */
export const jsonColumn = (s: string | null): unknown => {
  if (s === null) return null;
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
};
const json = (s: string | null) => jsonColumn(s) ?? undefined;
const defined = <T extends Record<string, unknown>>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as T;

function activityOf(r: AuditRow): number {
  if (r.event !== 'tool_call') return ACTIVITY.other;
  return r.tier !== null && r.tier >= 2 ? ACTIVITY.update : ACTIVITY.read;
}

function severityOf(decision: string): { id: number; name: string } {
  if (decision === 'failed') return { id: 3, name: 'Medium' };
  if (FAILED.has(decision)) return { id: 2, name: 'Low' };
  return { id: 1, name: 'Informational' };
}

/** One OCSF 1.5.0 API Activity event for one audit entry. */
export function toOcsf(r: AuditRow, product: { version: string }): Record<string, unknown> {
  const activity = activityOf(r);
  const severity = severityOf(r.decision);
  const failed = FAILED.has(r.decision);
  const remote = r.remote && isIP(r.remote) ? { ip: r.remote } : { name: r.remote ?? 'local' };
  return defined({
    class_uid: CLASS_UID, class_name: 'API Activity', category_uid: CATEGORY_UID, category_name: 'Application Activity',
    activity_id: activity, activity_name: activity === ACTIVITY.other ? r.event : ACTIVITY_NAME[activity],
    type_uid: CLASS_UID * 100 + activity, type_name: `API Activity: ${activity === ACTIVITY.other ? 'Other' : ACTIVITY_NAME[activity]}`,
    time: Date.parse(r.at), severity_id: severity.id, severity: severity.name,
    status_id: failed ? 2 : 1, status: failed ? 'Failure' : 'Success', status_code: r.code ?? undefined, status_detail: r.outcome ?? undefined,
    message: [r.event, r.decision, r.tool, r.action, r.code].filter(Boolean).join(' '),
    duration: r.duration_ms === null ? undefined : Math.round(r.duration_ms),
    metadata: defined({
      version: OCSF_VERSION, product: { name: 'Countersign', vendor_name: 'Countersign', version: product.version },
      // Record integrity: the entry's place in the chain and its hash.
      sequence: r.seq, uid: r.hash, log_name: 'audit_log', log_provider: 'countersign', original_time: r.at, event_code: r.event,
      tenant_uid: r.tenant ?? undefined, correlation_uid: r.approval_id ?? r.session_id ?? undefined,
    }),
    actor: defined({
      user: r.key_id ? defined({ uid: r.key_id, name: r.key_name ?? undefined, type: 'api_key' }) : undefined,
      // The MCP client (the AI side) that made the call.
      app_name: r.client ?? (r.key_id ? undefined : 'countersign'),
      session: r.session_id ? { uid: r.session_id } : undefined,
    }),
    api: defined({
      operation: r.tool ? (r.action ? `${r.tool}.${r.action}` : r.tool) : r.event,
      service: { name: 'Countersign MCP gate' },
      request: defined({ uid: String(r.seq), data: json(r.args_json) }),
      response: defined({ error: failed ? r.code ?? r.decision : undefined, message: r.outcome ?? undefined, data: json(r.detail_json) }),
    }),
    src_endpoint: remote,
    unmapped: { countersign: r },
  });
}

// ---- RFC 5424 ----

/** The documentation enterprise number (RFC 5612) until Countersign has its own. */
const SD_ID = 'countersign@32473';
const FACILITY_LOG_AUDIT = 13;
const BOM = '\uFEFF';
const printable = (s: string, max: number) => s.replace(/[^\x21-\x7e]/g, '_').slice(0, max) || '-';
const sdValue = (v: string) => v.replace(/[\\"\]]/g, (c) => `\\${c}`);
const localHost = printable(hostname(), 255);

function syslogSeverity(decision: string): number {
  if (decision === 'failed') return 4; // warning
  if (FAILED.has(decision)) return 5; // notice
  return 6; // informational
}

/** One RFC 5424 line: <PRI>1 TIMESTAMP HOST countersign - MSGID [countersign@32473 seq hash prev …] BOM + the stored row as JSON. */
export function toSyslog(r: AuditRow): string {
  const params: [string, string | number | null][] = [
    ['seq', r.seq], ['hash', r.hash], ['prev', r.prev_hash], ['event', r.event], ['decision', r.decision], ['code', r.code],
    ['tool', r.tool], ['keyId', r.key_id], ['tenant', r.tenant], ['approvalId', r.approval_id],
  ];
  const sd = params.filter(([, v]) => v !== null && v !== '').map(([k, v]) => `${k}="${sdValue(String(v))}"`).join(' ');
  const pri = FACILITY_LOG_AUDIT * 8 + syslogSeverity(r.decision);
  return `<${pri}>1 ${r.at} ${localHost} countersign - ${printable(r.event, 32)} [${SD_ID} ${sd}] ${BOM}${JSON.stringify(r)}`;
}

/** The signed checkpoint closing an export, in the export's own format. */
export function checkpointRecord(format: ExportFormat, cp: Record<string, unknown> & { exportedAt: string; headSeq: number }, product: { version: string }): string {
  if (format === 'jsonl') return JSON.stringify(cp);
  if (format === 'syslog') {
    return `<${FACILITY_LOG_AUDIT * 8 + 5}>1 ${cp.exportedAt} ${localHost} countersign - checkpoint [${SD_ID} headSeq="${cp.headSeq}"] ${BOM}${JSON.stringify(cp)}`;
  }
  return JSON.stringify({
    class_uid: CLASS_UID, class_name: 'API Activity', category_uid: CATEGORY_UID, category_name: 'Application Activity',
    activity_id: ACTIVITY.other, activity_name: 'audit checkpoint', type_uid: CLASS_UID * 100 + ACTIVITY.other, type_name: 'API Activity: Other',
    time: Date.parse(cp.exportedAt), severity_id: 1, severity: 'Informational', status_id: 1, status: 'Success',
    message: `signed checkpoint of ${cp.headSeq} entries`,
    metadata: { version: OCSF_VERSION, product: { name: 'Countersign', vendor_name: 'Countersign', version: product.version }, log_name: 'audit_log', log_provider: 'countersign' },
    actor: { app_name: 'countersign' },
    api: { operation: 'audit.checkpoint', service: { name: 'Countersign MCP gate' }, request: { uid: `checkpoint-${cp.headSeq}` } },
    src_endpoint: { name: 'local' },
    unmapped: { countersign_checkpoint: cp },
  });
}

/** The stored row or checkpoint a line of any export format carries; undefined if the line is none of them. */
export function recordOfLine(line: string): unknown {
  if (line.startsWith('<')) {
    const i = line.indexOf(BOM);
    if (i < 0) return undefined;
    return JSON.parse(line.slice(i + BOM.length));
  }
  const v = JSON.parse(line) as { class_uid?: unknown; unmapped?: { countersign?: unknown; countersign_checkpoint?: unknown } };
  if (v && typeof v === 'object' && v.class_uid === CLASS_UID) return v.unmapped?.countersign ?? v.unmapped?.countersign_checkpoint;
  return v;
}
