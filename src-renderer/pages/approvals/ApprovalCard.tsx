import { forwardRef, useEffect, useRef, useState, type FormEvent } from 'react';
import type { ApprovalT } from '../../../src-main/console/contract.ts';
import { Badge, StatusBadge } from '../../components/Badge.tsx';
import { ago, countdown, dateTime, flowLabel, toolLabel } from '../../lib/format.ts';
import { CardBody } from './CardSections.tsx';

export interface CardProps {
  a: ApprovalT;
  now: number;
  selected: boolean;
  armed: boolean;
  denying: boolean;
  busy: boolean;
  onSelect(): void;
  onApprove(): void;
  onStartDeny(): void;
  onDeny(reason: string): void;
  onCancel(): void;
  /** Opened from a link to this card (#/approvals/<id>). */
  linked?: boolean;
}

function DenyForm({ onDeny, onCancel, busy }: { onDeny(reason: string): void; onCancel(): void; busy: boolean }) {
  const [reason, setReason] = useState('');
  const ref = useRef<HTMLTextAreaElement>(null);
  useEffect(() => ref.current?.focus(), []);
  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    if (reason.trim()) onDeny(reason.trim());
  };
  return (
    <form className="deny-form" onSubmit={submit}>
      <label className="field-label" htmlFor="deny-reason">Reason for the model (it reads this and should not retry the same call)</label>
      <textarea
        id="deny-reason" ref={ref} rows={2} value={reason} maxLength={2000} onChange={(e) => setReason(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey) submit(e);
          if (e.key === 'Escape') {
            e.preventDefault();
            onCancel();
          }
        }}
      />
      <div className="row gap">
        <button type="submit" className="btn btn-danger" disabled={busy || !reason.trim()}>Deny request</button>
        <button type="button" className="btn btn-ghost" onClick={onCancel}>Cancel</button>
        <span className="muted tiny">Enter to deny · Shift+Enter for a new line · Esc to cancel</span>
      </div>
    </form>
  );
}

export const ApprovalCard = forwardRef<HTMLElement, CardProps>(function ApprovalCard(p, ref) {
  const { a, now } = p;
  const left = new Date(a.expiresAt).getTime() - now;
  const expired = left <= 0;
  return (
    <article
      ref={ref}
      className={`card approval${p.selected ? ' selected' : ''}${p.linked ? ' linked' : ''}`}
      aria-label={`Approval ${toolLabel(a.tool, a.action)} for ${a.tenant}`}
      data-approval-id={a.id}
      tabIndex={-1}
      onMouseDown={p.onSelect}
      onFocus={p.onSelect}
    >
      <header className="card-head">
        <div className="card-title">
          <span className="mono strong">{toolLabel(a.tool, a.action)}</span>
          <Badge tone="warn">tier 3</Badge>
          <Badge tone="accent">{a.tenant}</Badge>
          {a.status !== 'pending' ? <StatusBadge status={a.status} /> : null}
        </div>
        <div className={`countdown${expired ? ' expired' : left < 120_000 ? ' urgent' : ''}`} title={`Expires ${dateTime(a.expiresAt)}`} data-testid="countdown">
          {expired ? 'expired' : `expires in ${countdown(a.expiresAt, now)}`}
        </div>
      </header>
      <div className="card-meta">
        <span>Requested by <strong>{a.keyName ?? a.keyId}</strong></span>
        <span>via <strong>{a.client ?? 'unknown client'}</strong></span>
        {flowLabel(a.detail.clientFlow) ? <span data-testid="flow">flow: <strong>{flowLabel(a.detail.clientFlow)}</strong></span> : null}
        <span title={dateTime(a.createdAt)}>{ago(a.createdAt, now)}</span>
        <span className="mono muted" title="Approval id">{a.id.slice(0, 8)}</span>
      </div>
      <p className="card-summary">{a.summary}</p>
      <CardBody a={a} now={now} />
      {p.denying ? (
        <DenyForm onDeny={p.onDeny} onCancel={p.onCancel} busy={p.busy} />
      ) : (
        <footer className="card-actions">
          <button type="button" className={`btn btn-primary${p.armed ? ' armed' : ''}`} disabled={p.busy || expired} onClick={p.onApprove} data-testid="approve">
            {p.armed ? 'Press a or Enter to approve' : 'Approve'}
          </button>
          <button type="button" className="btn btn-danger-outline" disabled={p.busy || expired} onClick={p.onStartDeny} data-testid="deny">Deny…</button>
          {p.armed ? <button type="button" className="btn btn-ghost" onClick={p.onCancel}>Cancel (Esc)</button> : null}
          {p.selected ? <span className="muted tiny keys-hint">j/k move · a approve · d deny</span> : null}
        </footer>
      )}
    </article>
  );
});
