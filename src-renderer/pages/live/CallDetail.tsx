import type { LiveCallT } from '../../../src-main/console/contract.ts';
import { api } from '../../api/index.ts';
import { useAsync } from '../../lib/hooks.ts';
import { ErrorBox, Loading } from '../../components/States.tsx';
import { dateTime, ms, toolLabel } from '../../lib/format.ts';
import { DecisionBadge, TierBadge } from '../../components/Badge.tsx';
import { JsonView } from '../../components/Code.tsx';
import { Drawer } from '../../components/Overlay.tsx';

/** The feed carries a summary; the call's arguments are loaded whole from its audit entry when the drawer opens. */
export function CallDetail({ call: c, onClose }: { call: LiveCallT; onClose: () => void }) {
  const entry = useAsync(() => api.getAuditEntry({ seq: c.seq }), [c.seq]);
  const rows: [string, React.ReactNode][] = [
    ['Time', dateTime(c.at)],
    ['Decision', <DecisionBadge decision={c.decision} code={c.code} />],
    ['Tier', <TierBadge tier={c.tier} />],
    ['Key', c.keyName ? `${c.keyName} (${c.keyId})` : '—'],
    ['Client', c.client ?? '—'],
    ['Tenant', c.tenant ?? '—'],
    ['Devices', c.deviceCount ?? '—'],
    ['Duration', ms(c.durationMs)],
    ['Remote', c.remote ?? '—'],
    ['Session', c.sessionId ?? '—'],
    ['Audit entry', `#${c.seq}`],
  ];
  if (c.approvalId) rows.push(['Approval', <a href="#/approvals">{c.approvalId}</a>]);
  if (c.grantId) rows.push(['Grant', <span className="mono" data-testid="call-grant">{c.grantId}</span>]);
  if (c.planId) rows.push(['Plan', <span className="mono">{c.planId} · step {c.planStep}</span>]);
  return (
    <Drawer title={<span className="mono">{toolLabel(c.tool, c.action)}</span>} onClose={onClose}>
      <dl className="kv">
        {rows.map(([k, v]) => <div key={k} className="kv-row"><dt>{k}</dt><dd>{v}</dd></div>)}
      </dl>
      <h3 className="sub-head">Result</h3>
      <p className={c.decision === 'denied' || c.decision === 'failed' ? 'danger-text' : ''} data-testid="call-outcome">
        {c.code ? <strong className="mono">{c.code}: </strong> : null}{c.outcome ?? '—'}
      </p>
      <h3 className="sub-head">Arguments</h3>
      {entry.error ? <ErrorBox error={entry.error} onRetry={entry.reload} /> : !entry.data ? <Loading what="the arguments" /> : (
        <div data-testid="call-args"><JsonView value={entry.data.entry.args} label="Arguments" /></div>
      )}
      <p className="muted tiny">{c.argsBytes === null ? 'No arguments stored.' : `${c.argsBytes.toLocaleString()} bytes stored`} · entry hash <span className="mono">{c.hash.slice(0, 16)}…</span></p>
    </Drawer>
  );
}
