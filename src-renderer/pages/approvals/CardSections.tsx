// The facts on an approval card: exactly what will run, on which devices, when.
import { useEffect, useState } from 'react';
import type { ApprovalT } from '../../../src-main/console/contract.ts';
import { Badge, OnlineDot, SeverityBadge } from '../../components/Badge.tsx';
import { CodeBlock, CopyButton, JsonView } from '../../components/Code.tsx';
import { sha256Hex } from '../../lib/browser.ts';
import { ago, dateTime, plural, utc } from '../../lib/format.ts';
import { ScrollBox } from '../../components/ScrollBox.tsx';
import { VisibleText } from '../../components/VisibleText.tsx';

type View = ApprovalT['view'];
type Facts = Omit<View, 'plan'>;

function HashCheck({ body, sha256 }: { body: string; sha256: string }) {
  const [actual, setActual] = useState<string | null | undefined>(undefined);
  useEffect(() => {
    let live = true;
    sha256Hex(body).then((h) => live && setActual(h), () => live && setActual(null));
    return () => {
      live = false;
    };
  }, [body]);
  if (actual === undefined || actual === null) return null;
  return actual === sha256
    ? <Badge tone="ok" title="The body shown here hashes to this SHA-256 in your browser">hash verified</Badge>
    : <Badge tone="danger" title={`The body shown hashes to ${actual}`}>BODY DOES NOT MATCH HASH</Badge>;
}

export function ScriptSection({ script, parameters, timeoutSeconds, where = '' }: Pick<Facts, 'parameters' | 'timeoutSeconds'> & { script: NonNullable<Facts['script']>; where?: string }) {
  const params = Object.entries(parameters);
  return (
    <div className="card-section">
      <div className="card-section-head">
        <span className="label">Script</span>
        <strong><VisibleText text={script.name} /></strong>
        <Badge tone="accent">{script.language}</Badge>
        <Badge>{script.source === 'library' ? (script.scope === 'library' ? 'MSP library' : `${script.scope} library`) : 'ad-hoc'}</Badge>
        <span className="muted">{plural(script.lines, 'line')} · {plural(script.bytes, 'byte')}{timeoutSeconds ? ` · timeout ${timeoutSeconds} s` : ''}</span>
      </div>
      <div className="hash-row">
        <span className="label">SHA-256</span>
        <code className="mono hash" data-testid="script-hash">{script.sha256}</code>
        <HashCheck body={script.body} sha256={script.sha256} />
        <CopyButton text={script.sha256} label="Copy hash" />
      </div>
      <CodeBlock code={script.body} lineNumbers maxHeight={280} label={`${where}Body of ${script.name}`} />
      {params.length ? (
        <ScrollBox label="Parameters">
          <table className="table table-compact">
            <thead><tr><th>Parameter</th><th>Value</th></tr></thead>
            <tbody>{params.map(([k, v]) => <tr key={k}><td className="mono"><VisibleText text={k} /></td><td className="mono wrap"><VisibleText text={v} /></td></tr>)}</tbody>
          </table>
        </ScrollBox>
      ) : null}
    </div>
  );
}

