// Decided, expired and cancelled requests, newest first, with the same facts the card showed.
import { Fragment, useEffect, useState } from 'react';
import { APPROVAL_STATUSES, type ApprovalT } from '../../../src-main/console/contract.ts';
import { api } from '../../api/index.ts';
import { useApprovals } from '../../store/approvals.ts';
import { errorText } from '../../store/toasts.ts';
import { useNow } from '../../lib/hooks.ts';
import { ago, dateTime, toolLabel } from '../../lib/format.ts';
import { StatusBadge } from '../../components/Badge.tsx';
import { JsonView } from '../../components/Code.tsx';
import { Empty, ErrorBox, Loading } from '../../components/States.tsx';
import { CardBody } from './CardSections.tsx';

const DONE = APPROVAL_STATUSES.filter((s) => s !== 'pending');

function outcomeText(a: ApprovalT): string {
  if (a.status === 'denied') return a.reason ?? 'denied';
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
      <table className="table table-rows" aria-label="Decided approvals">
        <thead>
          <tr><th>Requested</th><th>Tool</th><th>Tenant</th><th>Key · client</th><th>Status</th><th>Decided</th><th>Outcome</th></tr>
        </thead>
        <tbody>
          {rows.map((a) => (
            <Fragment key={a.id}>
              <tr
                className={`clickable${open === a.id ? ' selected' : ''}`} tabIndex={0} aria-expanded={open === a.id}
                onClick={() => setOpen(open === a.id ? null : a.id)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' || e.key === ' ') {
                    e.preventDefault();
                    setOpen(open === a.id ? null : a.id);
                  }
                }}
              >
                <td title={dateTime(a.createdAt)} className="nowrap">{ago(a.createdAt, now)}</td>
                <td className="mono nowrap">{toolLabel(a.tool, a.action)}</td>
                <td className="nowrap">{a.tenant}</td>
                <td className="ellipsis" title={a.client ?? undefined}>{a.keyName ?? '—'} <span className="muted">· {a.client ?? '—'}</span></td>
                <td><StatusBadge status={a.status} /></td>
                <td className="nowrap" title={dateTime(a.decidedAt)}>{a.decidedAt ? `${a.decidedBy ?? ''} · ${ago(a.decidedAt, now)}` : '—'}</td>
                <td className="ellipsis" title={outcomeText(a)}>{outcomeText(a)}</td>
              </tr>
              {open === a.id ? (
                <tr className="expanded">
                  <td colSpan={7}>
                    <p className="card-summary">{a.summary}</p>
                    <CardBody a={a} now={now} />
                    {a.result !== null ? (
                      <details className="details"><summary>Result</summary><JsonView value={a.result} maxHeight={240} /></details>
                    ) : null}
                  </td>
                </tr>
              ) : null}
            </Fragment>
          ))}
        </tbody>
      </table>
      <div className="table-foot">
        {state.error ? <span className="danger-text">{errorText(state.error)}</span> : null}
        {next ? <button type="button" className="btn btn-small" disabled={state.loading} onClick={() => void load(next)}>Load older</button> : <span className="muted tiny">End of history</span>}
      </div>
    </div>
  );
}
