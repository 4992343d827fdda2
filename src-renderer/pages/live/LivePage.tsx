import { useMemo, useState } from 'react';
import type { LiveCallT } from '../../../src-main/console/contract.ts';
import { api } from '../../api/index.ts';
import { useLive } from '../../store/live.ts';
import { useAsync } from '../../lib/hooks.ts';
import { useHotkeys } from '../../lib/shortcuts.ts';
import { ms, time, toolLabel } from '../../lib/format.ts';
import { Badge, DecisionBadge, TierBadge } from '../../components/Badge.tsx';
import { PageHeader } from '../../components/Layout.tsx';
import { Empty, ErrorBox, Loading } from '../../components/States.tsx';
import { CallDetail } from './CallDetail.tsx';
import { ScrollBox } from '../../components/ScrollBox.tsx';

const DECISIONS = ['allowed', 'denied', 'pending', 'throttled', 'failed'] as const;

export function LivePage() {
  const { calls, buffered, paused, loaded, error, setPaused, load, clear } = useLive();
  const lookups = useAsync(() => api.lookups(), []);
  const [keyId, setKeyId] = useState('');
  const [tenant, setTenant] = useState('');
  const [decision, setDecision] = useState('');
  const [open, setOpen] = useState<LiveCallT | null>(null);
  const [base] = useState(() => calls[0]?.seq ?? 0);
  useHotkeys({ p: () => setPaused(!paused) });

  const shown = useMemo(
    () => calls.filter((c) => (!keyId || c.keyId === keyId) && (!tenant || c.tenant === tenant) && (!decision || c.decision === decision)),
    [calls, keyId, tenant, decision],
  );

  return (
    <div className="page page-wide">
      <PageHeader
        title="Live"
        sub="Every tool call as it happens: who asked, for which tenant, and what the gate decided."
        actions={
          <>
            {paused && buffered.length ? <span className="warn-text" role="status">{buffered.length} new while paused</span> : null}
            <button type="button" className={`btn btn-small${paused ? ' btn-primary' : ''}`} onClick={() => setPaused(!paused)} aria-pressed={paused} title="Shortcut: p">
              {paused ? 'Resume' : 'Pause'}
            </button>
            <button type="button" className="btn btn-small btn-ghost" onClick={clear}>Clear</button>
          </>
        }
      />
      <div className="toolbar" role="group" aria-label="Filters">
        <label className="inline-field">Key
          <select value={keyId} onChange={(e) => setKeyId(e.target.value)}>
            <option value="">all keys</option>
            {lookups.data?.keys.map((k) => <option key={k.id} value={k.id}>{k.name} ({k.prefix}…)</option>)}
          </select>
        </label>
        <label className="inline-field">Tenant
          <select value={tenant} onChange={(e) => setTenant(e.target.value)}>
            <option value="">all tenants</option>
            {lookups.data?.tenants.map((t) => <option key={t.id} value={t.slug}>{t.slug}</option>)}
          </select>
        </label>
        <label className="inline-field">Decision
          <select value={decision} onChange={(e) => setDecision(e.target.value)}>
            <option value="">all decisions</option>
            {DECISIONS.map((d) => <option key={d} value={d}>{d}</option>)}
          </select>
        </label>
        <span className="muted tiny">{shown.length} of {calls.length} calls shown</span>
      </div>
      {error ? <ErrorBox error={error} onRetry={() => void load()} /> : null}
      {!loaded ? <Loading what="recent calls" /> : !shown.length ? (
        <Empty title={calls.length ? 'No calls match these filters' : 'No tool calls yet'}>
          {calls.length ? 'Change or clear the filters above.' : 'Connect an AI client with an API key (see API keys); its calls stream in here.'}
        </Empty>
      ) : (
        <ScrollBox className="panel fill" label="Tool calls">
          <table className="table table-rows sticky-first live-table" aria-label="Tool calls">
            <thead>
              <tr><th scope="col">Tool · action</th><th scope="col">Time</th><th scope="col">Tier</th><th scope="col">Decision</th><th scope="col">Key</th><th scope="col">Client</th><th scope="col">Tenant</th><th scope="col" className="num">Duration</th></tr>
            </thead>
            <tbody>
              {shown.map((c) => (
                <tr
                  key={c.seq} data-testid="live-row"
                  className={`clickable${c.seq > base ? ' row-new' : ''}${open?.seq === c.seq ? ' selected' : ''}`}
                  onClick={() => setOpen(c)}
                >
                  <td className="mono nowrap">
                    {/* The keyboard opens the details with this button; the mouse anywhere on the row. */}
                    <button type="button" className="link-btn" onClick={(e) => {
                      e.stopPropagation();
                      setOpen(c);
                    }}>{toolLabel(c.tool, c.action)}</button>
                    {/* The summary the feed carries: the devices named and the start of the arguments (the drawer loads them whole). */}
                    <div className="ellipsis muted tiny" title={c.argsBytes === null ? undefined : `${c.argsBytes.toLocaleString()} bytes of arguments; open the call for all of them`}>
                      {c.deviceCount === null ? null : <><span data-testid="live-devices">{c.deviceCount === 1 ? '1 device' : `${c.deviceCount} devices`}</span> · </>}
                      <span className="mono" data-testid="live-args">{c.argsPreview ?? ''}</span>
                    </div>
                  </td>
                  <td className="mono nowrap">{time(c.at)}</td>
                  <td><TierBadge tier={c.tier} /></td>
                  <td className="wrap-cell"><DecisionBadge decision={c.decision} code={c.code} />{c.grantId ? <> <Badge tone="accent" title={`Ran without a card under grant ${c.grantId}`}><span data-testid="live-grant">grant {c.grantId.slice(0, 8)}</span></Badge></> : null}
                    {c.planId ? <> <Badge tone="accent" title={`Ran without a card as step ${c.planStep} of plan ${c.planId}`}>plan step {c.planStep}</Badge></> : null}</td>
                  <td className="ellipsis" title={c.keyName ?? undefined}>{c.keyName ?? '—'}</td>
                  <td className="ellipsis muted" title={c.client ?? undefined}>{c.client ?? '—'}</td>
                  <td className="nowrap">{c.tenant ?? '—'}</td>
                  <td className="num mono">{ms(c.durationMs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollBox>
      )}
      {open ? <CallDetail call={open} onClose={() => setOpen(null)} /> : null}
    </div>
  );
}
