import { Fragment, useEffect, useState } from 'react';
import type { ConsoleOutput, KeyViewT } from '../../../src-main/console/contract.ts';
import { api } from '../../api/index.ts';
import { useSession } from '../../store/session.ts';
import { useVersions } from '../../store/versions.ts';
import { useAsync, useNow } from '../../lib/hooks.ts';
import { useFocusLater } from '../../lib/focus.ts';
import { ago, dateTime, num } from '../../lib/format.ts';
import { Badge, StatusBadge } from '../../components/Badge.tsx';
import { PageHeader } from '../../components/Layout.tsx';
import { ConfirmDialog } from '../../components/ConfirmDialog.tsx';
import { Empty, ErrorBox, Loading } from '../../components/States.tsx';
import { CreateKeyForm } from './CreateKeyForm.tsx';
import { SecretPanel } from './SecretPanel.tsx';
import { ScrollBox } from '../../components/ScrollBox.tsx';

function BudgetCell({ b, label }: { b: { limitPerMinute: number; remaining: number }; label: string }) {
  const pct = Math.round((b.remaining / Math.max(1, b.limitPerMinute)) * 100);
  return (
    <div className="budget" title={`${label}: ${b.remaining} of ${b.limitPerMinute} calls left this minute`}>
      <span className="budget-label">{label}</span>
      <meter min={0} max={b.limitPerMinute} low={b.limitPerMinute * 0.2} optimum={b.limitPerMinute} value={b.remaining} aria-label={`${label} budget ${pct}%`} />
      <span className="mono tiny">{num(b.remaining)}/{num(b.limitPerMinute)}</span>
    </div>
  );
}

export function KeysPage() {
  const version = useVersions((s) => s.keys);
  const session = useSession((s) => s.session);
  const keys = useAsync(() => api.listKeys(), [version]);
  const lookups = useAsync(() => api.lookups(), []);
  const policy = useAsync(() => api.getPolicy(), []);
  const now = useNow(15_000);
  // Call counts, last use and budgets change with every call: re-read them while the page is open.
  const reload = keys.reload;
  useEffect(() => {
    const t = setInterval(reload, 10_000);
    return () => clearInterval(t);
  }, [reload]);
  const newKey = useFocusLater<HTMLButtonElement>();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<ConsoleOutput<'createKey'> | null>(null);
  const [revoking, setRevoking] = useState<KeyViewT | null>(null);
  const [showRevoked, setShowRevoked] = useState(false);
  const baseUrl = session?.mcpBaseUrl ?? window.location.origin;
  const list = (keys.data?.keys ?? []).filter((k) => showRevoked || k.state !== 'revoked').sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const revokedCount = (keys.data?.keys ?? []).filter((k) => k.state === 'revoked').length;

  return (
    <div className="page page-wide">
      <PageHeader
        title="API keys"
        sub="Each AI client connects with its own key: scopes cap the tier it reaches, tenants cap what it sees."
        actions={!creating && !created ? <button type="button" className="btn btn-primary" onClick={() => setCreating(true)} ref={newKey.ref}>New key</button> : null}
      />
      {created ? (
        <SecretPanel created={created.key} secret={created.secret} baseUrl={baseUrl} onDone={() => {
          setCreated(null);
          newKey.later();
        }} />
      ) : creating ? (
        lookups.data ? (
          <CreateKeyForm
            tenants={lookups.data.tenants}
            defaults={{ read: policy.data?.values.defaultReadPerMinute ?? 600, write: policy.data?.values.defaultWritePerMinute ?? 60 }}
            onCreated={(r) => {
              setCreating(false);
              setCreated(r);
              keys.reload();
            }}
            onCancel={() => {
              setCreating(false);
              newKey.later();
            }}
          />
        ) : lookups.error ? <ErrorBox error={lookups.error} onRetry={lookups.reload} /> : <Loading what="tenants" />
      ) : null}
      <div className="toolbar">
        <label className="check"><input type="checkbox" checked={showRevoked} onChange={(e) => setShowRevoked(e.target.checked)} /> Show revoked ({revokedCount})</label>
      </div>
      {keys.error ? <ErrorBox error={keys.error} onRetry={keys.reload} /> : null}
      {!keys.data ? (keys.loading ? <Loading what="keys" /> : null) : !list.length ? (
        <Empty title="No API keys yet">Create one with “New key”, then paste its connection snippet into the AI client.</Empty>
      ) : (
        <ScrollBox className="panel" label="API keys">
          <table className="table table-rows sticky-first keys-table" aria-label="API keys">
            <thead>
              <tr>
                <th scope="col">Name</th><th scope="col">Scopes</th><th scope="col">Tenants</th><th scope="col">Created</th><th scope="col">Last used</th>
                <th scope="col" className="num">Calls</th><th scope="col">Budget</th><th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {list.map((k) => (
                <tr key={k.id} data-testid="key-row" data-key-name={k.name}>
                  <td className="nowrap"><div className="strong">{k.name}</div><div className="mono muted tiny">{k.prefix}…</div></td>
                  <td>{k.scopes.map((s) => <Badge key={s} tone={s === 'ai:execute' ? 'warn' : s === 'ai:write' ? 'info' : 'muted'}>{s}</Badge>)} <span className="muted">{k.role}</span></td>
                  <td className="tenants-cell">{k.tenants.map((t, i) => <Fragment key={t.id}>{i > 0 ? ', ' : ''}<span className="nowrap">{t.slug}</span></Fragment>)}</td>
                  <td className="nowrap">
                    <div title={dateTime(k.createdAt)}>{ago(k.createdAt, now)}</div>
                    <div className="muted tiny" title={dateTime(k.expiresAt)}>expires {k.expiresAt ? dateTime(k.expiresAt).slice(0, 10) : 'never'}</div>
                  </td>
                  <td className="nowrap" title={dateTime(k.lastUsedAt)}>{ago(k.lastUsedAt, now)}</td>
                  <td className="num mono">{num(k.callCount)}</td>
                  <td><BudgetCell b={k.budget.read} label="read" /><BudgetCell b={k.budget.write} label="write" /></td>
                  <td>
                    <div className="state-cell">
                      <StatusBadge status={k.state} />
                      {k.state !== 'revoked' ? <button type="button" className="btn btn-small btn-danger-outline" onClick={() => setRevoking(k)}>Revoke…</button> : null}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollBox>
      )}
      {revoking ? (
        <ConfirmDialog
          title={`Revoke “${revoking.name}”?`}
          action="Revoke key"
          run={async () => {
            await api.revokeKey({ id: revoking.id });
            return `Revoked “${revoking.name}”: its next request fails.`;
          }}
          onClose={(done) => {
            setRevoking(null);
            if (done) keys.reload();
          }}
        >
          <p>Every client using <span className="mono">{revoking.prefix}…</span> fails on its next request (401). Pending approvals it asked for stay decidable. This cannot be undone.</p>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}
