import type { ReactNode } from 'react';

export type Tone = 'ok' | 'danger' | 'warn' | 'info' | 'muted' | 'accent' | 'throttle';

export function Badge({ tone = 'muted', children, title }: { tone?: Tone; children: ReactNode; title?: string }) {
  return <span className={`badge badge-${tone}`} title={title}>{children}</span>;
}

const DECISION_TONE: Record<string, Tone> = {
  allowed: 'ok', completed: 'ok', approved: 'ok', info: 'muted',
  denied: 'danger', rejected: 'danger', failed: 'danger',
  pending: 'warn', expired: 'muted', cancelled: 'muted', throttled: 'throttle',
};

export function DecisionBadge({ decision, code }: { decision: string; code?: string | null }) {
  const showCode = code && (decision === 'denied' || decision === 'failed' || decision === 'rejected' || decision === 'throttled');
  return (
    <Badge tone={DECISION_TONE[decision] ?? 'muted'} title={code ?? undefined}>
      {decision}{showCode ? <span className="badge-code">· {code}</span> : null}
    </Badge>
  );
}

const STATUS_TONE: Record<string, Tone> = {
  pending: 'warn', approved: 'ok', running: 'info', completed: 'ok', failed: 'danger', denied: 'danger', expired: 'muted', cancelled: 'muted',
  active: 'ok', revoked: 'danger', used_up: 'muted',
};

export const StatusBadge = ({ status }: { status: string }) => <Badge tone={STATUS_TONE[status] ?? 'muted'}>{status}</Badge>;

export function TierBadge({ tier }: { tier: number | null }) {
  if (tier === null) return <span className="muted">—</span>;
  const tone: Tone = tier >= 4 ? 'danger' : tier === 3 ? 'warn' : tier === 2 ? 'info' : 'muted';
  return <Badge tone={tone} title={`tier ${tier}`}>T{tier}</Badge>;
}

const SEVERITY_TONE: Record<string, Tone> = { critical: 'danger', high: 'warn', important: 'warn', medium: 'info', moderate: 'info', low: 'muted', info: 'muted' };
export const SeverityBadge = ({ severity }: { severity: string }) => <Badge tone={SEVERITY_TONE[severity] ?? 'muted'}>{severity}</Badge>;

export function OnlineDot({ online, label = true }: { online: boolean; label?: boolean }) {
  return (
    <span className="online">
      <span className={`dot ${online ? 'dot-ok' : 'dot-off'}`} aria-hidden="true" />
      {label ? (online ? 'online' : 'offline') : null}
    </span>
  );
}
