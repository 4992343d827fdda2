// The forms of the technicians page: a new account, its role and tenants, a new passphrase.
import { useState } from 'react';
import { TECHNICIAN_PASSPHRASE_MIN, TECHNICIAN_ROLE_NAMES, type TechnicianViewT, type TenantRefT } from '../../../src-main/console/contract.ts';
import { api } from '../../api/index.ts';
import { useSubmit } from '../../lib/hooks.ts';
import { Field } from '../../components/Layout.tsx';
import { Dialog } from '../../components/Overlay.tsx';
import { TenantChoice, tenantsInput, type TenantPick } from './TenantChoice.tsx';

type Role = (typeof TECHNICIAN_ROLE_NAMES)[number];
export const ROLE_HINT: Record<Role, string> = {
  owner: 'everything, accounts included',
  admin: 'policy, four-eyes rules, enrollment, every key, accounts below owner',
  technician: 'decides requests and holds keys within their tenants',
  viewer: 'reads; their keys are read-only',
};

/** The roles this actor may give: an admin never makes an owner. */
export const grantableRoles = (actorRole: string | undefined): readonly Role[] => (actorRole === 'owner' ? TECHNICIAN_ROLE_NAMES : TECHNICIAN_ROLE_NAMES.filter((r) => r !== 'owner'));

function RoleChoice({ roles, value, onChange }: { roles: readonly Role[]; value: Role; onChange(r: Role): void }) {
  return (
    <fieldset className="field">
      <legend className="field-label">Role</legend>
      {roles.map((r) => (
        <label key={r} className="check">
          <input type="radio" name="technician-role" checked={value === r} onChange={() => onChange(r)} /> {r} <span className="muted">{ROLE_HINT[r]}</span>
        </label>
      ))}
    </fieldset>
  );
}

export function CreateTechnicianForm({ tenants, roles, onDone, onCancel }: { tenants: TenantRefT[]; roles: readonly Role[]; onDone(name: string): void; onCancel(): void }) {
  const [name, setName] = useState('');
  const [passphrase, setPassphrase] = useState('');
  const [role, setRole] = useState<Role>('technician');
  const [pick, setPick] = useState<TenantPick>(new Set());
  const chosen = tenantsInput(pick);
  const valid = name.trim() && passphrase.length >= TECHNICIAN_PASSPHRASE_MIN && chosen;
  const { busy, error, submit } = useSubmit(async () => {
    if (!valid) return;
    const { technician } = await api.createTechnician({ name: name.trim(), passphrase, role, tenants: chosen });
    onDone(technician.name);
  });
  return (
    <form className="panel form-grid" onSubmit={submit} aria-label="Create technician">
      <Field label="Name" htmlFor="tech-name" hint="What they type to sign in; shown in the audit log.">
        <input id="tech-name" value={name} maxLength={100} onChange={(e) => setName(e.target.value)} autoFocus required autoComplete="off" />
      </Field>
      <Field label="Initial passphrase" htmlFor="tech-pass" hint={`At least ${TECHNICIAN_PASSPHRASE_MIN} characters; hand it over out of band.`}>
        <input id="tech-pass" type="password" value={passphrase} maxLength={1000} onChange={(e) => setPassphrase(e.target.value)} required autoComplete="new-password" />
      </Field>
      <RoleChoice roles={roles} value={role} onChange={setRole} />
      <TenantChoice tenants={tenants} value={pick} onChange={setPick} idPrefix="create-tenants" />
      <div className="form-actions">
        {error ? <div className="form-error" role="alert">{error}</div> : null}
        <button type="submit" className="btn btn-primary" disabled={busy || !valid}>{busy ? 'Creating…' : 'Create technician'}</button>
        <button type="button" className="btn btn-ghost" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}

export function AccessDialog({ technician, tenants, roles, onClose }: { technician: TechnicianViewT; tenants: TenantRefT[]; roles: readonly Role[]; onClose(changed: string | null): void }) {
  const [role, setRole] = useState<Role>(technician.role);
  const [pick, setPick] = useState<TenantPick>(technician.tenants === 'all' ? 'all' : new Set(technician.tenants.map((t) => t.slug)));
  const chosen = tenantsInput(pick);
  const { busy, error, submit } = useSubmit(async () => {
    if (!chosen) return;
    await api.updateTechnician({ id: technician.id, role, tenants: chosen });
    onClose(`${technician.name}: ${role}, ${chosen === 'all' ? 'all tenants' : chosen.join(', ')}. Their keys follow at their next call.`);
  });
  return (
    <Dialog title={`Role and tenants of ${technician.name}`} onClose={() => onClose(null)} footer={
      <>
        <button type="button" className="btn" onClick={() => onClose(null)}>Cancel</button>
        <button type="submit" form="access-form" className="btn btn-primary" disabled={busy || !chosen}>{busy ? 'Saving…' : 'Save'}</button>
      </>
    }>
      <form id="access-form" onSubmit={submit} aria-label={`Role and tenants of ${technician.name}`}>
        <RoleChoice roles={roles.includes(technician.role) ? roles : [technician.role, ...roles]} value={role} onChange={setRole} />
        <TenantChoice tenants={tenants} value={pick} onChange={setPick} idPrefix="access-tenants" />
        <p className="muted">Keys this technician owns are narrowed to these tenants at their next call.</p>
        {error ? <div className="form-error" role="alert">{error}</div> : null}
      </form>
    </Dialog>
  );
}

export function PassphraseDialog({ technician, onClose }: { technician: TechnicianViewT; onClose(changed: string | null): void }) {
  const [passphrase, setPassphrase] = useState('');
  const valid = passphrase.length >= TECHNICIAN_PASSPHRASE_MIN;
  const { busy, error, submit } = useSubmit(async () => {
    if (!valid) return;
    await api.resetTechnicianPassphrase({ id: technician.id, passphrase });
    onClose(`New passphrase set for ${technician.name}; their open sessions ended.`);
  });
  return (
    <Dialog title={`Reset the passphrase of ${technician.name}`} onClose={() => onClose(null)} footer={
      <>
        <button type="button" className="btn" onClick={() => onClose(null)}>Cancel</button>
        <button type="submit" form="passphrase-form" className="btn btn-primary" disabled={busy || !valid}>{busy ? 'Saving…' : 'Set passphrase'}</button>
      </>
    }>
      <form id="passphrase-form" onSubmit={submit}>
        <Field label="New passphrase" htmlFor="reset-pass" hint={`At least ${TECHNICIAN_PASSPHRASE_MIN} characters. Their open sessions end.`}>
          <input id="reset-pass" type="password" value={passphrase} maxLength={1000} onChange={(e) => setPassphrase(e.target.value)} autoComplete="new-password" data-autofocus />
        </Field>
        {error ? <div className="form-error" role="alert">{error}</div> : null}
      </form>
    </Dialog>
  );
}
