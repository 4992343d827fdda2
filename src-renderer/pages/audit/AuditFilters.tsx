import { AUDIT_DECISIONS, AUDIT_EVENTS, type ConsoleOutput } from '../../../src-main/console/contract.ts';

export interface Filters {
  from: string;
  to: string;
  keyId: string;
  tenant: string;
  tool: string;
  event: string;
  decision: string;
  outcome: string;
  q: string;
}
export const NO_FILTERS: Filters = { from: '', to: '', keyId: '', tenant: '', tool: '', event: '', decision: '', outcome: '', q: '' };

/** The query the contract takes: blank fields dropped, local date-times to UTC. */
export function toQuery(f: Filters) {
  const iso = (v: string) => (v ? new Date(v).toISOString() : undefined);
  return {
    from: iso(f.from), to: iso(f.to), keyId: f.keyId || undefined, tenant: f.tenant || undefined, tool: f.tool || undefined,
    event: f.event ? [f.event as (typeof AUDIT_EVENTS)[number]] : undefined,
    decision: f.decision ? [f.decision as (typeof AUDIT_DECISIONS)[number]] : undefined,
    outcome: f.outcome.trim() || undefined, q: f.q.trim() || undefined,
  };
}

export function AuditFilters({ value, onChange, lookups, searchRef }: {
  value: Filters;
  onChange(f: Filters): void;
  lookups: ConsoleOutput<'lookups'> | undefined;
  searchRef: React.RefObject<HTMLInputElement | null>;
}) {
  const set = (k: keyof Filters) => (e: { target: { value: string } }) => onChange({ ...value, [k]: e.target.value });
  const active = Object.values(value).some(Boolean);
  return (
    <div className="filters" role="search" aria-label="Audit filters">
      <label className="inline-field grow">Search
        <input ref={searchRef} type="search" value={value.q} onChange={set('q')} aria-keyshortcuts="/" title="Tool, key, tenant, client, code, outcome, arguments, ids (shortcut: /)" />
      </label>
      <label className="inline-field">From<input type="datetime-local" value={value.from} onChange={set('from')} /></label>
      <label className="inline-field">To<input type="datetime-local" value={value.to} onChange={set('to')} /></label>
      <label className="inline-field">Key
        <select value={value.keyId} onChange={set('keyId')}>
          <option value="">any</option>
          {lookups?.keys.map((k) => <option key={k.id} value={k.id}>{k.name}</option>)}
        </select>
      </label>
      <label className="inline-field">Tenant
        <select value={value.tenant} onChange={set('tenant')}>
          <option value="">any</option>
          {lookups?.tenants.map((t) => <option key={t.id} value={t.slug}>{t.slug}</option>)}
        </select>
      </label>
      <label className="inline-field">Tool
        <select value={value.tool} onChange={set('tool')}>
          <option value="">any</option>
          {lookups?.tools.map((t) => <option key={t.name} value={t.name}>{t.name}</option>)}
        </select>
      </label>
      <label className="inline-field">Event
        <select value={value.event} onChange={set('event')}>
          <option value="">any</option>
          {AUDIT_EVENTS.map((e) => <option key={e} value={e}>{e}</option>)}
        </select>
      </label>
      <label className="inline-field">Decision
        <select value={value.decision} onChange={set('decision')}>
          <option value="">any</option>
          {AUDIT_DECISIONS.map((d) => <option key={d} value={d}>{d}</option>)}
        </select>
      </label>
      <label className="inline-field">Outcome<input value={value.outcome} onChange={set('outcome')} title="Text the outcome contains" /></label>
      <button type="button" className="btn btn-ghost btn-small" disabled={!active} onClick={() => onChange(NO_FILTERS)}>Clear filters</button>
    </div>
  );
}
