import { api } from '../../api/index.ts';
import { useAsync } from '../../lib/hooks.ts';
import { dateTime, ms, toolLabel } from '../../lib/format.ts';
import { DecisionBadge, TierBadge } from '../../components/Badge.tsx';
import { JsonView } from '../../components/Code.tsx';
import { Drawer } from '../../components/Overlay.tsx';
import { ErrorBox, Loading } from '../../components/States.tsx';

export function AuditDetail({ seq, onClose }: { seq: number; onClose: () => void }) {
  const r = useAsync(() => api.getAuditEntry({ seq }), [seq]);
  const e = r.data?.entry;
  return (
    <Drawer title={`Audit entry #${seq}`} onClose={onClose}>
      {r.error ? <ErrorBox error={r.error} onRetry={r.reload} /> : !e ? <Loading what="the entry" /> : (
        <>
          <dl className="kv">
            {([
              ['Time', dateTime(e.at)], ['Event', e.event], ['Decision', <DecisionBadge decision={e.decision} code={e.code} />], ['Code', e.code ?? '—'],
              ['Rule', e.rule ?? '—'], ['Tool', toolLabel(e.tool, e.action)], ['Tier', <TierBadge tier={e.tier} />], ['Key', e.keyName ? `${e.keyName} (${e.keyId})` : e.keyId ?? '—'],
              ['Tenant', e.tenant ?? '—'], ['Client', e.client ?? '—'], ['Session', e.sessionId ?? '—'], ['Approval', e.approvalId ?? '—'],
              ['Remote', e.remote ?? '—'], ['Duration', ms(e.durationMs)], ['Outcome', e.outcome ?? '—'],
            ] as [string, React.ReactNode][]).map(([k, v]) => <div key={k} className="kv-row"><dt>{k}</dt><dd>{v}</dd></div>)}
          </dl>
          <h3 className="sub-head">Arguments</h3>
          <JsonView value={e.args} maxHeight={260} label="Arguments" />
          <h3 className="sub-head">Detail</h3>
          <JsonView value={e.detail} maxHeight={260} label="Detail" />
          <h3 className="sub-head">Chain</h3>
          <dl className="kv">
            <div className="kv-row"><dt>Previous hash</dt><dd className="mono hash">{e.prevHash}</dd></div>
            <div className="kv-row"><dt>Hash</dt><dd className="mono hash">{e.hash}</dd></div>
          </dl>
        </>
      )}
    </Drawer>
  );
}
