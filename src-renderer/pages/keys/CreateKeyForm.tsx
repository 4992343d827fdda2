import { useState } from 'react';
import { SCOPES, type ConsoleOutput, type TenantRefT } from '../../../src-main/console/contract.ts';
import { api } from '../../api/index.ts';
import { useSubmit } from '../../lib/hooks.ts';
import { Field } from '../../components/Layout.tsx';

const SCOPE_HINT: Record<(typeof SCOPES)[number], string> = {
  'ai:read': 'tier 1: reads',
  'ai:write': 'tier 2: low-risk changes',
  'ai:execute': 'tier 3: may request approvals',
};
const EXPIRY = [['', 'never'], ['7', '7 days'], ['30', '30 days'], ['90', '90 days'], ['365', '1 year']] as const;

export function CreateKeyForm({ tenants, defaults, onCreated, onCancel }: {
  tenants: TenantRefT[];
  defaults: { read: number; write: number };
  onCreated(r: ConsoleOutput<'createKey'>): void;
  onCancel(): void;
}) {
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<Set<string>>(new Set(['ai:read']));
  const [role, setRole] = useState<'standard' | 'admin'>('standard');
  const [chosen, setChosen] = useState<Set<string>>(new Set(tenants.length === 1 ? [tenants[0]!.slug] : []));
  const [expires, setExpires] = useState('');
  const [read, setRead] = useState('');
  const [write, setWrite] = useState('');

  const toggle = (set: Set<string>, v: string, update: (s: Set<string>) => void) => {
    const next = new Set(set);
    if (next.has(v)) next.delete(v);
    else next.add(v);
    update(next);
  };
  const valid = name.trim() && scopes.size > 0 && chosen.size > 0;

  const { busy, error, submit } = useSubmit(async () => {
    if (!valid) return;
    onCreated(await api.createKey({
      name: name.trim(), scopes: SCOPES.filter((s) => scopes.has(s)), role, tenants: [...chosen],
      expiresDays: expires ? Number(expires) : undefined,
      readPerMinute: read ? Number(read) : undefined, writePerMinute: write ? Number(write) : undefined,
    }));
  });

  return (
    <form className="panel form-grid key-form" onSubmit={submit} aria-label="Create API key">
      <div className="span-2">
        <Field label="Name" htmlFor="key-name" hint="Who or what uses it, e.g. the technician and the client app.">
          <input id="key-name" value={name} maxLength={100} onChange={(e) => setName(e.target.value)} autoFocus required />
        </Field>
      </div>
      <Field label="Expires" htmlFor="key-expiry">
        <select id="key-expiry" value={expires} onChange={(e) => setExpires(e.target.value)}>
          {EXPIRY.map(([v, l]) => <option key={v} value={v}>{l}</option>)}
        </select>
      </Field>
      <fieldset className="field">
        <legend className="field-label">Scopes</legend>
        {SCOPES.map((s) => (
          <label key={s} className="check">
            <input type="checkbox" checked={scopes.has(s)} onChange={() => toggle(scopes, s, setScopes)} />
            <span className="mono">{s}</span> <span className="muted">{SCOPE_HINT[s]}</span>
          </label>
        ))}
      </fieldset>
      <fieldset className="field">
        <legend className="field-label">Role</legend>
        {(['standard', 'admin'] as const).map((r) => (
          <label key={r} className="check">
            <input type="radio" name="role" checked={role === r} onChange={() => setRole(r)} /> {r}
            <span className="muted">{r === 'admin' ? 'may reach tier 3 when the policy requires admin' : 'the default'}</span>
          </label>
        ))}
      </fieldset>
      <fieldset className="field">
        <legend className="field-label">Tenants</legend>
        <div className="check-list">
          {tenants.map((t) => (
            <label key={t.id} className="check">
              <input type="checkbox" checked={chosen.has(t.slug)} onChange={() => toggle(chosen, t.slug, setChosen)} />
              <span>{t.name}</span> <span className="muted mono">{t.slug}</span>
            </label>
          ))}
        </div>
        <button type="button" className="btn btn-ghost btn-small btn-inline" onClick={() => setChosen(new Set(tenants.map((t) => t.slug)))}>Select all</button>
      </fieldset>
      <Field label="Reads per minute" htmlFor="key-read" hint={`Blank: the policy default (${defaults.read}/min).`}>
        <input id="key-read" type="number" min={1} max={100000} value={read} onChange={(e) => setRead(e.target.value)} />
      </Field>
      <Field label="Writes per minute" htmlFor="key-write" hint={`Blank: the policy default (${defaults.write}/min).`}>
        <input id="key-write" type="number" min={1} max={100000} value={write} onChange={(e) => setWrite(e.target.value)} />
      </Field>
      <div className="form-actions">
        {error ? <div className="form-error" role="alert">{error}</div> : null}
        <button type="submit" className="btn btn-primary" disabled={busy || !valid}>{busy ? 'Creating…' : 'Create key'}</button>
        <button type="button" className="btn btn-ghost" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}
