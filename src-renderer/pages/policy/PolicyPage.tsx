import { useEffect, useState } from 'react';
import type { PolicyValuesT, PolicyViewT } from '../../../src-main/console/contract.ts';
import { api } from '../../api/index.ts';
import { useVersions } from '../../store/versions.ts';
import { useAsync } from '../../lib/hooks.ts';
import { PageHeader } from '../../components/Layout.tsx';
import { ErrorBox, Loading } from '../../components/States.tsx';
import { PolicyForm } from './PolicyForm.tsx';
import { Overrides } from './Overrides.tsx';
import { Simulation } from './Simulation.tsx';

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
          <PolicyForm policy={policy} tenants={lookups.data?.tenants ?? []} onSaved={setPolicy} onDraft={setDraft} />
          <Overrides policy={policy} tenants={lookups.data?.tenants ?? []} onChanged={setPolicy} />
          <Simulation policy={policy} values={draft} tenants={lookups.data?.tenants ?? []} onChanged={setPolicy} />
        </>
      )}
    </div>
  );
}
