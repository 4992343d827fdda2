// "Approve and allow similar…": approves the card and lets later calls of the same key, tool, action and tenant run
// without a card inside an envelope the technician sees and may narrow, never widen past the card: which devices (the
// card's, or the group they all belong to), how many per call, the exact script, a patch ceiling, for how long and how
// often. Enter acts on the focused control only: the fields are not a form that submits.
import { useId, useState } from 'react';
import { PATCH_SEVERITY_ORDER, type ApprovalT, type GrantEnvelopeT } from '../../../src-main/console/contract.ts';
import { Dialog } from '../../components/Overlay.tsx';
import { VisibleText } from '../../components/VisibleText.tsx';
import { plural, toolLabel } from '../../lib/format.ts';

export interface GrantDraftT { envelope: GrantEnvelopeT; minutes?: number; uses?: number }

const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Number.isFinite(n) ? Math.round(n) : lo));

export function GrantDialog({ a, busy, onCancel, onConfirm }: { a: ApprovalT; busy: boolean; onCancel(): void; onConfirm(d: GrantDraftT): void }) {
  const offer = a.grantOffer!;
  const card = offer.card;
  const ids = card.devices.kind === 'set' ? card.devices.ids : [];
  const host = new Map(a.view.devices.map((d) => [d.id, d.hostname]));
  const uid = useId();
  const [scope, setScope] = useState<'set' | 'group'>('set');
  const [chosen, setChosen] = useState<string[]>(ids);
  const [perCall, setPerCall] = useState(card.maxDevicesPerCall);
  const [timeout, setTimeout_] = useState(card.script?.maxTimeoutSeconds ?? 0);
  const [severity, setSeverity] = useState(card.patches?.maxSeverity ?? 'low');
  const [patchCount, setPatchCount] = useState(card.patches?.maxCount ?? 1);
  const [override, setOverride] = useState(card.patches?.allowWindowOverride ?? false);
  const [limitTime, setLimitTime] = useState(true);
  const [minutes, setMinutes] = useState(60);
  const [limitUses, setLimitUses] = useState(true);
  const [uses, setUses] = useState(10);

  const severities = PATCH_SEVERITY_ORDER.slice(0, PATCH_SEVERITY_ORDER.indexOf(card.patches?.maxSeverity ?? 'low') + 1);
  const noDevices = scope === 'set' && chosen.length === 0;
  const noLimit = !limitTime && !limitUses;
  const submit = () => {
    const envelope: GrantEnvelopeT = {
      devices: scope === 'group' && offer.group ? { kind: 'group', groupId: offer.group.id, name: offer.group.name } : { kind: 'set', ids: chosen },
      maxDevicesPerCall: clamp(perCall, 1, card.maxDevicesPerCall),
    };
    if (card.script) envelope.script = { ...card.script, maxTimeoutSeconds: clamp(timeout, 1, card.script.maxTimeoutSeconds) };
    if (card.patches) envelope.patches = { maxSeverity: severity, maxCount: clamp(patchCount, 1, card.patches.maxCount), allowWindowOverride: override && card.patches.allowWindowOverride };
    if (card.version) envelope.version = card.version;
    onConfirm({ envelope, minutes: limitTime ? clamp(minutes, 1, offer.maxMinutes) : undefined, uses: limitUses ? clamp(uses, 1, offer.maxUses) : undefined });
  };

  return (
    <Dialog
      title="Approve and allow similar calls"
      wide
      onClose={onCancel}
      footer={
        <>
          <button type="button" className="btn" onClick={onCancel} data-autofocus>Cancel</button>
          <button type="button" className="btn btn-primary" onClick={submit} disabled={busy || noDevices || noLimit} data-testid="grant-confirm">Approve and create grant</button>
        </>
      }
    >
      <p>
        Approves this request now. Afterwards, <strong>{a.keyName ?? a.keyId}</strong> may make calls of <span className="mono">{toolLabel(a.tool, a.action)}</span> in <strong>{a.tenant}</strong> that
        stay inside what you set here without a card; each one is audited with the grant and counted against it. Anything else still gets a card.
        You can narrow what this card shows, never widen it.
      </p>
      <fieldset className="field">
        <legend className="field-label">Devices</legend>
        <label className="check"><input type="radio" name={`${uid}-scope`} checked={scope === 'set'} onChange={() => setScope('set')} /> Only these devices from the card</label>
        {scope === 'set' ? (
          <div className="check-list cols grant-devices">
            {ids.map((id) => (
              <label key={id} className="check mono">
                <input type="checkbox" checked={chosen.includes(id)} onChange={(e) => setChosen(e.target.checked ? [...chosen, id] : chosen.filter((x) => x !== id))} />
                <VisibleText text={host.get(id) ?? id} hostname />
              </label>
            ))}
          </div>
        ) : null}
        {offer.group ? (
          <label className="check"><input type="radio" name={`${uid}-scope`} checked={scope === 'group'} onChange={() => setScope('group')} />
            <span>Any device of group <strong>{offer.group.name}</strong> ({plural(offer.group.devices, 'device')} now), which every device on the card belongs to</span></label>
        ) : null}
      </fieldset>
      <div className="form-grid cols-3">
        <div className="field">
          <label className="field-label" htmlFor={`${uid}-per-call`}>Devices per call, at most</label>
          <input id={`${uid}-per-call`} type="number" min={1} max={card.maxDevicesPerCall} value={perCall} onChange={(e) => setPerCall(Number(e.target.value))} />
          <div className="field-hint">the card has {card.maxDevicesPerCall}</div>
        </div>
        {card.script ? (
          <div className="field">
            <label className="field-label" htmlFor={`${uid}-timeout`}>Script timeout, seconds, at most</label>
            <input id={`${uid}-timeout`} type="number" min={1} max={card.script.maxTimeoutSeconds} value={timeout} onChange={(e) => setTimeout_(Number(e.target.value))} />
            <div className="field-hint">the card's is {card.script.maxTimeoutSeconds}</div>
          </div>
        ) : null}
        {card.patches ? (
          <>
            <div className="field">
              <label className="field-label" htmlFor={`${uid}-severity`}>Patch severity, at most</label>
              <select id={`${uid}-severity`} value={severity} onChange={(e) => setSeverity(e.target.value as typeof severity)}>
                {severities.map((s) => <option key={s} value={s}>{s}</option>)}
              </select>
            </div>
            <div className="field">
              <label className="field-label" htmlFor={`${uid}-patches`}>Patches per call, at most</label>
              <input id={`${uid}-patches`} type="number" min={1} max={card.patches.maxCount} value={patchCount} onChange={(e) => setPatchCount(Number(e.target.value))} />
              <div className="field-hint">the card has {card.patches.maxCount}</div>
            </div>
          </>
        ) : null}
      </div>
      {card.patches?.allowWindowOverride ? (
        <label className="check"><input type="checkbox" checked={override} onChange={(e) => setOverride(e.target.checked)} /> May override the maintenance window (as this card does)</label>
      ) : null}
      {card.script ? (
        <p className="muted">Script: exactly the body on the card (SHA-256 <span className="mono">{card.script.sha256.slice(0, 16)}…</span>){card.script.scriptId ? ', from the library' : ''}, with the same parameters.</p>
      ) : null}
      {card.version ? <p className="muted">Agent version: exactly {card.version}.</p> : null}
      <fieldset className="field">
        <legend className="field-label">How long</legend>
        <div className="row gap wrap">
          <label className="check"><input type="checkbox" checked={limitTime} onChange={(e) => setLimitTime(e.target.checked)} /> For</label>
          <input aria-label="Minutes" className="narrow-input" type="number" min={1} max={offer.maxMinutes} value={minutes} disabled={!limitTime} onChange={(e) => setMinutes(Number(e.target.value))} />
          <span>minutes</span>
          <label className="check"><input type="checkbox" checked={limitUses} onChange={(e) => setLimitUses(e.target.checked)} /> and at most</label>
          <input aria-label="Uses" className="narrow-input" type="number" min={1} max={offer.maxUses} value={uses} disabled={!limitUses} onChange={(e) => setUses(Number(e.target.value))} />
          <span>calls</span>
        </div>
        <div className="field-hint">A grant always ends within {offer.maxMinutes / 60} hours, and you can revoke it at once under Approvals → Grants.</div>
      </fieldset>
      {noLimit ? <div className="form-error" role="alert">Set a time limit, a number of calls, or both.</div> : null}
      {noDevices ? <div className="form-error" role="alert">Choose at least one device.</div> : null}
    </Dialog>
  );
}
