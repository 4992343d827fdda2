// Endpoint agents: enroll machines with per-tenant tokens (shown once, with the commands to paste), watch them come
// online from their heartbeats, and revoke agents or tokens.
import { useEffect, useState } from 'react';
import type { ConsoleOutput } from '../../../src-main/console/contract.ts';
import { api } from '../../api/index.ts';
import { useVersions } from '../../store/versions.ts';
import { useAsync, useNow } from '../../lib/hooks.ts';
import { keyHint, useHotkeys, useShortcutMode } from '../../lib/shortcuts.ts';
import { useFocusLater } from '../../lib/focus.ts';
import { plural } from '../../lib/format.ts';
import { PageHeader, Section } from '../../components/Layout.tsx';
import { Empty, ErrorBox, Loading } from '../../components/States.tsx';
import { CreateTokenForm, TokenCreated } from './TokenForm.tsx';
import { AgentsTable, TokensTable } from './Tables.tsx';
import { DeployAgents } from './DeployAgents.tsx';

const POLL_MS = 3_000;
const isLoopback = (url: string) => /^https:\/\/(127\.|localhost[:/]|\[::1\])/.test(url);

function Listener({ url }: { url: string | null | undefined }) {
  if (url === undefined) return null;
  if (!url) return <p className="notice listener">The agent listener is not running: agents cannot connect or enroll until the server starts it.</p>;
  return (
    <p className="listener muted">
      Agent listener <span className="mono strong-text" data-testid="agent-url">{url}</span>
      {isLoopback(url) ? <> · loopback only: for agents on other machines, start the server with <span className="mono">--agent-host</span> set to a reachable address.</> : null}
    </p>
  );
}

export function AgentsPage() {
  const version = useVersions((s) => s.keys);
  const agents = useAsync(() => api.listAgents(), [version]);
  const tokens = useAsync(() => api.listEnrollmentTokens(), [version]);
  const lookups = useAsync(() => api.lookups(), []);
  const now = useNow(5_000);
  const newToken = useFocusLater<HTMLButtonElement>();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<ConsoleOutput<'createEnrollmentToken'> | null>(null);
  const [showInactive, setShowInactive] = useState(false);
  // Presence comes from heartbeats, which are not pushed: re-read while the page is open.
  const reloadAgents = agents.reload;
  const reloadTokens = tokens.reload;
  useEffect(() => {
    const t = setInterval(() => {
      reloadAgents();
      reloadTokens();
    }, POLL_MS);
    return () => clearInterval(t);
  }, [reloadAgents, reloadTokens]);
  useHotkeys({ n: () => setCreating(true) }, !creating && !created);
  const keys = useShortcutMode((s) => s.mode);

  const allAgents = agents.data?.agents ?? [];
  const online = allAgents.filter((a) => a.online).length;
  const allTokens = tokens.data?.tokens ?? [];
  const inactive = allTokens.filter((t) => t.state !== 'active').length;
  const shownTokens = allTokens.filter((t) => showInactive || t.state === 'active');
  const reloadAll = () => {
    reloadAgents();
    reloadTokens();
  };

  return (
    <div className="page page-wide">
      <PageHeader
        title="Agents"
        sub="An endpoint agent on each managed machine reports its inventory and patches and runs only commands the console signed."
        actions={!creating && !created ? (
          <button type="button" className="btn btn-primary" onClick={() => setCreating(true)} aria-keyshortcuts={keyHint('n', keys)} ref={newToken.ref}>
            New enrollment token{keys === 'off' ? null : <kbd className="btn-key" aria-hidden="true">{keys === 'alt' ? 'Alt+n' : 'n'}</kbd>}
          </button>
        ) : null}
      />
      <Listener url={agents.data?.agentUrl} />
      {created ? (
        <TokenCreated created={created} onDone={() => {
          setCreated(null);
          newToken.later();
        }} />
      ) : creating ? (
        lookups.data ? (
          <CreateTokenForm
            tenants={lookups.data.tenants}
            onCreated={(r) => {
              setCreating(false);
              setCreated(r);
              reloadTokens();
            }}
            onCancel={() => {
              setCreating(false);
              newToken.later();
            }}
          />
        ) : lookups.error ? <ErrorBox error={lookups.error} onRetry={lookups.reload} /> : <Loading what="tenants" />
      ) : null}

      <Section title="Enrolled agents" aside={agents.data ? <span className="muted" data-testid="agent-counts">{online} online · {plural(allAgents.length, 'agent')}</span> : null}>
        {agents.error ? <ErrorBox error={agents.error} onRetry={agents.reload} /> : null}
        {!agents.data ? (agents.loading ? <Loading what="agents" /> : null) : !allAgents.length ? (
          <Empty title="No agents enrolled yet">Create an enrollment token, then run its enroll command on the machine to manage.</Empty>
        ) : <AgentsTable agents={allAgents} now={now} onChanged={reloadAll} />}
      </Section>

      <DeployAgents tenants={lookups.data?.tenants ?? []} version={version} />

      <Section
        title="Enrollment tokens"
        aside={<label className="check"><input type="checkbox" checked={showInactive} onChange={(e) => setShowInactive(e.target.checked)} /> Show used up, expired and revoked ({inactive})</label>}
      >
        {tokens.error ? <ErrorBox error={tokens.error} onRetry={tokens.reload} /> : null}
        {!tokens.data ? (tokens.loading ? <Loading what="enrollment tokens" /> : null) : !shownTokens.length ? (
          <Empty title={allTokens.length ? 'No active enrollment tokens' : 'No enrollment tokens yet'}>
            A token enrolls machines into one tenant, a limited number of times, until it expires. Create one with “New enrollment token”.
          </Empty>
        ) : <TokensTable tokens={shownTokens} now={now} onChanged={reloadAll} />}
      </Section>
    </div>
  );
}
