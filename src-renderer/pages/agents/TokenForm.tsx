// A new enrollment token: the form (tenant, uses, expiry), then the token shown once with the ready-to-paste commands.
import { useState } from 'react';
import type { ConsoleOutput, TenantRefT } from '../../../src-main/console/contract.ts';
import { api } from '../../api/index.ts';
import { useSubmit } from '../../lib/hooks.ts';
import { Field } from '../../components/Layout.tsx';
import { CodeBlock, CopyButton } from '../../components/Code.tsx';
import { dateTime, plural } from '../../lib/format.ts';
import { useFocusOnMount } from '../../lib/focus.ts';

const EXPIRY = [['1', '1 hour'], ['24', '24 hours'], ['168', '7 days'], ['720', '30 days']] as const;

export function CreateTokenForm({ tenants, onCreated, onCancel }: {
  tenants: TenantRefT[];
  onCreated(r: ConsoleOutput<'createEnrollmentToken'>): void;
  onCancel(): void;
}) {
  const [tenant, setTenant] = useState(tenants.length === 1 ? tenants[0]!.slug : '');
  const [uses, setUses] = useState('1');
  const [expires, setExpires] = useState('24');
  const n = Number(uses);
  const valid = tenant !== '' && Number.isInteger(n) && n >= 1 && n <= 10_000;

  const { busy, error, submit } = useSubmit(async () => {
    if (valid) onCreated(await api.createEnrollmentToken({ tenant, uses: n, expiresHours: Number(expires) }));
  });

  return (
    <form className="panel form-grid token-form" onSubmit={submit} aria-label="Create enrollment token">
      <Field label="Tenant" htmlFor="token-tenant" hint="Machines enrolled with this token join this tenant.">
        <select id="token-tenant" value={tenant} onChange={(e) => setTenant(e.target.value)} autoFocus required>
          <option value="" disabled>Choose a tenant…</option>
          {tenants.map((t) => <option key={t.id} value={t.slug}>{t.name} ({t.slug})</option>)}
        </select>
      </Field>
      <Field label="Uses" htmlFor="token-uses" hint="How many machines may enroll with it (1–10,000).">
        <input id="token-uses" type="number" min={1} max={10000} value={uses} onChange={(e) => setUses(e.target.value)} required />
      </Field>
      <Field label="Expires after" htmlFor="token-expiry">
        <select id="token-expiry" value={expires} onChange={(e) => setExpires(e.target.value)}>
          {EXPIRY.map(([v, l]) => <option key={v} value={v}>{l}</option>)}
        </select>
      </Field>
      <div className="form-actions">
        {error ? <div className="form-error" role="alert">{error}</div> : null}
        <button type="submit" className="btn btn-primary" disabled={busy || !valid}>{busy ? 'Creating…' : 'Create token'}</button>
        <button type="button" className="btn btn-ghost" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}

function Command({ label, where, text }: { label: string; where: string; text: string }) {
  return (
    <div className="snippet">
      <div className="row space">
        <span className="muted">{where}</span>
        <CopyButton text={text} label={`Copy ${label.toLowerCase()}`} />
      </div>
      <CodeBlock code={text} label={label} />
    </div>
  );
}

export function TokenCreated({ created, onDone }: { created: ConsoleOutput<'createEnrollmentToken'>; onDone(): void }) {
  const t = created.token;
  const heading = useFocusOnMount<HTMLHeadingElement>();
  return (
    <section className="panel secret-panel" aria-labelledby="new-token-title">
      <div className="secret-head">
        <h2 id="new-token-title" ref={heading} tabIndex={-1}>Enrollment token for {t.tenant} created</h2>
        <p className="warn-text">Copy it now: it is shown once. Only its HMAC is stored, so it cannot be shown again.</p>
        <p className="muted tiny">{plural(t.maxUses, 'use')} · expires {dateTime(t.expiresAt)} · pins certificate <span className="mono">{created.certSha256.slice(0, 16)}…</span></p>
      </div>
      <div className="secret-row">
        <code className="mono secret" data-testid="new-token-secret">{created.secret}</code>
        <CopyButton text={created.secret} label="Copy token" className="btn-primary" />
      </div>
      {created.agentUrl ? null : (
        <p className="notice">The agent listener is not running, so the command has a placeholder URL: replace it with the listener’s https://HOST:PORT.</p>
      )}
      <div className="commands">
        <Command label="Enroll command" where="1. On the managed machine, as root or administrator: enroll once" text={created.command} />
        <Command label="Run command" where="2. Then run the agent (as a service)" text={created.runCommand} />
      </div>
      <div className="secret-done">
        <button type="button" className="btn" onClick={onDone}>Done, I have copied it</button>
      </div>
    </section>
  );
}
