import { useEffect, useState } from 'react';
import type { PolicyValuesT, PolicyViewT, TenantRefT } from '../../../src-main/console/contract.ts';
import { api } from '../../api/index.ts';
import { toast } from '../../store/toasts.ts';
import { useSubmit } from '../../lib/hooks.ts';
import { useFocusLater } from '../../lib/focus.ts';
import { Badge } from '../../components/Badge.tsx';
import { Section } from '../../components/Layout.tsx';
import { useSomeTenants } from '../../store/session.ts';

type Num = 'defaultReadPerMinute' | 'defaultWritePerMinute' | 'httpRequestsPerSecond' | 'approvalTtlMinutes' | 'approvalWaitSeconds' | 'approvalProgressSeconds' | 'bulkDeviceThreshold'
  | 'auditCheckpointEveryEntries' | 'auditCheckpointEveryMinutes';
const NUMBERS: [Num, string, string][] = [
  ['defaultReadPerMinute', 'Reads per minute, per key', 'default for keys without their own limit'],
  ['defaultWritePerMinute', 'Writes per minute, per key', 'default for keys without their own limit'],
  ['httpRequestsPerSecond', 'HTTP requests per second, per key', 'beyond it: 429 with Retry-After'],
  ['approvalTtlMinutes', 'Approval expiry, minutes', 'a pending request then fails closed'],
  ['approvalWaitSeconds', 'Hold a tier-3 call, seconds', 'with a progressToken, the call waits this long for your decision'],
  ['approvalProgressSeconds', 'Progress while held, seconds', 'a held call hears from the server this often, which keeps a client\'s timeout alive'],
  ['bulkDeviceThreshold', 'Bulk escalation, devices', 'a write on more devices than this becomes tier 3'],
  ['auditCheckpointEveryEntries', 'Audit checkpoint, entries', 'a signed checkpoint outside the database after this many entries'],
  ['auditCheckpointEveryMinutes', 'Audit checkpoint, minutes', 'or after this many minutes, whichever comes first'],
];

function Pinned({ env }: { env: string | undefined }) {
  return env ? <Badge tone="warn" title="Set by an environment variable of the server: read-only here">pinned by {env}</Badge> : null;
}

