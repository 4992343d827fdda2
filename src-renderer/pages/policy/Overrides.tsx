import { useState, type FormEvent } from 'react';
import type { PolicyViewT, TenantRefT } from '../../../src-main/console/contract.ts';
import { api } from '../../api/index.ts';
import { errorText, toast } from '../../store/toasts.ts';
import { dateTime } from '../../lib/format.ts';
import { TierBadge } from '../../components/Badge.tsx';
import { Section } from '../../components/Layout.tsx';
import { Empty } from '../../components/States.tsx';
import { ScrollBox } from '../../components/ScrollBox.tsx';
import { useSomeTenants } from '../../store/session.ts';

export function Overrides({ policy, tenants, onChanged }: { policy: PolicyViewT; tenants: TenantRefT[]; onChanged(p: PolicyViewT): void }) {
  const [tool, setTool] = useState(policy.tools[0]?.name ?? '');
  const [action, setAction] = useState('');
  // An account limited to some tenants sets overrides of its tenants only: one for all tenants is not its to set.
  const someTenants = useSomeTenants();
  const [chosen, setTenant] = useState('');
  // The tenant list may arrive after the first render: until one is chosen, such an account's first tenant is the one shown.
  const tenant = someTenants && !chosen ? (tenants[0]?.slug ?? '') : chosen;
  const [tier, setTier] = useState('');
  const [error, setError] = useState<string | null>(null);
  const info = policy.tools.find((t) => t.name === tool);
  const base = Math.max(info?.baseTier ?? 1, info?.actions.find((a) => a.name === action)?.tier ?? 0);
  const tiers = [2, 3, 4].filter((t) => t > base);

  const add = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const p = await api.setTierOverride({ tool, action: action || null, tenant: tenant || null, tier: Number(tier || tiers[0]) as 2 | 3 | 4 });
      toast('ok', `Override set: ${tool}${action ? ` (${action})` : ''} → tier ${tier || tiers[0]}`);
      onChanged(p);
    } catch (err) {
      setError(errorText(err));
    }
  };
  const remove = async (id: string) => {
    try {
      onChanged(await api.removeTierOverride({ id }));
      toast('ok', 'Override removed');
    } catch (err) {
      toast('danger', `Could not remove: ${errorText(err)}`);
    }
  };

  return (
    <Section title="Tier overrides" aside={<span className="muted tiny">Overrides only raise a tier: effective tier = the highest that applies.</span>}>
      {policy.overrides.length ? (
        <ScrollBox label="Tier overrides">
        <table className="table table-rows sticky-first" aria-label="Tier overrides">
          <thead><tr><th scope="col">Tool</th><th scope="col">Action</th><th scope="col">Tenant</th><th scope="col">Base</th><th scope="col">Override</th><th scope="col">Set</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
          <tbody>
            {policy.overrides.map((o) => (
              <tr key={o.id}>
                <td className="mono">{o.tool}</td><td>{o.action ?? 'any'}</td><td>{o.tenant ?? 'all tenants'}</td>
                <td><TierBadge tier={o.baseTier} /></td><td><TierBadge tier={o.tier} /></td><td className="nowrap">{dateTime(o.createdAt)}</td>
                <td className="num">{someTenants && o.tenant === null ? null : <button type="button" className="btn btn-small btn-ghost" onClick={() => void remove(o.id)}>Remove</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
        </ScrollBox>
      ) : <Empty title="No overrides">Every tool runs at its built-in tier.</Empty>}
      <form className="toolbar" onSubmit={add} aria-label="Add a tier override">
        <label className="inline-field">Tool
          <select value={tool} onChange={(e) => { setTool(e.target.value); setAction(''); setTier(''); }}>
            {policy.tools.map((t) => <option key={t.name} value={t.name}>{t.name} (T{t.baseTier})</option>)}
          </select>
        </label>
        <label className="inline-field">Action
          <select value={action} onChange={(e) => { setAction(e.target.value); setTier(''); }} disabled={!info?.actions.length}>
            <option value="">any</option>
            {info?.actions.map((a) => <option key={a.name} value={a.name}>{a.name} (T{a.tier})</option>)}
          </select>
        </label>
        <label className="inline-field">Tenant
          <select value={tenant} onChange={(e) => setTenant(e.target.value)}>
            {someTenants ? null : <option value="">all tenants</option>}
            {tenants.map((t) => <option key={t.id} value={t.slug}>{t.slug}</option>)}
          </select>
        </label>
        <label className="inline-field">Raise to
          <select value={tier || String(tiers[0] ?? '')} onChange={(e) => setTier(e.target.value)} disabled={!tiers.length}>
            {tiers.map((t) => <option key={t} value={t}>tier {t}</option>)}
          </select>
        </label>
        <button type="submit" className="btn btn-small" disabled={!tiers.length}>Add override</button>
        {!tiers.length ? <span className="muted tiny">already tier 4: nothing to raise</span> : null}
        {error ? <span className="form-error" role="alert">{error}</span> : null}
      </form>
    </Section>
  );
}
