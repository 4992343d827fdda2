// The tenants an account may act on: every tenant (present and future), or the ones ticked.
import type { TenantRefT } from '../../../src-main/console/contract.ts';

export type TenantPick = 'all' | Set<string>;

export function TenantChoice({ tenants, value, onChange, idPrefix }: { tenants: TenantRefT[]; value: TenantPick; onChange(v: TenantPick): void; idPrefix: string }) {
  const chosen = value === 'all' ? new Set<string>() : value;
  const toggle = (slug: string) => {
    const next = new Set(chosen);
    if (next.has(slug)) next.delete(slug);
    else next.add(slug);
    onChange(next);
  };
  return (
    <fieldset className="field">
      <legend className="field-label">Tenants</legend>
      <label className="check">
        <input type="checkbox" id={`${idPrefix}-all`} checked={value === 'all'} onChange={(e) => onChange(e.target.checked ? 'all' : new Set())} />
        <span>All tenants</span> <span className="muted">present and future</span>
      </label>
      {value === 'all' ? null : (
        <div className="check-list">
          {tenants.map((t) => (
            <label key={t.id} className="check">
              <input type="checkbox" checked={chosen.has(t.slug)} onChange={() => toggle(t.slug)} />
              <span>{t.name}</span> <span className="muted mono">{t.slug}</span>
            </label>
          ))}
        </div>
      )}
    </fieldset>
  );
}

/** The contract's shape of a pick, or null when nothing is ticked. */
export const tenantsInput = (v: TenantPick): 'all' | string[] | null => (v === 'all' ? 'all' : v.size ? [...v] : null);