/** `onDraft` hears the unsaved changes: the policy simulation replays them before they are saved. */
export function PolicyForm({ policy, tenants, onSaved, onDraft }: { policy: PolicyViewT; tenants: TenantRefT[]; onSaved(p: PolicyViewT): void; onDraft?(changes: Partial<PolicyValuesT>): void }) {
  const [draft, setDraft] = useState<PolicyValuesT>(policy.values);
  useEffect(() => setDraft(policy.values), [policy]);
  const pin = (k: keyof PolicyValuesT) => policy.pinned[k];
  const changed = (Object.keys(draft) as (keyof PolicyValuesT)[]).filter((k) => !pin(k) && JSON.stringify(draft[k]) !== JSON.stringify(policy.values[k]));
  const changes = JSON.stringify(Object.fromEntries(changed.map((k) => [k, draft[k]])));
  useEffect(() => onDraft?.(JSON.parse(changes) as Partial<PolicyValuesT>), [changes]);
  const someTenants = useSomeTenants();
  const tickets = draft.requireTicketTenants;
  const everyTenant = tickets.includes('*');
  const tier3 = policy.tools.filter((t) => t.baseTier >= 3 || t.actions.some((a) => a.tier === 3));
  const allow = draft.executeAllowlist;

  // Saving disables the Save button: the focus goes to the line that says the changes are saved.
  const status = useFocusLater<HTMLSpanElement>();
  const { busy, error, submit: save } = useSubmit(async () => {
    const p = await api.updatePolicy(Object.fromEntries(changed.map((k) => [k, draft[k]])));
    toast('ok', `Policy saved: ${changed.join(', ')}`);
    status.later();
    onSaved(p);
  });

  return (
    <form onSubmit={save} aria-label="Policy settings">
      {someTenants ? <p className="muted tiny" data-testid="policy-every-tenant">The policy holds for every tenant; your account acts on some tenants only, so it is read-only here.</p> : null}
      <fieldset className="plain" disabled={someTenants}>
      <Section title="Tier-3 gate">
        <label className="check">
          <input type="checkbox" checked={draft.requireExecuteAdmin} disabled={!!pin('requireExecuteAdmin')}
            onChange={(e) => setDraft({ ...draft, requireExecuteAdmin: e.target.checked })} />
          Only admin-role keys may request tier-3 actions <Pinned env={pin('requireExecuteAdmin')} />
        </label>
        <fieldset className="field" disabled={!!pin('executeAllowlist')}>
          <legend className="field-label">Execute allowlist <Pinned env={pin('executeAllowlist')} /></legend>
          <label className="check"><input type="radio" checked={allow === null} onChange={() => setDraft({ ...draft, executeAllowlist: null })} /> Every tool may be requested</label>
          <label className="check"><input type="radio" checked={allow !== null} onChange={() => setDraft({ ...draft, executeAllowlist: allow ?? tier3.map((t) => t.name) })} /> Only the tools checked below</label>
          <div className="check-list cols">
            {policy.tools.map((t) => (
              <label key={t.name} className="check">
                <input type="checkbox" disabled={allow === null} checked={allow === null || allow.includes(t.name)}
                  onChange={(e) => setDraft({ ...draft, executeAllowlist: e.target.checked ? [...(allow ?? []), t.name] : (allow ?? []).filter((x) => x !== t.name) })} />
                <span className="mono">{t.name}</span>{tier3.includes(t) ? <Badge tone="warn">tier 3</Badge> : null}
              </label>
            ))}
          </div>
        </fieldset>
        <fieldset className="field" disabled={!!pin('requireTicketTenants')}>
          <legend className="field-label">Require a PSA ticket on tier-3 calls <Pinned env={pin('requireTicketTenants')} /></legend>
          <label className="check"><input type="checkbox" checked={everyTenant} onChange={(e) => setDraft({ ...draft, requireTicketTenants: e.target.checked ? ['*'] : [] })} /> In every tenant</label>
          <div className="check-list cols">
            {tenants.map((t) => (
              <label key={t.slug} className="check">
                <input type="checkbox" disabled={everyTenant} checked={everyTenant || tickets.includes(t.slug)}
                  onChange={(e) => setDraft({ ...draft, requireTicketTenants: e.target.checked ? [...tickets, t.slug] : tickets.filter((x) => x !== t.slug) })} />
                {t.name} <span className="muted mono">{t.slug}</span>
              </label>
            ))}
          </div>
        </fieldset>
      </Section>
      <Section title="Limits and approvals">
        <div className="form-grid cols-3">
          {NUMBERS.map(([k, label, hint]) => (
            <div className="field" key={k}>
              <label className="field-label" htmlFor={`policy-${k}`}>{label} <Pinned env={pin(k)} /></label>
              <input id={`policy-${k}`} type="number" min={k === 'approvalWaitSeconds' ? 0 : 1} value={draft[k]} disabled={!!pin(k)}
                onChange={(e) => setDraft({ ...draft, [k]: e.target.value === '' ? 0 : Number(e.target.value) })} />
              <div className="field-hint">{hint}; default {policy.defaults[k]}</div>
            </div>
          ))}
        </div>
      </Section>
      </fieldset>
      <div className="form-actions sticky-actions">
        {error ? <div className="form-error" role="alert">{error}</div> : null}
        <span className="muted tiny" ref={status.ref} tabIndex={-1} data-testid="policy-status">{changed.length ? `${changed.length} unsaved change${changed.length === 1 ? '' : 's'}` : 'No unsaved changes'}</span>
        <button type="button" className="btn btn-ghost" disabled={!changed.length || busy} onClick={() => setDraft(policy.values)}>Discard</button>
        <button type="submit" className="btn btn-primary" disabled={!changed.length || busy || someTenants}>{busy ? 'Saving…' : 'Save policy'}</button>
      </div>
    </form>
  );
}
