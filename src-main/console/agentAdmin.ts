// Endpoint agents for the console: per-tenant enrollment tokens and enrolled agents, on top of the same classes the CLI
// uses (`enroll-tokens`, `agents`), so every change is audited the same way, with the console actor as its rule.
import type { App } from '../app.ts';
import type { TenantScope } from './tenantScope.ts';
import { listTenants } from '../auth/keys.ts';
import { ensureAgentCert } from '../agentServer/cert.ts';
import { EnrollmentTokens, type TokenInfo } from '../agentServer/tokens.ts';
import { getAgent, listAgents, revokeAgent, type AgentInfo } from '../agentServer/agents.ts';
import { AppError, type AgentViewT, type ConsoleInput, type ConsoleOutput, type EnrollmentTokenViewT } from './contract.ts';

/** Where the agent keeps its identity on the managed machine, in the ready-to-paste commands. */
export const DEFAULT_AGENT_STATE_DIR = '/var/lib/countersign-agent';
const URL_PLACEHOLDER = 'https://CONSOLE:AGENT_PORT';

export const tokenView = (t: TokenInfo): EnrollmentTokenViewT => ({ ...t });

export function agentView(a: AgentInfo): AgentViewT {
  return {
    id: a.id, deviceId: a.deviceId, hostname: a.hostname, tenant: a.tenant, os: a.os, osVersion: a.osVersion, agentVersion: a.agentVersion, remote: a.remote,
    online: a.status === 'online' && !a.revokedAt,
    enrolledAt: a.enrolledAt, lastConnectedAt: a.lastConnectedAt, lastHeartbeatAt: a.lastHeartbeatAt, revokedAt: a.revokedAt,
  };
}

export function enrollCommands(agentUrl: string | null, token: string, stateDir = DEFAULT_AGENT_STATE_DIR): { command: string; runCommand: string } {
  return {
    command: `countersign agent enroll --url ${agentUrl ?? URL_PLACEHOLDER} --token ${token} --state-dir ${stateDir}`,
    runCommand: `countersign agent run --state-dir ${stateDir}`,
  };
}

/** `scope`: the tenants the account acts on; tokens and agents of others are neither listed nor found. */
export function createAgentAdmin(app: App, actor: string, agentUrl: () => string | null, scope: TenantScope) {
  const tokens = new EnrollmentTokens(app.store, app.secrets.hmacKey);
  const url = () => agentUrl() ?? null;
  return {
    listTokens: async (): Promise<ConsoleOutput<'listEnrollmentTokens'>> => ({ tokens: (await tokens.list()).filter((t) => scope.seesSlug(t.tenant)).map(tokenView), agentUrl: url() }),

    async createToken(q: ConsoleInput<'createEnrollmentToken'>): Promise<ConsoleOutput<'createEnrollmentToken'>> {
      // Another tenant's slug is unknown to an account limited to some, as everywhere else.
      if (!scope.seesSlug(q.tenant) || !(await listTenants(app.store.sql)).some((t) => t.slug === q.tenant)) throw new AppError('BAD_INPUT', `tenant: unknown tenant ${q.tenant}`);
      // The same certificate the listener serves (made at init or first serve): the token carries its pin.
      const cert = await ensureAgentCert(app.dataDir);
      const { token, info } = await tokens.create({ tenant: q.tenant, uses: q.uses, expiresHours: q.expiresHours }, cert.sha256, actor);
      const at = url();
      return { token: tokenView(info), secret: token, agentUrl: at, certSha256: cert.sha256, ...enrollCommands(at, token) };
    },

    async revokeToken(id: string): Promise<ConsoleOutput<'revokeEnrollmentToken'>> {
      const t = await tokens.get(id);
      if (!t || !scope.seesSlug(t.tenant)) throw new AppError('NOT_FOUND', `no enrollment token ${id}`);
      return { token: tokenView(await tokens.revoke(id, actor)) };
    },

    listAgents: async (): Promise<ConsoleOutput<'listAgents'>> => ({ agents: (await listAgents(app.store.sql)).filter((a) => scope.seesSlug(a.tenant)).map(agentView), agentUrl: url() }),

    async revokeAgent(id: string): Promise<ConsoleOutput<'revokeAgent'>> {
      const a = await getAgent(app.store.sql, id);
      if (!a || !scope.seesSlug(a.tenant)) throw new AppError('NOT_FOUND', `no agent ${id}`);
      // The listener's hub closes a revoked agent's live connection within a second; its device then shows offline.
      return { agent: agentView(await revokeAgent(app.store, id, actor)) };
    },
  };
}
