// Two or three small stacked bar charts: what the AI sees, per tenant, at a glance.
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { ALERT_SEVERITIES, PATCH_SEVERITIES, type FleetTenantT } from '../../../src-main/console/contract.ts';

const COLORS: Record<string, string> = {
  windows: 'var(--c-1)', macos: 'var(--c-2)', linux: 'var(--c-3)',
  critical: 'var(--sev-critical)', high: 'var(--sev-high)', important: 'var(--sev-high)', medium: 'var(--sev-medium)', moderate: 'var(--sev-medium)',
  low: 'var(--sev-low)', info: 'var(--sev-info)',
};

const axis = { fill: 'var(--muted)', fontSize: 11 };
const tooltip = {
  contentStyle: { background: 'var(--panel)', border: '1px solid var(--border)', borderRadius: 6, fontSize: 12, color: 'var(--text)' },
  labelStyle: { color: 'var(--text)', fontWeight: 600 },
  cursor: { fill: 'var(--hover)' },
};

function Stacked({ title, data, keys, label }: { title: string; data: Record<string, string | number>[]; keys: readonly string[]; label: string }) {
  const total = data.reduce((s, d) => s + keys.reduce((t, k) => t + Number(d[k] ?? 0), 0), 0);
  return (
    <figure className="chart panel" aria-label={`${title}: ${total} ${label}`}>
      <figcaption className="chart-title">{title} <span className="muted">· {total}</span></figcaption>
      <ResponsiveContainer width="100%" height={200}>
        <BarChart data={data} margin={{ top: 6, right: 8, bottom: 0, left: -18 }} barCategoryGap="28%">
          <CartesianGrid vertical={false} stroke="var(--border)" />
          <XAxis dataKey="tenant" interval={0} tick={axis} tickLine={false} axisLine={{ stroke: 'var(--border)' }} />
          <YAxis allowDecimals={false} tick={axis} tickLine={false} axisLine={false} />
          <Tooltip {...tooltip} />
          <Legend itemSorter={null} iconSize={8} wrapperStyle={{ fontSize: 11, color: 'var(--muted)' }} />
          {keys.map((k) => <Bar key={k} dataKey={k} stackId="s" fill={COLORS[k] ?? 'var(--accent)'} isAnimationActive={false} />)}
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
}

export function FleetCharts({ tenants }: { tenants: FleetTenantT[] }) {
  const os = tenants.map((t) => ({ tenant: t.slug, ...Object.fromEntries(t.byOs.map((o) => [o.os, o.total])) }));
  const alerts = tenants.map((t) => ({ tenant: t.slug, ...Object.fromEntries(ALERT_SEVERITIES.map((s) => [s, t.activeAlerts[s]])) }));
  const patches = tenants.map((t) => ({ tenant: t.slug, ...Object.fromEntries(PATCH_SEVERITIES.map((s) => [s, t.pendingPatches[s]])) }));
  return (
    <div className="charts">
      <Stacked title="Devices by OS" data={os} keys={['windows', 'macos', 'linux']} label="devices" />
      <Stacked title="Active alerts by severity" data={alerts} keys={ALERT_SEVERITIES} label="alerts" />
      <Stacked title="Pending patches by severity" data={patches} keys={PATCH_SEVERITIES} label="installs" />
    </div>
  );
}
