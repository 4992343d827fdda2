// Simulate before applying: the unsaved settings above, a draft set of tier overrides and the grants, replayed by the
// server over the tool calls of the last N days with the gate's own decision code. The result says how many calls would
// have run, needed a card or been denied, per tool and key, with examples; then apply the draft or discard it.
import { useState } from 'react';
import type { ConsoleOutput, PolicyValuesT, PolicyViewT, TenantRefT } from '../../../src-main/console/contract.ts';
import { api } from '../../api/index.ts';
import { errorText, toast } from '../../store/toasts.ts';
import { useSomeTenants } from '../../store/session.ts';
import { useFocusLater } from '../../lib/focus.ts';
import { dateTime, ms, num, toolLabel } from '../../lib/format.ts';
import { TierBadge } from '../../components/Badge.tsx';
import { Section } from '../../components/Layout.tsx';
import { ScrollBox } from '../../components/ScrollBox.tsx';

type Report = ConsoleOutput<'simulatePolicy'>;
type Counts = Report['before'];
type DraftOverride = { tool: string; action: string | null; tenant: string | null; tier: 2 | 3 | 4 };

const same = (a: DraftOverride, b: DraftOverride) => a.tool === b.tool && a.action === b.action && a.tenant === b.tenant;
const inForce = (p: PolicyViewT): DraftOverride[] => p.overrides.map((o) => ({ tool: o.tool, action: o.action, tenant: o.tenant, tier: o.tier as 2 | 3 | 4 }));

function Shift({ before, after }: { before: Counts; after: Counts }) {
  const cell = (k: keyof Counts) => (before[k] === after[k] ? num(after[k]) : <strong>{num(before[k])} → {num(after[k])}</strong>);
  return <><td className="num">{cell('ran')}</td><td className="num">{cell('card')}</td><td className="num">{cell('denied')}</td></>;
}

