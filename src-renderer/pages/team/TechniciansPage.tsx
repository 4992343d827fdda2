// Technician accounts (team mode): who may sign in, with which role and tenants. Owners and admins manage them; an admin
// sees owners but cannot change them. The server enforces all of it; the page only leaves out what would be refused.
import { Fragment, useState } from 'react';
import type { TechnicianViewT } from '../../../src-main/console/contract.ts';
import { api } from '../../api/index.ts';
import { useAsync } from '../../lib/hooks.ts';
import { dateTime } from '../../lib/format.ts';
import { Badge } from '../../components/Badge.tsx';
import { PageHeader } from '../../components/Layout.tsx';
import { Dialog } from '../../components/Overlay.tsx';
import { Empty, ErrorBox, Loading } from '../../components/States.tsx';
import { ScrollBox } from '../../components/ScrollBox.tsx';
import { errorText, toast } from '../../store/toasts.ts';
import { AccessDialog, CreateTechnicianForm, grantableRoles, PassphraseDialog } from './TechnicianForms.tsx';

type Open = { kind: 'access' | 'passphrase' | 'remove'; technician: TechnicianViewT } | null;

export function TechniciansPage() {
  const list = useAsync(() => api.listTechnicians(), []);
  const lookups = useAsync(() => api.lookups(), []);
  const [creating, setCreating] = useState(false);
  const [open, setOpen] = useState<Open>(null);
  const you = list.data?.you ?? null;
  const roles = grantableRoles(you?.role);
  // An admin neither edits an owner nor makes one (the server refuses it too).
  const mayEdit = (t: TechnicianViewT) => you?.role === 'owner' || t.role !== 'owner';
  const closed = (message: string | null) => {
    setOpen(null);
    if (message) {
      toast('ok', message);
      list.reload();
    }
  };
  const setDisabled = async (t: TechnicianViewT, disabled: boolean) => {
    try {
      await api.updateTechnician({ id: t.id, disabled });
      toast('ok', disabled ? `${t.name} is disabled: their sessions end and their keys can do nothing.` : `${t.name} is enabled again.`);
    } catch (e) {
      toast('danger', `Could not change ${t.name}: ${errorText(e)}`);
    }
    list.reload();
  };
  const remove = async (t: TechnicianViewT) => {
    try {
      await api.removeTechnician({ id: t.id });
      toast('ok', `${t.name} is removed.`);
    } catch (e) {
      toast('danger', `Could not remove ${t.name}: ${errorText(e)}`);
    }
    setOpen(null);
    list.reload();
  };
  const techs = list.data?.technicians ?? [];

  return (
    <div className="page page-wide">
      <PageHeader
        title="Technicians"
        sub="Each technician signs in with their own account; decisions, keys and changes carry their name in the audit log."
        actions={!creating && list.data ? <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>New technician</button> : null}
      />
      {creating ? (
        lookups.data ? (
          <CreateTechnicianForm tenants={lookups.data.tenants} roles={roles} onCancel={() => setCreating(false)} onDone={(name) => {
            setCreating(false);
            toast('ok', `${name} can sign in now.`);
            list.reload();
          }} />
        ) : lookups.error ? <ErrorBox error={lookups.error} onRetry={lookups.reload} /> : <Loading what="tenants" />
      ) : null}
      {list.error ? <ErrorBox error={list.error} onRetry={list.reload} /> : null}
      {!list.data ? (list.loading ? <Loading what="technicians" /> : null) : !techs.length ? (
        <Empty title="No technician accounts yet">Create the first owner; from then on the console signs in by name.</Empty>
      ) : (
        <ScrollBox className="panel" label="Technicians">
          <table className="table table-rows sticky-first" aria-label="Technicians">
            <thead>
              <tr>
                <th scope="col">Name</th><th scope="col">Role</th><th scope="col">Tenants</th><th scope="col" className="num">Keys</th>
                <th scope="col" className="num">Passkeys</th><th scope="col">State</th><th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {techs.map((t) => (
                <tr key={t.id} data-testid="technician-row" data-name={t.name}>
                  <td className="nowrap"><div className="strong">{t.name}{t.id === you?.id ? <span className="muted"> (you)</span> : null}</div>
                    <div className="muted tiny" title={dateTime(t.createdAt)}>since {dateTime(t.createdAt).slice(0, 10)}</div></td>
                  <td><Badge tone={t.role === 'owner' ? 'accent' : t.role === 'admin' ? 'info' : 'muted'}>{t.role}</Badge></td>
                  <td className="tenants-cell" data-testid="technician-tenants">{t.tenants === 'all' ? <span>all tenants</span>
                    : t.tenants.map((x, i) => <Fragment key={x.id}>{i > 0 ? ', ' : ''}<span className="nowrap">{x.slug}</span></Fragment>)}</td>
                  <td className="num mono" data-testid="technician-keys">{t.keys}</td>
                  <td className="num mono">{t.passkeys}</td>
                  <td>{t.tampered ? <Badge tone="danger" title="Changed in the database without the install secret: signs in nobody. Remove it, or re-bind it with countersign technicians reset-passphrase.">tampered</Badge> : t.disabledAt ? <Badge tone="danger" title={`since ${dateTime(t.disabledAt)}`}>disabled</Badge> : <Badge tone="ok">active</Badge>}</td>
                  <td>
                    {mayEdit(t) ? (
                      <div className="state-cell">
                        <button type="button" className="btn btn-small" onClick={() => setOpen({ kind: 'access', technician: t })} aria-label={`Role and tenants of ${t.name}`}>Role and tenants…</button>
                        <button type="button" className="btn btn-small" onClick={() => setOpen({ kind: 'passphrase', technician: t })} aria-label={`Reset passphrase of ${t.name}`}>Reset passphrase…</button>
                        <button type="button" className="btn btn-small" onClick={() => void setDisabled(t, !t.disabledAt)}>{t.disabledAt ? 'Enable' : 'Disable'}</button>
                        <button type="button" className="btn btn-small btn-danger-outline" onClick={() => setOpen({ kind: 'remove', technician: t })} aria-label={`Remove ${t.name}`}>Remove…</button>
                      </div>
                    ) : <span className="muted tiny">only an owner changes an owner</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollBox>
      )}
      {open?.kind === 'access' && lookups.data ? <AccessDialog technician={open.technician} tenants={lookups.data.tenants} roles={roles} onClose={closed} /> : null}
      {open?.kind === 'passphrase' ? <PassphraseDialog technician={open.technician} onClose={closed} /> : null}
      {open?.kind === 'remove' ? (
        <Dialog title={`Remove ${open.technician.name}?`} onClose={() => setOpen(null)} footer={
          <>
            <button type="button" className="btn" onClick={() => setOpen(null)} data-autofocus>Cancel</button>
            <button type="button" className="btn btn-danger" onClick={() => void remove(open.technician)}>Remove account</button>
          </>
        }>
          <p>The account and its passkeys are deleted and its sessions end. An account that owns keys or approved requests stays in the record: disable it instead.</p>
        </Dialog>
      ) : null}
    </div>
  );
}
