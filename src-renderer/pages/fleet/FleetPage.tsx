import { ALERT_SEVERITIES, PATCH_SEVERITIES, type FleetTenantT } from '../../../src-main/console/contract.ts';
import { api } from '../../api/index.ts';
import { useAsync } from '../../lib/hooks.ts';
import { num, time, utc } from '../../lib/format.ts';
import { Badge } from '../../components/Badge.tsx';
import { PageHeader } from '../../components/Layout.tsx';
import { Empty, ErrorBox, Loading } from '../../components/States.tsx';
import { FleetCharts } from './FleetCharts.tsx';
import { ScrollBox } from '../../components/ScrollBox.tsx';

function Tile({ label, value, detail, tone }: { label: string; value: number; detail: string; tone?: 'danger' | 'warn' }) {
  return (
    <div className={`tile panel${tone ? ` tile-${tone}` : ''}`}>
      <div className="tile-label">{label}</div>
      <div className="tile-value">{num(value)}</div>
      <div className="tile-detail muted">{detail}</div>
    </div>
  );
}

const sum = (ts: FleetTenantT[], f: (t: FleetTenantT) => number) => ts.reduce((s, t) => s + f(t), 0);

function Counts({ values, keys }: { values: Record<string, number>; keys: readonly string[] }) {
  const shown = keys.filter((k) => values[k]);
  if (!shown.length) return <span className="muted">none</span>;
  return <>{shown.map((k) => <span key={k} className={`sev sev-${k}`} title={k}>{values[k]} {k}</span>)}</>;
}

export function FleetPage() {
  const r = useAsync(() => api.fleet(), []);
  const ts = r.data?.tenants ?? [];
  return (
    <div className="page page-wide">
      <PageHeader
        title="Fleet"
        sub={r.data ? `What the AI sees through the tools, as of ${time(r.data.generatedAt)}.` : 'What the AI sees through the tools.'}
        actions={<button type="button" className="btn btn-small" onClick={r.reload} disabled={r.loading}>Refresh</button>}
      />
      {r.error ? <ErrorBox error={r.error} onRetry={r.reload} /> : null}
      {!r.data ? (r.loading ? <Loading what="the fleet" /> : null) : !ts.length ? (
        <Empty title="No tenants yet">Tenants and their devices come from the RMM; `countersign init --demo` seeds a demo fleet.</Empty>
      ) : (
        <>
          <div className="tiles">
            <Tile label="Tenants" value={ts.length} detail={`${sum(ts, (t) => t.maintenance.inside ? 1 : 0)} inside a maintenance window now`} />
            <Tile label="Devices" value={sum(ts, (t) => t.devices.total)} detail={`${sum(ts, (t) => t.devices.online)} online · ${sum(ts, (t) => t.devices.offline)} offline · ${sum(ts, (t) => t.devices.isolated)} isolated`} />
            <Tile label="Active alerts" value={sum(ts, (t) => t.activeAlerts.total)} tone={sum(ts, (t) => t.activeAlerts.critical) ? 'danger' : undefined}
              detail={`${sum(ts, (t) => t.activeAlerts.critical)} critical · ${sum(ts, (t) => t.activeAlerts.high)} high · ${sum(ts, (t) => t.activeAlerts.acknowledged)} acknowledged`} />
            <Tile label="Pending patch installs" value={sum(ts, (t) => t.pendingPatches.total)} tone={sum(ts, (t) => t.pendingPatches.critical) ? 'warn' : undefined}
              detail={`${sum(ts, (t) => t.pendingPatches.critical)} critical · ${sum(ts, (t) => t.pendingPatches.devicesAffected)} devices · ${sum(ts, (t) => t.pendingPatches.scheduled)} scheduled`} />
            <Tile label="Queued commands" value={sum(ts, (t) => t.pendingCommands)} detail="waiting for the endpoint agent" />
          </div>
          <FleetCharts tenants={ts} />
          <ScrollBox className="panel" label="Tenants">
            <table className="table table-rows sticky-first fleet-table" aria-label="Tenants">
              <thead>
                <tr><th>Tenant</th><th>Devices</th><th>Compliance</th><th>Active alerts</th><th>Pending patches</th><th>Maintenance window (UTC)</th></tr>
              </thead>
              <tbody>
                {ts.map((t) => (
                  <tr key={t.slug}>
                    <td className="nowrap"><div className="strong">{t.name}</div><div className="mono muted tiny">{t.slug}</div></td>
                    <td>
                      <div><strong>{t.devices.total}</strong> · {t.devices.online} online · {t.devices.offline} offline{t.devices.isolated ? <> · <Badge tone="danger">{t.devices.isolated} isolated</Badge></> : null}</div>
                      <div className="muted tiny">{t.byOs.filter((o) => o.total).map((o) => `${o.total} ${o.os}`).join(' · ')}</div>
                    </td>
                    <td className="nowrap">
                      <div>{t.compliance.compliant} compliant</div>
                      {t.compliance.nonCompliant ? <div className="danger-text">{t.compliance.nonCompliant} non-compliant</div> : null}
                      {t.compliance.unknown ? <div className="muted">{t.compliance.unknown} unknown</div> : null}
                    </td>
                    <td><div className="chips"><Counts values={t.activeAlerts} keys={ALERT_SEVERITIES} /></div></td>
                    <td>
                      <div className="chips"><Counts values={t.pendingPatches} keys={PATCH_SEVERITIES} /></div>
                      {t.pendingPatches.total ? <div className="muted tiny">{t.pendingPatches.devicesAffected} devices · {t.pendingPatches.rebootRequired} installs need a reboot</div> : null}
                    </td>
                    <td className="tiny">
                      {t.maintenance.windows.map((w) => <div key={w.name}>{w.schedule}</div>)}
                      {!t.maintenance.windows.length ? <span className="warn-text">no window: patches cannot be scheduled</span> : null}
                      {t.maintenance.inside ? <Badge tone="ok">open now</Badge> : t.maintenance.nextStart ? <div className="muted">next {utc(t.maintenance.nextStart)}</div> : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollBox>
        </>
      )}
    </div>
  );
}
