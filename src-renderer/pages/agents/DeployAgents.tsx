// Deploying agents: one-line install commands with a fresh enrollment token (per published target), the published builds
// with their SHA-256, and the version each agent runs with "upgrade available". Upgrades themselves are the upgrade_agent
// tool, approved on the Approvals page like any change to endpoints.
import { useState } from 'react';
import type { ConsoleOutput, TenantRefT } from '../../../src-main/console/contract.ts';
import { api } from '../../api/index.ts';
import { useAsync, useSubmit } from '../../lib/hooks.ts';
import { dateTime, plural } from '../../lib/format.ts';
import { Section } from '../../components/Layout.tsx';
import { Badge } from '../../components/Badge.tsx';
import { CodeBlock, CopyButton } from '../../components/Code.tsx';
import { Empty, ErrorBox, Loading } from '../../components/States.tsx';

const OS_LABEL = { linux: 'Linux', macos: 'macOS', windows: 'Windows' } as const;
const mib = (n: number) => `${(n / 1_048_576).toFixed(1)} MiB`;
const WHERE = { sh: 'in a terminal (it asks for sudo)', powershell: 'in PowerShell run as Administrator' } as const;

function InstallCommands({ tenants }: { tenants: TenantRefT[] }) {
  const [tenant, setTenant] = useState(tenants.length === 1 ? tenants[0]!.slug : '');
  const [uses, setUses] = useState('10');
  const [made, setMade] = useState<ConsoleOutput<'agentInstallCommands'> | null>(null);
  const n = Number(uses);
  const valid = tenant !== '' && Number.isInteger(n) && n >= 1 && n <= 10_000;
  const { busy, error, submit } = useSubmit(async () => {
    if (valid) setMade(await api.agentInstallCommands({ tenant, uses: n, expiresHours: 24 }));
  });
  return (
    <div className="install-commands">
      <form className="form-grid" onSubmit={submit} aria-label="Make install commands">
        <label className="field">
          <span className="field-label">Tenant</span>
          <select value={tenant} onChange={(e) => setTenant(e.target.value)} required>
            <option value="" disabled>Choose a tenant…</option>
            {tenants.map((t) => <option key={t.id} value={t.slug}>{t.name} ({t.slug})</option>)}
          </select>
        </label>
        <label className="field">
          <span className="field-label">Machines (token uses)</span>
          <input type="number" min={1} max={10000} value={uses} onChange={(e) => setUses(e.target.value)} required />
        </label>
        <div className="form-actions">
          {error ? <div className="form-error" role="alert">{error}</div> : null}
          <button type="submit" className="btn btn-primary" disabled={busy || !valid}>{busy ? 'Making…' : 'Make install commands'}</button>
        </div>
      </form>
      {made ? (
        <div className="commands" data-testid="install-commands">
          <p className="warn-text">
            Each command carries a new enrollment token ({made.tokenPrefix}…, {plural(made.maxUses, 'use')}, expires {dateTime(made.expiresAt)}): copy them now, they are shown once.
            They pin this console’s certificate and check the executable’s SHA-256 before running it.
          </p>
          {!made.commands.length ? <p className="notice">No agent build is published yet: run <span className="mono">countersign agent build --target all --data-dir D</span> on the console machine.</p> : null}
          {made.commands.map((c) => (
            <div className="snippet" key={c.target}>
              <div className="row space">
                <span className="muted">{OS_LABEL[c.os]} ({c.target}), agent {made.version}: paste {WHERE[c.shell]}</span>
                <CopyButton text={c.line} label={`Copy ${c.target} command`} />
              </div>
              <CodeBlock code={c.line} label={`${c.target} install command`} />
            </div>
          ))}
        </div>
      ) : null}
    </div>
  );
}

export function DeployAgents({ tenants, version }: { tenants: TenantRefT[]; version: unknown }) {
  const d = useAsync(() => api.agentDeployment(), [version]);
  const builds = d.data?.builds ?? [];
  const agents = d.data?.agents ?? [];
  const upgradable = agents.filter((a) => a.upgradeAvailable).length;
  return (
    <>
      <Section title="Install agents">
        {d.data && !d.data.agentUrl ? <p className="notice">The agent listener is not running: install commands need it.</p> : <InstallCommands tenants={tenants} />}
      </Section>
      <Section title="Agent builds" aside={<span className="muted">downloads go over the agent listener; its certificate is self-signed, so compare the SHA-256</span>}>
        {d.error ? <ErrorBox error={d.error} onRetry={d.reload} /> : null}
        {!d.data ? (d.loading ? <Loading what="agent builds" /> : null) : !builds.length ? (
          <Empty title="No agent builds published">Run <span className="mono">countersign agent build --target all --data-dir D</span> on the console machine.</Empty>
        ) : (
          <table className="table" aria-label="Agent builds">
            <thead><tr><th>Target</th><th>Version</th><th>SHA-256</th><th>Size</th><th>Code signed</th><th>Download</th></tr></thead>
            <tbody>
              {builds.map((b) => (
                <tr key={`${b.version}/${b.target}`}>
                  <td>{OS_LABEL[b.os]} <span className="muted">{b.target}</span></td>
                  <td className="mono">{b.version}</td>
                  <td><span className="mono tiny" data-testid={`sha-${b.target}-${b.version}`}>{b.sha256}</span> <CopyButton text={b.sha256} label="Copy" /></td>
                  <td>{mib(b.size)}</td>
                  <td>{b.os === 'linux' ? <span className="muted">not needed</span> : b.signed ? <Badge tone="ok">signed</Badge> : <Badge tone="warn">unsigned</Badge>}</td>
                  <td>{b.url ? <a href={b.url} download>{b.target}</a> : <span className="muted">listener not running</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <Section title="Agent versions" aside={d.data ? <span className="muted" data-testid="upgrade-counts">{upgradable} with an upgrade available · upgrade with the upgrade_agent tool (tier 3, approved here)</span> : null}>
        {d.data && agents.length ? (
          <table className="table" aria-label="Agent versions">
            <thead><tr><th>Host</th><th>Tenant</th><th>Runs</th><th>Newest build</th><th>Upgrade</th></tr></thead>
            <tbody>
              {agents.map((a) => (
                <tr key={a.id}>
                  <td>{a.hostname}</td>
                  <td>{a.tenant}</td>
                  <td className="mono">{a.version ?? '—'}</td>
                  <td className="mono">{a.latest ?? <span className="muted">{a.target ? `no ${a.target} build` : 'unknown target'}</span>}</td>
                  <td>{a.upgradeAvailable ? <Badge tone="accent">upgrade available</Badge> : <span className="muted">up to date</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : d.data ? <Empty title="No agents yet">Install one with a command above.</Empty> : null}
      </Section>
    </>
  );
}