export function Simulation({ policy, values, tenants, onChanged }: { policy: PolicyViewT; values: Partial<PolicyValuesT>; tenants: TenantRefT[]; onChanged(p: PolicyViewT): void }) {
  // A simulation replays every tenant's calls: an account limited to some tenants is refused it, so it is not offered.
  const someTenants = useSomeTenants();
  const [days, setDays] = useState(7);
  const [grants, setGrants] = useState<'recorded' | 'none'>('recorded');
  const [overrides, setOverrides] = useState<DraftOverride[] | null>(null);
  const [tool, setTool] = useState(policy.tools[0]?.name ?? '');
  const [action, setAction] = useState('');
  const [tenant, setTenant] = useState('');
  const [tier, setTier] = useState<2 | 3 | 4>(3);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [report, setReport] = useState<Report | null>(null);
  const result = useFocusLater<HTMLHeadingElement>();
  const list = overrides ?? inForce(policy);
  const info = policy.tools.find((t) => t.name === tool);
  const settings = Object.keys(values);

  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      setReport(await api.simulatePolicy({ days, draft: { values: settings.length ? values : undefined, overrides: overrides ?? undefined, grants } }));
      result.later();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  const addOverride = () => {
    const o: DraftOverride = { tool, action: action || null, tenant: tenant || null, tier };
    setOverrides([...list.filter((x) => !same(x, o)), o]);
  };
  const apply = async () => {
    setBusy(true);
    try {
      let p = policy;
      for (const o of policy.overrides) if (!list.some((x) => x.tool === o.tool && x.action === o.action && x.tenant === o.tenant)) p = await api.removeTierOverride({ id: o.id });
      for (const o of list) p = await api.setTierOverride(o);
      onChanged(p);
      setOverrides(null);
      toast('ok', 'Draft tier overrides applied');
    } catch (e) {
      toast('danger', `Could not apply: ${errorText(e)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section title="Simulate before you apply" aside={<span className="muted tiny">Nothing changes until you save or apply.</span>}>
      <p className="muted">
        The draft: {settings.length ? <>the unsaved settings above ({settings.join(', ')})</> : 'the settings in force'}, {overrides ? 'the draft tier overrides below' : 'the tier overrides in force'},
        and {grants === 'recorded' ? 'the grants technicians made (each over its own lifetime)' : 'no grants'}. The server decides every tool call of the period again with the gate's own rules.
      </p>
      <div className="toolbar" role="group" aria-label="Simulation">
        <label className="inline-field">Days
          <input type="number" min={1} max={90} value={days} onChange={(e) => setDays(Math.min(90, Math.max(1, Number(e.target.value) || 1)))} className="narrow-input" />
        </label>
        <label className="inline-field">Grants
          <select value={grants} onChange={(e) => setGrants(e.target.value as 'recorded' | 'none')}>
            <option value="recorded">the grants made</option>
            <option value="none">no grants</option>
          </select>
        </label>
        <button type="button" className="btn btn-primary" onClick={() => void run()} disabled={busy || someTenants} data-testid="simulate">{busy ? 'Simulating…' : `Simulate the last ${days} day${days === 1 ? '' : 's'}`}</button>
      </div>
      {someTenants ? <p className="muted tiny" data-testid="simulate-every-tenant">A simulation replays every tenant&apos;s calls; your account acts on some tenants only.</p> : null}
      <details className="details" open={overrides !== null}>
        <summary>Draft tier overrides ({overrides ? `${list.length}, changed` : 'as in force'})</summary>
        <ul className="plain" aria-label="Draft tier overrides">
          {list.map((o) => (
            <li key={`${o.tool}/${o.action}/${o.tenant}`}>
              <span className="mono">{toolLabel(o.tool, o.action)}</span> in {o.tenant ?? 'all tenants'} → <TierBadge tier={o.tier} />{' '}
              <button type="button" className="btn btn-small btn-ghost" onClick={() => setOverrides(list.filter((x) => !same(x, o)))}>Remove from draft</button>
            </li>
          ))}
          {!list.length ? <li className="muted">none</li> : null}
        </ul>
        <div className="toolbar" role="group" aria-label="Add a draft override">
          <label className="inline-field">Tool
            <select value={tool} onChange={(e) => { setTool(e.target.value); setAction(''); }}>{policy.tools.map((t) => <option key={t.name} value={t.name}>{t.name}</option>)}</select>
          </label>
          <label className="inline-field">Action
            <select value={action} onChange={(e) => setAction(e.target.value)} disabled={!info?.actions.length}>
              <option value="">any</option>{info?.actions.map((a) => <option key={a.name} value={a.name}>{a.name}</option>)}
            </select>
          </label>
          <label className="inline-field">Tenant
            <select value={tenant} onChange={(e) => setTenant(e.target.value)}><option value="">all tenants</option>{tenants.map((t) => <option key={t.slug} value={t.slug}>{t.slug}</option>)}</select>
          </label>
          <label className="inline-field">Tier
            <select value={tier} onChange={(e) => setTier(Number(e.target.value) as 2 | 3 | 4)}>{[2, 3, 4].map((t) => <option key={t} value={t}>{t}</option>)}</select>
          </label>
          <button type="button" className="btn btn-small" onClick={addOverride}>Add to draft</button>
          {overrides ? <button type="button" className="btn btn-small btn-ghost" onClick={() => setOverrides(null)}>Discard draft overrides</button> : null}
          {overrides ? <button type="button" className="btn btn-small" disabled={busy} onClick={() => void apply()}>Apply draft overrides</button> : null}
        </div>
      </details>
      {error ? <div className="form-error" role="alert">{error}</div> : null}
      {report ? (
        <div data-testid="simulation-result">
          <h3 className="sub-head" ref={result.ref} tabIndex={-1}>{num(report.entries)} tool calls from {dateTime(report.from)} to {dateTime(report.to)}, replayed in {ms(report.ms)}</h3>
          {report.counted ? <p className="muted" data-testid="sim-counted">{num(report.counted)} more refusal{report.counted === 1 ? ' was' : 's were'} counted during a flood, not stored one by one: they are not replayed.</p> : null}
          <div className="sim-grid">
            {(['ran', 'card', 'denied'] as const).map((k) => (
              <div key={k} className="sim-total" data-testid={`sim-${k}`}>
                <div className="muted tiny">{k === 'ran' ? 'would have run' : k === 'card' ? 'would have needed a card' : 'would have been denied'}</div>
                <div className="big">{num(report.after[k])}</div>
                <div className="muted tiny">recorded: {num(report.before[k])}</div>
              </div>
            ))}
          </div>
          {report.changes.length ? (
            <ul className="plain" aria-label="What changes">{report.changes.map((c) => <li key={`${c.from}${c.to}`}>{num(c.count)} call{c.count === 1 ? '' : 's'}: {c.from} → {c.to}</li>)}</ul>
          ) : <p>The draft decides every call as it was decided.</p>}
          <ScrollBox label="By tool">
            <table className="table" aria-label="By tool">
              <thead><tr><th scope="col">Tool</th><th scope="col" className="num">Run</th><th scope="col" className="num">Card</th><th scope="col" className="num">Denied</th></tr></thead>
              <tbody>{report.byTool.map((t) => <tr key={t.tool}><td className="mono">{t.tool}</td><Shift before={t.before} after={t.after} /></tr>)}</tbody>
            </table>
          </ScrollBox>
          <ScrollBox label="By key">
            <table className="table" aria-label="By key">
              <thead><tr><th scope="col">Key</th><th scope="col" className="num">Run</th><th scope="col" className="num">Card</th><th scope="col" className="num">Denied</th></tr></thead>
              <tbody>{report.byKey.map((k) => <tr key={k.keyId ?? 'none'}><td>{k.keyName ?? k.keyId ?? '—'}</td><Shift before={k.before} after={k.after} /></tr>)}</tbody>
            </table>
          </ScrollBox>
          {report.grants.length ? <ul className="plain" aria-label="Grants in the draft">{report.grants.map((g) => <li key={g.id}>{num(g.covered)} call(s) under grant <span className="mono">{g.id.slice(0, 8)}</span>: {g.description}</li>)}</ul> : null}
          {report.examples.length ? (
            <>
              <h4 className="sub-head">Examples</h4>
              <ul className="plain" aria-label="Examples">
                {report.examples.map((e) => <li key={e.seq}><span className="mono" title="Audit entry">#{e.seq}</span> {dateTime(e.at)} <span className="mono">{toolLabel(e.tool, e.action)}</span> by {e.keyName ?? '?'}{e.tenant ? ` in ${e.tenant}` : ''}: {e.from} → {e.to} ({e.reason})</li>)}
              </ul>
            </>
          ) : null}
        </div>
      ) : null}
    </Section>
  );
}
