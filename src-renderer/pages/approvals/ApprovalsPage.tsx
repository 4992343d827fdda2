import { useEffect, useRef, useState } from 'react';
import type { ApprovalT } from '../../../src-main/console/contract.ts';
import { api, mode } from '../../api/index.ts';
import { useApprovals } from '../../store/approvals.ts';
import { errorText, toast } from '../../store/toasts.ts';
import { useNow } from '../../lib/hooks.ts';
import { useHotkeys } from '../../lib/shortcuts.ts';
import { notificationsSupported } from '../../lib/browser.ts';
import { toolLabel } from '../../lib/format.ts';
import { useRouteId } from '../../lib/router.ts';
import { PageHeader } from '../../components/Layout.tsx';
import { Empty, ErrorBox, Loading } from '../../components/States.tsx';
import { ApprovalCard } from './ApprovalCard.tsx';
import { History } from './History.tsx';
import { GrantDialog, type GrantDraftT } from './GrantDialog.tsx';
import { HiddenConfirm } from './HiddenConfirm.tsx';
import { GrantsView } from './GrantsView.tsx';
import { DecisionTimes } from './DecisionTimes.tsx';

function NotificationButton() {
  const [perm, setPerm] = useState(() => (notificationsSupported() ? Notification.permission : 'denied'));
  if (mode !== 'web' || !notificationsSupported() || perm !== 'default') return null;
  return (
    <button type="button" className="btn btn-small" onClick={() => void Notification.requestPermission().then(setPerm)}>
      Notify me of new requests
    </button>
  );
}

