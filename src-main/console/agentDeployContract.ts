// Console methods for deploying agents (the Agents page's install commands, downloads and versions). Spread into
// consoleMethods by contract.ts; shared with the renderer, so zod only.
import { z } from 'zod';

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{1,39}$/, 'not a tenant slug');
const nstr = z.string().nullable();

export const AgentBuildView = z.object({
  target: z.string(), os: z.enum(['linux', 'windows', 'macos']), version: z.string(), sha256: z.string(), size: z.number().int(), signed: z.boolean(),
  url: nstr.describe('download over the agent listener (self-signed: pin its certificate); null while the listener is not running'),
});
export const AgentVersionView = z.object({
  id: z.string(), deviceId: z.string(), hostname: z.string(), tenant: z.string(), version: nstr, target: nstr, latest: nstr,
  upgradeAvailable: z.boolean(),
});
export const InstallCommand = z.object({ target: z.string(), os: z.enum(['linux', 'windows', 'macos']), shell: z.enum(['sh', 'powershell']), line: z.string() });

export const agentDeployMethods = {
  agentDeployment: {
    input: z.strictObject({}).optional(),
    output: z.object({
      agentUrl: nstr, certSha256: z.string(), builds: z.array(AgentBuildView).describe('newest version first'), agents: z.array(AgentVersionView),
    }),
  },
  agentInstallCommands: {
    input: z.strictObject({ tenant: slug, uses: z.number().int().min(1).max(10_000).optional(), expiresHours: z.number().min(0.001).max(24 * 365).optional() }),
    output: z.object({
      tokenId: z.string(), tokenPrefix: z.string(), expiresAt: z.string(), maxUses: z.number().int(), version: nstr,
      commands: z.array(InstallCommand).describe('one per published target of the newest version; empty when nothing is published'),
    }),
  },
} as const;

export type AgentBuildViewT = z.infer<typeof AgentBuildView>;
export type AgentVersionViewT = z.infer<typeof AgentVersionView>;
export type InstallCommandT = z.infer<typeof InstallCommand>;