export function DevicesSection({ view, now }: { view: Facts; now: number }) {
  const showPatches = view.devices.some((d) => d.patchCount !== null);
  return (
    <div className="card-section">
      <div className="card-section-head">
        <span className="label">Targets</span>
        <strong data-testid="device-count">{plural(view.deviceCount, 'device')}</strong>
        <span className={view.onlineCount < view.deviceCount ? 'warn-text' : 'muted'}>{view.onlineCount} online · {view.deviceCount - view.onlineCount} offline</span>
        {view.bulkEscalated ? <Badge tone="warn">bulk: escalated to tier 3</Badge> : null}
      </div>
      <ScrollBox style={{ maxHeight: 220 }} label="Target devices">
        <table className="table table-compact">
          <thead><tr><th>Hostname</th><th>OS</th><th>State</th><th>Last seen</th>{showPatches ? <th className="num">Patches</th> : null}</tr></thead>
          <tbody>
            {view.devices.map((d) => (
              <tr key={d.id}>
                <td className="mono" title={d.id}><VisibleText text={d.hostname} hostname />{d.isolated ? <> <Badge tone="danger">isolated</Badge></> : null}
                  {d.hostnameConflict ? <> <Badge tone="warn" title="Another device of this tenant reports the same hostname: check the device id">duplicate hostname</Badge></> : null}</td>
                <td>{d.osVersion ?? d.os}</td>
                <td><OnlineDot online={d.online} /></td>
                <td className="muted" title={dateTime(d.lastSeenAt)}>{d.lastSeenAt ? ago(d.lastSeenAt, now) : '—'}</td>
                {showPatches ? <td className="num">{d.patchCount ?? '—'}</td> : null}
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollBox>
    </div>
  );
}

export function PatchesSection({ view }: { view: Facts }) {
  if (!view.patches.length) return null;
  return (
    <div className="card-section">
      <div className="card-section-head">
        <span className="label">Patches</span>
        <strong>{plural(view.patches.length, 'patch', 'patches')}</strong>
        {view.rebootRequired ? <Badge tone="warn">reboot required</Badge> : <Badge tone="muted">no reboot</Badge>}
      </div>
      <ScrollBox label="Patches">
      <table className="table table-compact">
        <thead><tr><th>ID</th><th>Title</th><th>OS</th><th>Severity</th><th>Reboot</th></tr></thead>
        <tbody>
          {view.patches.map((p) => (
            <tr key={p.id}>
              <td className="mono">{p.externalId}</td><td>{p.title}</td><td>{p.os}</td><td><SeverityBadge severity={p.severity} /></td>
              <td>{p.requiresReboot ? <span className="warn-text">yes</span> : 'no'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      </ScrollBox>
      {view.skipped.length ? (
        <details className="details">
          <summary>{plural(view.skipped.length, 'install')} skipped</summary>
          <ul className="plain">{view.skipped.map((s, i) => <li key={i}><span className="mono">{s.hostname}</span> · {s.externalId}: {s.reason}</li>)}</ul>
        </details>
      ) : null}
    </div>
  );
}

export function WindowSection({ window: w }: { window: Facts['window'] }) {
  const next = w.next ? `next "${w.next.name}" opens ${utc(w.next.start)}` : 'no upcoming window';
  let tone: 'ok' | 'warn' | 'danger' | 'muted' = 'muted';
  let text: string;
  switch (w.fit) {
    case 'inside': tone = 'ok'; text = `Inside "${w.current?.name ?? 'window'}" until ${utc(w.current?.end)}`; break;
    case 'scheduled_for_next_window': tone = 'ok'; text = `Scheduled: starts ${utc(w.notBefore)} in "${w.next?.name ?? 'next window'}"`; break;
    case 'override': tone = 'danger'; text = `OVERRIDE: runs now, outside the maintenance window (${next})`; break;
    case 'outside': tone = 'warn'; text = `Runs now, outside the maintenance window; ${next}`; break;
    default: tone = 'warn'; text = 'This tenant has no maintenance window';
  }
  return (
    <div className="card-section window-row">
      <span className="label">Window</span>
      <Badge tone={tone}>{w.fit.replaceAll('_', ' ')}</Badge>
      <span>{text}</span>
      {w.windows.length ? <span className="muted">({w.windows.map((x) => `${x.name}: ${x.schedule}`).join('; ')})</span> : null}
    </div>
  );
}

const KIND_LABEL: Record<string, string> = {
  bidi: 'bidirectional control', invisible: 'invisible character', control: 'control character', space: 'unusual space',
  confusable: 'look-alike in a hostname', 'mixed-script': 'letter from another script',
};

/** What makes the text shown differ from the text that runs: said first, in words, with every character listed. */
export function HiddenTextBanner({ hidden }: { hidden: Facts['hiddenText'] }) {
  if (!hidden.count) return null;
  const kinds = [...new Set(hidden.findings.map((f) => KIND_LABEL[f.kind] ?? f.kind))];
  return (
    <div className="banner banner-danger hidden-banner" data-testid="hidden-text">
      <strong>{plural(hidden.count, 'hidden or look-alike character')}</strong> ({kinds.join(', ')}): the text you read may not be the text that runs.
      Each one is shown below as its escaped code point, highlighted. Approving needs a second confirmation.
      <details className="details">
        <summary>Where they are</summary>
        <ul className="plain mono" aria-label="Hidden characters">
          {hidden.findings.map((f, i) => <li key={i}>{f.field}: {f.codePoint} {f.name}</li>)}
          {hidden.count > hidden.findings.length ? <li>… and {hidden.count - hidden.findings.length} more</li> : null}
        </ul>
      </details>
    </div>
  );
}

const PSA: Record<string, string> = { connectwise: 'ConnectWise', halopsa: 'HaloPSA', autotask: 'Autotask', other: 'Ticket' };

/** The facts of one call: what its own card shows (a plan's steps show the same). */
export function CardFacts({ view: v, now, where }: { view: Facts; now: number; where?: string }) {
  return (
    <>
      {v.ticket ? <div className="card-section" data-testid="ticket"><span className="label">PSA ticket</span> <strong>{PSA[v.ticket.system] ?? v.ticket.system}</strong> <span className="mono">{v.ticket.id}</span></div> : null}
      {v.requestReason ? <div className="card-section"><span className="label">Reason given</span> <span><VisibleText text={v.requestReason} /></span></div> : null}
      {v.warnings.length ? <ul className="warnings" aria-label="Warnings">{v.warnings.map((w, i) => <li key={i}><VisibleText text={w} /></li>)}</ul> : null}
      {v.script ? <ScriptSection script={v.script} parameters={v.parameters} timeoutSeconds={v.timeoutSeconds} where={where} /> : null}
      {v.devices.length ? <DevicesSection view={v} now={now} /> : null}
      <PatchesSection view={v} />
    </>
  );
}

/** propose_plan: the goal, then every step in order with the detail its own card would have. */
export function PlanSection({ plan, now }: { plan: NonNullable<View['plan']>; now: number }) {
  return (
    <div className="card-section plan" data-testid="plan">
      <div className="card-section-head"><span className="label">Plan</span> <strong>{plural(plan.steps.length, 'step')}</strong>
        <span className="muted">usable for {plan.expiresInMinutes} min once approved; each step must be called exactly as shown, in order</span></div>
      <p className="plan-goal"><span className="label">Goal</span> <VisibleText text={plan.goal} /></p>
      <ol className="plan-steps">
        {plan.steps.map((s) => (
          <li key={s.index} className="plan-step" data-testid="plan-step">
            <div className="plan-step-head"><strong className="mono">{s.tool}{s.action ? ` (${s.action})` : ''}</strong> <span><VisibleText text={s.summary} /></span></div>
            <CardFacts view={s.view} now={now} where={`Step ${s.index}: `} />
            <details className="details">
              <summary>Exact arguments of step {s.index}</summary>
              <JsonView value={s.args} maxHeight={200} label={`Exact arguments of step ${s.index}`} />
            </details>
          </li>
        ))}
      </ol>
    </div>
  );
}

export function CardBody({ a, now }: { a: ApprovalT; now: number }) {
  const v = a.view;
  return (
    <>
      <CardFacts view={v} now={now} />
      {v.plan ? <PlanSection plan={v.plan} now={now} /> : null}
      <WindowSection window={v.window} />
      <details className="details">
        <summary>Exact arguments (digest {a.digest.slice(0, 16)}…)</summary>
        <JsonView value={a.args} maxHeight={240} label="Exact arguments" />
      </details>
    </>
  );
}