type FocusNext = { id: string; on: 'card' | 'approve' | 'deny' } | 'next' | null;
const onCardOrPage = (e: KeyboardEvent) => e.target === document.body || (e.target instanceof HTMLElement && e.target.matches('article.approval'));
const motion = (): ScrollBehavior => (window.matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth');

/** A linked approval that is not (or no longer) waiting: what became of it, instead of a card that is not there. */
function LinkedNotice({ id }: { id: string }) {
  const [a, setA] = useState<ApprovalT | null | 'missing'>(null);
  useEffect(() => {
    let live = true;
    api.getApproval({ id }).then((r) => live && setA(r.approval), () => live && setA('missing'));
    return () => {
      live = false;
    };
  }, [id]);
  if (a === null) return null;
  return (
    <p className="notice" role="status" data-testid="linked-notice">
      {a === 'missing'
        ? `There is no approval ${id}.`
        : `${toolLabel(a.tool, a.action)} on ${a.tenant} (${id.slice(0, 8)}) is ${a.status}${a.decidedBy ? ` (decided by ${a.decidedBy})` : ''}; it is in the History tab.`}
    </p>
  );
}

function PendingQueue({ linked }: { linked: string | null }) {
  const { pending, loaded, error, load } = useApprovals();
  const now = useNow(1000);
  const [selected, setSelected] = useState(0);
  const [armed, setArmed] = useState<string | null>(null);
  const [denying, setDenying] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  // The dialogs a decision can need: the grant's envelope, the second confirmation of hidden characters.
  const [grantFor, setGrantFor] = useState<string | null>(null);
  const [confirmFor, setConfirmFor] = useState<string | null>(null);
  // When each card was first on screen: the decision's time on screen is measured from it.
  const shownAt = useRef(new Map<string, number>());
  const refs = useRef(new Map<string, HTMLElement>());
  const emptyRef = useRef<HTMLDivElement>(null);
  // Where the focus goes once the render that follows an action is on screen.
  const focusNext = useRef<FocusNext>(null);
  const index = Math.min(selected, Math.max(0, pending.length - 1));
  const current = pending[index];
  const linkedIndex = linked ? pending.findIndex((a) => a.id === linked) : -1;

  // A link to one card (#/approvals/<id>) selects and focuses it once the queue holds it.
  useEffect(() => {
    if (linkedIndex < 0) return;
    setSelected(linkedIndex);
    const el = refs.current.get(pending[linkedIndex]!.id);
    el?.scrollIntoView({ block: 'center' });
    el?.focus();
  }, [linkedIndex]);

  useEffect(() => {
    if (armed && !pending.some((a) => a.id === armed)) setArmed(null);
    if (denying && !pending.some((a) => a.id === denying)) setDenying(null);
    if (grantFor && !pending.some((a) => a.id === grantFor)) setGrantFor(null);
    if (confirmFor && !pending.some((a) => a.id === confirmFor)) setConfirmFor(null);
    const t = performance.now();
    for (const a of pending) if (!shownAt.current.has(a.id)) shownAt.current.set(a.id, t);
  }, [pending, armed, denying, grantFor, confirmFor]);

  useEffect(() => {
    const f = focusNext.current;
    if (!f) return;
    focusNext.current = null;
    if (f === 'next') {
      const a = pending[index];
      (a ? refs.current.get(a.id) : emptyRef.current)?.focus();
      return;
    }
    const card = refs.current.get(f.id);
    const el = f.on === 'card' ? card : card?.querySelector<HTMLElement>(`[data-testid="${f.on}"]`);
    el?.focus();
  });

  const move = (d: number) => {
    const next = Math.max(0, Math.min(pending.length - 1, index + d));
    setSelected(next);
    setArmed(null);
    const el = pending[next] ? refs.current.get(pending[next].id) : undefined;
    // The focus moves with the selection, so a screen reader reads the card.
    el?.focus({ preventScroll: true });
    el?.scrollIntoView({ block: 'nearest', behavior: motion() });
  };

  const decide = async (id: string, what: 'approve' | 'deny', o: { reason?: string; confirmHiddenText?: boolean; grant?: GrantDraftT } = {}) => {
    setBusy(id);
    const seen = shownAt.current.get(id);
    const viewedMs = seen === undefined ? undefined : Math.round(performance.now() - seen);
    try {
      const { approval } = what === 'approve'
        ? await api.approve({ id, viewedMs, confirmHiddenText: o.confirmHiddenText, grant: o.grant })
        : await api.deny({ id, reason: o.reason!, viewedMs });
      focusNext.current = 'next';
      // Four-eyes: an approval that still needs other technicians stays in the queue, showing who approved.
      const partial = approval.status === 'pending' && approval.fourEyes && approval.fourEyes.needed > 0;
      if (partial) useApprovals.getState().created(approval);
      else useApprovals.getState().decided(approval);
      toast('ok', partial
        ? `Approved: ${toolLabel(approval.tool, approval.action)} on ${approval.tenant} needs ${approval.fourEyes!.needed} more technician(s)`
        : `${what === 'approve' ? 'Approved' : 'Denied'}: ${toolLabel(approval.tool, approval.action)} on ${approval.tenant} → ${approval.status}${o.grant ? '; similar calls now run under a grant' : ''}`);
    } catch (e) {
      focusNext.current = { id, on: 'card' };
      toast('danger', `Could not ${what}: ${errorText(e)}`);
      void load();
    } finally {
      setBusy(null);
      setArmed(null);
      setDenying(null);
      setGrantFor(null);
      setConfirmFor(null);
    }
  };

  /** Approve, or (for a card with hidden characters) ask for the second confirmation first. */
  const approve = (a: ApprovalT) => {
    if (a.view.hiddenText.count > 0) {
      setArmed(null);
      setConfirmFor(a.id);
    } else void decide(a.id, 'approve');
  };

  const arm = (id: string) => {
    setArmed(id);
    focusNext.current = { id, on: 'approve' };
  };
  const startDeny = (id: string) => {
    setArmed(null);
    setDenying(id);
  };
  const cancel = (id: string) => {
    // Back out of the deny form to its Deny button; out of an armed approve to the card, where Enter does nothing.
    if (denying === id) focusNext.current = { id, on: 'deny' };
    else if (armed === id && refs.current.get(id)?.contains(document.activeElement)) focusNext.current = { id, on: 'card' };
    setArmed(null);
    setDenying(null);
  };

  useHotkeys({
    j: () => move(1),
    k: () => move(-1),
    // Arrows move the selection only from a card or the page: in a scrolling code block they scroll it.
    ArrowDown: (e) => {
      if (!onCardOrPage(e)) return false;
      move(1);
    },
    ArrowUp: (e) => {
      if (!onCardOrPage(e)) return false;
      move(-1);
    },
    a: () => {
      // A tampered request cannot be approved: its card says why, and only Deny is offered.
      if (!current || busy || current.integrity === 'tampered') return;
      if (armed === current.id) approve(current);
      else arm(current.id);
    },
    d: () => {
      if (current && !busy) startDeny(current.id);
    },
    Escape: () => {
      if (!armed) return false;
      cancel(armed);
    },
  }, denying === null);

  const grantCard = grantFor ? pending.find((a) => a.id === grantFor) : undefined;
  const confirmCard = confirmFor ? pending.find((a) => a.id === confirmFor) : undefined;
  if (!loaded) return <Loading what="the approval queue" />;
  if (error) return <ErrorBox error={error} onRetry={() => void load()} />;
  const notice = linked && linkedIndex < 0 ? <LinkedNotice id={linked} /> : null;
  if (!pending.length) {
    return notice ?? (
      <div ref={emptyRef} tabIndex={-1}>
        <Empty title="No requests waiting">
          Tier-3 calls (scripts, reboots, patch deployments) appear here the moment an AI client makes them.
        </Empty>
      </div>
    );
  }
  return (
    <section className="queue" aria-label="Pending approvals">
      {notice}
      {pending.map((a, i) => (
        <ApprovalCard
          key={a.id}
          ref={(el) => {
            if (el) refs.current.set(a.id, el);
            else refs.current.delete(a.id);
          }}
          a={a}
          now={now}
          selected={i === index}
          linked={a.id === linked}
          armed={armed === a.id}
          denying={denying === a.id}
          busy={busy === a.id}
          onSelect={() => setSelected(i)}
          onApprove={() => approve(a)}
          onApproveSimilar={() => {
            setSelected(i);
            setArmed(null);
            setGrantFor(a.id);
          }}
          onStartDeny={() => {
            setSelected(i);
            startDeny(a.id);
          }}
          onDeny={(reason) => void decide(a.id, 'deny', { reason })}
          onCancel={() => cancel(a.id)}
        />
      ))}
      {grantCard ? <GrantDialog a={grantCard} busy={busy !== null} onCancel={() => setGrantFor(null)} onConfirm={(grant) => void decide(grantCard.id, 'approve', { grant })} /> : null}
      {confirmCard ? <HiddenConfirm a={confirmCard} busy={busy !== null} onCancel={() => setConfirmFor(null)} onConfirm={() => void decide(confirmCard.id, 'approve', { confirmHiddenText: true })} /> : null}
    </section>
  );
}

const TABS = [['pending', 'Pending'], ['history', 'History'], ['grants', 'Grants'], ['times', 'Decision times']] as const;
type Tab = (typeof TABS)[number][0];

export function ApprovalsPage() {
  const [tab, setTab] = useState<Tab>('pending');
  const linked = useRouteId();
  const count = useApprovals((s) => s.pending.length);
  return (
    <div className="page">
      <PageHeader
        title="Approvals"
        sub="Tier-3 requests wait here until you approve or deny them. Nothing runs before you decide; expiry fails closed."
        actions={<NotificationButton />}
      />
      <div className="tabs" role="tablist" aria-label="Approval lists">
        {TABS.map(([t, label]) => (
          <button key={t} type="button" role="tab" aria-selected={tab === t} className={`tab${tab === t ? ' active' : ''}`} onClick={() => setTab(t)}>
            {label}{t === 'pending' ? <> <span className="tab-count" data-testid="pending-count">{count}</span></> : null}
          </button>
        ))}
      </div>
      {tab === 'pending' ? <PendingQueue linked={linked} /> : tab === 'history' ? <History /> : tab === 'grants' ? <GrantsView /> : <DecisionTimes />}
    </div>
  );
}
