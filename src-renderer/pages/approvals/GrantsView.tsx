// Standing approvals: the grants technicians made from cards and the plans they approved, each revocable at once.
import { useEffect, useState } from 'react';
import type { GrantViewT, PlanViewT } from '../../../src-main/console/contract.ts';
import { api } from '../../api/index.ts';
import { useVersions } from '../../store/versions.ts';
import { useAsync, useNow } from '../../lib/hooks.ts';
import { ago, countdown, dateTime, toolLabel } from '../../lib/format.ts';
import { Badge, type Tone } from '../../components/Badge.tsx';
import { ConfirmDialog } from '../../components/ConfirmDialog.tsx';
import { Section } from '../../components/Layout.tsx';
import { ScrollBox } from '../../components/ScrollBox.tsx';
import { Empty, ErrorBox, Loading } from '../../components/States.tsx';

const TONE: Record<string, Tone> = { live: 'ok', active: 'ok', completed: 'muted', expired: 'muted', used_up: 'muted', revoked: 'danger', stopped: 'danger', suspended: 'warn', tampered: 'danger' };
const StateBadge = ({ state, reason }: { state: string; reason?: string | null }) => <Badge tone={TONE[state] ?? 'muted'} title={reason ?? undefined}>{state.replace('_', ' ')}</Badge>;

function expiry(iso: string, now: number, live: boolean): string {
  return live ? `in ${countdown(iso, now)}` : dateTime(iso);
}

export function GrantsView() {
  const version = useVersions((s) => s.policy);
  const [all, setAll] = useState(false);
  const r = useAsync(() => api.listGrants({ live: !all }), [version, all]);
  const now = useNow(1000);
  const [revoking, setRevoking] = useState<GrantViewT | null>(null);
  const [stopping, setStopping] = useState<PlanViewT | null>(null);
  const reload = r.reload;
  // Uses and plan steps move with every covered call: re-read while the view is open.
  useEffect(() => {
    const t = setInterval(reload, 5_000);
    return () => clearInterval(t);
  }, [reload]);

  if (r.error && !r.data) return <ErrorBox error={r.error} onRetry={reload} />;
  if (!r.data) return <Loading what="grants and plans" />;
  const { grants, plans } = r.data;
  return (
    <div data-testid="grants-view">
      <label className="check"><input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} /> Also show ended grants and plans</label>
      <Section title="Grants">
        {!grants.length ? <Empty title={all ? 'No grants yet' : 'No live grants'}>"Approve and allow similar…" on a card makes one: calls inside it then run without a card.</Empty> : (
          <ScrollBox label="Grants">
            <table className="table table-rows sticky-first" aria-label="Grants">
              <thead><tr><th scope="col">Covers</th><th scope="col">Key</th><th scope="col">Tenant</th><th scope="col" className="num">Uses</th><th scope="col">Expires</th><th scope="col">State</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
              <tbody>
                {grants.map((g) => (
                  <tr key={g.id} data-testid="grant-row" data-grant-id={g.id}>
                    <td><div className="mono strong">{toolLabel(g.tool, g.action)}</div><div className="muted tiny wrap">{g.description}</div><div className="muted tiny mono">{g.id.slice(0, 8)} · made {ago(g.createdAt, now)} by {g.createdBy}</div></td>
                    <td>{g.keyName ?? g.keyId}</td>
                    <td className="nowrap">{g.tenant}</td>
                    <td className="num mono">{g.uses}{g.maxUses !== null ? ` / ${g.maxUses}` : ''}</td>
                    <td className="nowrap" title={dateTime(g.expiresAt)}>{expiry(g.expiresAt, now, g.state === 'live' || g.state === 'suspended')}</td>
                    <td><StateBadge state={g.state} reason={g.reason} />{g.reason && g.state !== 'live' ? <div className="muted tiny wrap">{g.reason}</div> : null}</td>
                    <td>{g.state === 'live' || g.state === 'suspended' ? <button type="button" className="btn btn-small btn-danger-outline" onClick={() => setRevoking(g)}>Revoke…</button> : null}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollBox>
        )}
      </Section>
      <Section title="Approved plans">
        {!plans.length ? <Empty title={all ? 'No plans yet' : 'No active plans'}>A model proposes one with propose_plan; approving its card starts it.</Empty> : (
          <ScrollBox label="Approved plans">
            <table className="table table-rows sticky-first" aria-label="Approved plans">
              <thead><tr><th scope="col">Goal</th><th scope="col">Key</th><th scope="col">Tenant</th><th scope="col" className="num">Steps done</th><th scope="col">Expires</th><th scope="col">State</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
              <tbody>
                {plans.map((p) => (
                  <tr key={p.id} data-testid="plan-row" data-plan-id={p.id}>
                    <td><div className="wrap">{p.goal}</div><div className="muted tiny">{p.steps.map((s) => toolLabel(s.tool, s.action)).join(' → ')}</div></td>
                    <td>{p.keyName ?? p.keyId}</td>
                    <td className="nowrap">{p.tenant}</td>
                    <td className="num mono">{p.nextStep} / {p.stepCount}</td>
                    <td className="nowrap" title={dateTime(p.expiresAt)}>{expiry(p.expiresAt, now, p.state === 'active')}</td>
                    <td><StateBadge state={p.state} reason={p.endReason} />{p.endReason ? <div className="muted tiny wrap">{p.endReason}</div> : null}</td>
                    <td>{p.state === 'active' ? <button type="button" className="btn btn-small btn-danger-outline" onClick={() => setStopping(p)}>Stop…</button> : null}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollBox>
        )}
      </Section>
      {revoking ? (
        <ConfirmDialog title={`Revoke the grant for ${toolLabel(revoking.tool, revoking.action)}?`} action="Revoke grant" onClose={(done) => { setRevoking(null); if (done) reload(); }}
          run={async () => { await api.revokeGrant({ id: revoking.id }); return `Grant revoked: the next ${revoking.tool} call gets a card.`; }}>
          <p>{revoking.keyName ?? revoking.keyId} on {revoking.tenant}: {revoking.description}.</p>
          <p>It stops at once: the next call it would have covered gets a card.</p>
        </ConfirmDialog>
      ) : null}
      {stopping ? (
        <ConfirmDialog title="Stop this plan?" action="Stop plan" onClose={(done) => { setStopping(null); if (done) reload(); }}
          run={async () => { await api.stopPlan({ id: stopping.id }); return 'Plan stopped: its remaining steps get cards.'; }}>
          <p>{stopping.goal}</p>
          <p>{stopping.stepCount - stopping.nextStep} step(s) left; each will need its own card.</p>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}
