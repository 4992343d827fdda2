import { forwardRef, useEffect, useRef, useState, type FormEvent } from 'react';
import type { ApprovalT } from '../../../src-main/console/contract.ts';
import { Badge, StatusBadge } from '../../components/Badge.tsx';
import { ago, countdown, dateTime, flowLabel, toolLabel } from '../../lib/format.ts';
import { keyHint, useShortcutMode } from '../../lib/shortcuts.ts';
import { CardBody, HiddenTextBanner } from './CardSections.tsx';
import { VisibleText } from '../../components/VisibleText.tsx';

export interface CardProps {
  a: ApprovalT;
  now: number;
  selected: boolean;
  armed: boolean;
  denying: boolean;
  busy: boolean;
  onSelect(): void;
  onApprove(): void;
  /** "Approve and allow similar…": opens the grant dialog (offered only where the card allows a grant). */
  onApproveSimilar(): void;
  onStartDeny(): void;
  onDeny(reason: string): void;
  /** Backs out of the armed approve or the deny form. */
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

function keysHint(mode: ReturnType<typeof useShortcutMode.getState>['mode']): string {
  if (mode === 'off') return 'single-key shortcuts are off (? lists them)';
  const k = (key: string) => (mode === 'alt' ? `Alt+${key}` : key);
  return `${k('j')}/${k('k')} move · ${k('a')} approve · ${k('d')} deny · ${k('?')} all shortcuts`;
}

export const ApprovalCard = forwardRef<HTMLElement, CardProps>(function ApprovalCard(p, ref) {
  const { a, now } = p;
  const mode = useShortcutMode((s) => s.mode);
  const left = new Date(a.expiresAt).getTime() - now;
  const expired = left <= 0;
  const tampered = a.integrity === 'tampered';
  return (
    <article
      ref={ref}
      className={`card approval${p.selected ? ' selected' : ''}${p.armed ? ' armed' : ''}${p.linked ? ' linked' : ''}`}
      aria-label={`Approval ${toolLabel(a.tool, a.action)} for ${a.tenant}`}
      aria-current={p.selected ? 'true' : undefined}
      data-approval-id={a.id}
      tabIndex={-1}
      onMouseDown={p.onSelect}
      onFocus={p.onSelect}
      onKeyDown={(e) => {
        // Esc backs out from anywhere within the card, the deny form's text field included.
        if (e.key === 'Escape' && (p.armed || p.denying)) {
          e.preventDefault();
          e.stopPropagation();
          p.onCancel();
        }
      }}
      onBlur={(e) => {
        // The armed approve belongs to this card: it lapses when the focus leaves it.
        if (p.armed && !(e.relatedTarget instanceof Node && e.currentTarget.contains(e.relatedTarget))) p.onCancel();
      }}
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
      {tampered ? (
        <div className="banner banner-danger" role="alert" data-testid="tampered">
          <strong>Tampered.</strong> What is stored for this request no longer matches what was requested (its binding does not hold): the
          details below cannot be trusted and it cannot be approved. Deny it, and check who can write Countersign's data directory.
        </div>
      ) : null}
      {a.fourEyes ? (
        <div className="banner" role="status" data-testid="four-eyes">
          <strong>Four-eyes: {a.fourEyes.required} technicians must approve.</strong>{' '}
          {a.fourEyes.approvedBy.length ? `Approved by ${a.fourEyes.approvedBy.map((v) => v.name).join(', ')}. ` : 'No approval yet. '}
          {a.fourEyes.needed > 0 ? `${a.fourEyes.needed} more needed; the technician whose key asked cannot be one of them.` : null}
        </div>
      ) : null}
      <HiddenTextBanner hidden={a.view.hiddenText} />
      <p className="card-summary"><VisibleText text={a.summary} /></p>
      <CardBody a={a} now={now} />
      {p.denying ? (
        <DenyForm onDeny={p.onDeny} onCancel={p.onCancel} busy={p.busy} />
      ) : (
        <footer className="card-actions">
          <button
            type="button" className={`btn btn-primary${p.armed ? ' armed' : ''}`} disabled={p.busy || expired || tampered} onClick={p.onApprove} data-testid="approve"
            aria-keyshortcuts={keyHint('a', mode)}
          >
            {p.armed ? `Press ${mode === 'alt' ? 'Alt+a' : 'a'} or Enter to approve` : 'Approve'}
          </button>
          {a.grantOffer && !tampered ? (
            <button type="button" className="btn" disabled={p.busy || expired} onClick={p.onApproveSimilar} data-testid="approve-grant">Approve and allow similar…</button>
          ) : null}
          <button type="button" className="btn btn-danger-outline" disabled={p.busy || expired} onClick={p.onStartDeny} data-testid="deny" aria-keyshortcuts={keyHint('d', mode)}>
            Deny…
          </button>
          {p.armed ? <button type="button" className="btn" onClick={p.onCancel} aria-keyshortcuts="Escape">Cancel (Esc)</button> : null}
          {p.selected ? <span className="muted tiny keys-hint">{keysHint(mode)}</span> : null}
        </footer>
      )}
    </article>
  );
});
