import { useEffect, useState } from 'react';
import type { PolicyValuesT, PolicyViewT } from '../../../src-main/console/contract.ts';
import { api } from '../../api/index.ts';
import { useSession, useSomeTenants } from '../../store/session.ts';
import { useVersions } from '../../store/versions.ts';
import { useAsync } from '../../lib/hooks.ts';
import { PageHeader } from '../../components/Layout.tsx';
import { ErrorBox, Loading } from '../../components/States.tsx';
import { PolicyForm } from './PolicyForm.tsx';
import { Overrides } from './Overrides.tsx';
import { Simulation } from './Simulation.tsx';

/** After a failed binding: what is shown is what applies; an admin keeps it as the policy, and changes resume. */
function AcceptPolicy({ shown, onAccepted }: { shown: string; onAccepted: (p: PolicyViewT) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // The policy holds for every tenant: keeping it is for an account that acts on every tenant (the server refuses others).
  const someTenants = useSomeTenants();
  const accept = async () => {
    setBusy(true);
    setError(null);
    try {
      onAccepted(await api.acceptPolicy({ shown }));
      await useSession.getState().boot();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card" data-testid="policy-accept">
      <h2>This policy failed its integrity check</h2>
      <p>
        The settings or tier overrides stored in the database do not match their binding: someone changed them without Countersign.
        The values below are the stricter of each stored value and its default, with the stored tier overrides and four-eyes rules;
        they apply now, tier-2 changes are refused and grants cover nothing. Check them, then keep them: changes resume, and the
        policy can be edited again.
      </p>
      {error ? <div className="form-error" role="alert">{error}</div> : null}
      {someTenants
        ? <p className="muted" data-testid="policy-accept-every-tenant">An owner or admin of every tenant keeps it: your account acts on some tenants only.</p>
        : <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void accept()}>Keep the policy shown</button>}
    </section>
  );
}

export function PolicyPage() {
  const version = useVersions((s) => s.policy);
  const r = useAsync(() => api.getPolicy(), [version]);
  const lookups = useAsync(() => api.lookups(), []);
  const [policy, setPolicy] = useState<PolicyViewT | undefined>(undefined);
  const [draft, setDraft] = useState<Partial<PolicyValuesT>>({});
  useEffect(() => {
    if (r.data) setPolicy(r.data);
  }, [r.data]);
  const pinned = policy ? Object.keys(policy.pinned).length : 0;
  return (
    <div className="page">
      <PageHeader
        title="Policy"
        sub={pinned ? `${pinned} setting${pinned === 1 ? ' is' : 's are'} pinned by environment variables of the server and read-only here.` : 'Stored in the database; every change is audited.'}
      />
      {r.error && !policy ? <ErrorBox error={r.error} onRetry={r.reload} /> : !policy ? <Loading what="the policy" /> : (
        <>
          {policy.integrity === 'tampered' ? <AcceptPolicy shown={policy.shown} onAccepted={setPolicy} /> : null}
          <PolicyForm policy={policy} tenants={lookups.data?.tenants ?? []} onSaved={setPolicy} onDraft={setDraft} />
          <Overrides policy={policy} tenants={lookups.data?.tenants ?? []} onChanged={setPolicy} />
          <Simulation policy={policy} values={draft} tenants={lookups.data?.tenants ?? []} onChanged={setPolicy} />
        </>
      )}
    </div>
  );
}
