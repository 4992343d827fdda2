// The enrolled agents and the enrollment tokens, each with a revoke that asks first.
import { useState } from 'react';
import type { AgentViewT, EnrollmentTokenViewT } from '../../../src-main/console/contract.ts';
import { api } from '../../api/index.ts';
import { ago, dateTime, num } from '../../lib/format.ts';
import { Badge, OnlineDot, StatusBadge } from '../../components/Badge.tsx';
import { ConfirmDialog } from '../../components/ConfirmDialog.tsx';
import { ScrollBox } from '../../components/ScrollBox.tsx';

export function AgentsTable({ agents, now, onChanged }: { agents: AgentViewT[]; now: number; onChanged: () => void }) {
  const [revoking, setRevoking] = useState<AgentViewT | null>(null);
  return (
    <>
      <ScrollBox className="panel" label="Enrolled agents">
      <table className="table table-rows sticky-first" aria-label="Enrolled agents">
        <thead>
          <tr>
            <th scope="col">Hostname</th><th scope="col">Tenant</th><th scope="col">OS</th><th scope="col">Status</th><th scope="col">Last heartbeat</th>
            <th scope="col">Address</th><th scope="col">Agent</th><th scope="col"><span className="sr-only">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          {agents.map((a) => (
            <tr key={a.id} data-testid="agent-row" data-hostname={a.hostname} className={a.revokedAt ? 'row-dim' : undefined}>
              <td className="nowrap"><div className="strong">{a.hostname}</div><div className="mono muted tiny" title={`device ${a.deviceId}`}>{a.deviceId.slice(0, 8)}…</div></td>
              <td className="nowrap">{a.tenant}</td>
              <td><div>{a.os}</div><div className="muted tiny ellipsis" title={a.osVersion ?? undefined}>{a.osVersion ?? '—'}</div></td>
              <td data-testid="agent-status">
                <OnlineDot online={a.online} />
                {a.revokedAt ? <> <Badge tone="danger" title={`revoked ${dateTime(a.revokedAt)}`}>revoked</Badge></> : null}
              </td>
              <td className="nowrap">
                <div title={dateTime(a.lastHeartbeatAt)}>{ago(a.lastHeartbeatAt, now)}</div>
                <div className="muted tiny" title={dateTime(a.enrolledAt)}>enrolled {ago(a.enrolledAt, now)}</div>
              </td>
              <td className="mono tiny nowrap">{a.remote ?? '—'}</td>
              <td className="mono tiny">{a.agentVersion ?? '—'}</td>
              <td className="num">
                {!a.revokedAt ? <button type="button" className="btn btn-small btn-danger-outline" onClick={() => setRevoking(a)} aria-label={`Revoke agent ${a.hostname}…`}>Revoke…</button> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      </ScrollBox>
      {revoking ? (
        <ConfirmDialog
          title={`Revoke agent “${revoking.hostname}”?`}
          action="Revoke agent"
          run={async () => {
            await api.revokeAgent({ id: revoking.id });
            return `Revoked the agent on ${revoking.hostname}: its connection closes and every reconnect is refused.`;
          }}
          onClose={(done) => {
            setRevoking(null);
            if (done) onChanged();
          }}
        >
          <p>
            The agent on <strong>{revoking.hostname}</strong> ({revoking.tenant}) is disconnected within a second and refused on every reconnect (401).
            Commands queued for it do not run. The device stays in the fleet, offline. To manage the machine again, enroll it anew with a new token.
            This cannot be undone.
          </p>
        </ConfirmDialog>
      ) : null}
    </>
  );
}

export function TokensTable({ tokens, now, onChanged }: { tokens: EnrollmentTokenViewT[]; now: number; onChanged: () => void }) {
  const [revoking, setRevoking] = useState<EnrollmentTokenViewT | null>(null);
  return (
    <>
      <ScrollBox className="panel" label="Enrollment tokens">
      <table className="table table-rows sticky-first" aria-label="Enrollment tokens">
        <thead>
          <tr>
            <th scope="col">Token</th><th scope="col">Tenant</th><th scope="col" className="num">Uses</th><th scope="col">Created</th><th scope="col">Expires</th>
            <th scope="col">State</th><th scope="col"><span className="sr-only">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          {tokens.map((t) => (
            <tr key={t.id} data-testid="token-row" data-token-id={t.id}>
              <td className="mono nowrap">{t.prefix}…</td>
              <td className="nowrap">{t.tenant}</td>
              <td className="num mono">{num(t.uses)}/{num(t.maxUses)}</td>
              <td className="nowrap" title={dateTime(t.createdAt)}>{ago(t.createdAt, now)}</td>
              <td className="nowrap" title={dateTime(t.expiresAt)}>{ago(t.expiresAt, now)}</td>
              <td><StatusBadge status={t.state === 'used_up' ? 'used up' : t.state} /></td>
              <td className="num">
                {t.state === 'active' ? <button type="button" className="btn btn-small btn-danger-outline" onClick={() => setRevoking(t)} aria-label={`Revoke token ${t.prefix}…`}>Revoke…</button> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      </ScrollBox>
      {revoking ? (
        <ConfirmDialog
          title={`Revoke token ${revoking.prefix}…?`}
          action="Revoke token"
          run={async () => {
            await api.revokeEnrollmentToken({ id: revoking.id });
            return `Revoked ${revoking.prefix}…: no new machine can enroll with it.`;
          }}
          onClose={(done) => {
            setRevoking(null);
            if (done) onChanged();
          }}
        >
          <p>No new machine can enroll into <strong>{revoking.tenant}</strong> with it. Agents already enrolled with it keep working: revoke them one by one.</p>
        </ConfirmDialog>
      ) : null}
    </>
  );
}
