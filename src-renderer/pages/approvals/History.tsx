// Decided, expired and cancelled requests, newest first, with the same facts the card showed.
import { Fragment, useEffect, useState } from 'react';
import { APPROVAL_STATUSES, FAST_DECISION_MS, type ApprovalT } from '../../../src-main/console/contract.ts';
import { api } from '../../api/index.ts';
import { useApprovals } from '../../store/approvals.ts';
import { errorText } from '../../store/toasts.ts';
import { useNow } from '../../lib/hooks.ts';
import { ago, dateTime, ms, toolLabel } from '../../lib/format.ts';
import { Badge, StatusBadge } from '../../components/Badge.tsx';
import { JsonView } from '../../components/Code.tsx';
import { Empty, ErrorBox, Loading } from '../../components/States.tsx';
import { CardBody } from './CardSections.tsx';
import { ScrollBox } from '../../components/ScrollBox.tsx';

const DONE = APPROVAL_STATUSES.filter((s) => s !== 'pending');

function outcomeText(a: ApprovalT): string {
  if (a.status === 'denied') return a.decisionCode && a.decisionCode !== 'APPROVAL_DENIED' ? `${a.decisionCode}: ${a.reason ?? ''}` : a.reason ?? 'denied';
  if (a.status === 'expired') return 'expired without a decision; nothing ran';
  if (a.status === 'cancelled') return 'withdrawn by the requesting key';
  const r = a.result as { commands?: unknown[]; note?: string } | null;
  if (r && Array.isArray(r.commands)) return `${r.commands.length} command(s) queued${r.note ? ` · ${r.note}` : ''}`;
  return a.status;
}

export function History() {
  const version = useApprovals((s) => s.decidedVersion);
  const now = useNow(30_000);
  const [rows, setRows] = useState<ApprovalT[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [state, setState] = useState<{ loading: boolean; error: unknown }>({ loading: true, error: null });
  const [open, setOpen] = useState<string | null>(null);

  const load = async (before?: string) => {
    setState({ loading: true, error: null });
    try {
      const r = await api.listApprovals({ status: [...DONE], limit: 50, before });
      setRows((old) => (before ? [...old, ...r.approvals] : r.approvals));
      setNext(r.nextBefore);
      setState({ loading: false, error: null });
    } catch (e) {
      setState({ loading: false, error: e });
    }
  };
  useEffect(() => {
    void load();
  }, [version]);

  if (state.error && !rows.length) return <ErrorBox error={state.error} onRetry={() => void load()} />;
  if (state.loading && !rows.length) return <Loading what="decided requests" />;
  if (!rows.length) return <Empty title="No decided requests yet">Approved, denied, expired and cancelled requests are kept here.</Empty>;
  return (
    <div className="panel">
      <ScrollBox label="Decided approvals">
        <table className="table table-rows sticky-first" aria-label="Decided approvals">
          <thead>
            <tr><th scope="col">Tool</th><th scope="col">Requested</th><th scope="col">Tenant</th><th scope="col">Key · client</th><th scope="col">Status</th><th scope="col">Decided</th><th scope="col">Outcome</th></tr>
          </thead>
          <tbody>
            {rows.map((a) => {
              const expanded = open === a.id;
              const toggle = () => setOpen(expanded ? null : a.id);
              return (
                <Fragment key={a.id}>
                  {/* The disclosure is the button in the first cell; a click anywhere on the row does the same for the mouse. */}
                  <tr className={`clickable${expanded ? ' selected' : ''}`} onClick={toggle}>
                    <td className="mono nowrap">
                      <button type="button" className="link-btn" aria-expanded={expanded} aria-controls={`history-${a.id}`} onClick={(e) => {
                        e.stopPropagation();
                        toggle();
                      }}>{toolLabel(a.tool, a.action)}</button>
                    </td>
                    <td title={dateTime(a.createdAt)} className="nowrap">{ago(a.createdAt, now)}</td>
                    <td className="nowrap">{a.tenant}</td>
                    <td><div className="ellipsis">{a.keyName ?? '—'}</div><div className="muted tiny ellipsis" title={a.client ?? undefined}>{a.client ?? '—'}</div></td>
                    <td><StatusBadge status={a.status} /></td>
                    <td title={dateTime(a.decidedAt)}>{a.decidedAt ? <>
                      <div className="nowrap">{ago(a.decidedAt, now)}</div>
                      <div className="muted tiny nowrap">{a.decidedBy ?? ''}</div>
                      {a.decisionMs !== null ? (
                        <div className="muted tiny nowrap" title="How long the card was on screen before the decision">
                          {ms(a.decisionMs)}{a.decisionMs < FAST_DECISION_MS && a.status !== 'denied' ? <> <Badge tone="warn" title="Approved less than 2 s after the card was shown">fast</Badge></> : null}
                        </div>
                      ) : null}
                    </> : '—'}</td>
                    <td className="ellipsis rest" title={outcomeText(a)}>{outcomeText(a)}</td>
                  </tr>
                  {expanded ? (
                    <tr className="expanded" id={`history-${a.id}`}>
                      <td colSpan={7}>
                        <p className="card-summary">{a.summary}</p>
                        <CardBody a={a} now={now} />
                        {a.result !== null ? (
                          <details className="details"><summary>Result</summary><JsonView value={a.result} maxHeight={240} label="Result" /></details>
                        ) : null}
                      </td>
                    </tr>
                  ) : null}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      </ScrollBox>
      <div className="table-foot">
        {state.error ? <span className="danger-text">{errorText(state.error)}</span> : null}
        {next ? <button type="button" className="btn btn-small" disabled={state.loading} onClick={() => void load(next)}>Load older</button> : <span className="muted tiny">End of history</span>}
      </div>
    </div>
  );
}
