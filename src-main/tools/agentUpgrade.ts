// upgrade_agent: replaces the endpoint agent on devices with a build `countersign agent build --data-dir D` published.
// Tier 3: the card shows each device's current version, the target build and its SHA-256; the signed command carries that
// hash, and the agent refuses any download that does not match it.
import { join } from 'node:path';
import { z } from 'zod';
import { writeTool } from './types.ts';
import { byHostname, idSet } from './common.ts';
import { singleTenant } from '../store/data/index.ts';
import { AppError } from '../errors.ts';
import { NO_AGENT_NOTE, commandOutput } from './commands.ts';
import { buildsDir, findBuild, readBuilds } from '../agentBuild/manifest.ts';
import { compareVersions, targetFor, VERSION } from '../agentBuild/targets.ts';

interface PlannedUpgrade { id: string; hostname: string; online: boolean; currentVersion: string | null; target: string; sha256: string; size: number }

export const upgradeAgent = writeTool({
  name: 'upgrade_agent',
  title: 'Upgrade endpoint agent',
  description: 'Upgrade the Countersign endpoint agent on 1-50 devices of one tenant to a published build (default: the newest). '
    + 'Tier 3: a technician approves the version and the SHA-256 of each build. The agent verifies the download against that hash, '
    + 'swaps itself and restarts; a build that cannot reach the console is rolled back. Read the outcome with get_script_results.',
  input: z.object({
    deviceIds: idSet('Device', 1, 50).describe('Devices whose agent to upgrade, all in one tenant (1-50).'),
    version: VERSION.optional().describe('Agent version to install (MAJOR.MINOR.PATCH); default: the newest published build for each device.'),
    reason: z.string().max(500).optional().describe('Why, shown to the technician and kept in the audit log.'),
  }),
  output: z.object({ executionId: z.string(), version: z.string(), commands: z.array(commandOutput), note: z.string() }),
  baseTier: 3,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  async plan(args, ctx) {
    const rows = byHostname(await Promise.all(args.deviceIds.map((d) => ctx.data.require('device', d))));
    const tenant = singleTenant(rows, 'devices');
    const builds = readBuilds(buildsDir(ctx.services.dataDir));
    const version = args.version ?? builds[0]?.version;
    if (!version) throw new AppError('NOT_FOUND', 'No agent build is published on this console (countersign agent build --data-dir D).', 'agent_build_missing');
    const devices: PlannedUpgrade[] = [];
    for (const r of rows) {
      const agent = await ctx.data.devices.agentOf(r.id);
      const name = `${String(r.row.hostname)} (${r.id})`;
      if (!agent || agent.revoked_at) throw new AppError('INVALID_ARGUMENTS', `${name} has no enrolled endpoint agent to upgrade.`, 'agent_missing');
      let arch = '';
      try {
        arch = String((JSON.parse(String(r.row.hardware_json ?? '{}')) as { os?: { arch?: unknown } }).os?.arch ?? '');
      } catch {
        // unknown architecture: refused below
      }
      const target = targetFor(String(r.row.os), arch);
      if (!target) throw new AppError('INVALID_ARGUMENTS', `${name} reports OS ${String(r.row.os)} on '${arch}', which no agent build targets.`, 'agent_target_unknown');
      const build = findBuild(builds, target, version);
      if (!build) throw new AppError('NOT_FOUND', `No ${target} build of agent ${version} is published (needed for ${name}).`, 'agent_build_missing');
      devices.push({ id: r.id, hostname: String(r.row.hostname), online: r.row.status === 'online', currentVersion: agent.agent_version, target, sha256: build.sha256, size: build.size });
    }
    const downgrades = devices.filter((d) => d.currentVersion && compareVersions(version, d.currentVersion) < 0).map((d) => `${d.hostname} (${d.currentVersion})`);
    return {
      tenant,
      summary: `upgrade the endpoint agent to ${version} on ${devices.length} device(s) in ${tenant.slug}: ${devices.map((d) => d.hostname).join(', ')}`,
      detail: {
        version, devices, deviceCount: devices.length, reason: args.reason ?? null,
        builds: Object.fromEntries(devices.map((d) => [d.target, d.sha256])),
        warnings: downgrades.length ? [`This is a downgrade for ${downgrades.join(', ')}.`] : [],
        buildsFolder: join(buildsDir(ctx.services.dataDir), version),
      },
      deviceIds: args.deviceIds,
      effect: { deviceIds: args.deviceIds, version, builds: Object.fromEntries(devices.map((d) => [d.id, d.sha256])) },
    };
  },
  async execute(_args, ctx, plan) {
    const version = plan.detail.version as string;
    const devices = plan.detail.devices as PlannedUpgrade[];
    const reason = (plan.detail.reason as string | null) ?? null;
    const byId = new Map(devices.map((d) => [d.id, d]));
    const { executionId, commands } = await ctx.data.commands.queue({
      tenant: plan.tenant!, kind: 'device_action', tool: 'upgrade_agent', summary: plan.summary, detail: plan.detail, devices,
      // Exactly the approved hash per device: the agent downloads the build and refuses it unless it matches.
      payload: (d) => {
        const p = byId.get(d.id)!;
        return { action: 'upgrade_agent', version, target: p.target, sha256: p.sha256, size: p.size, reason };
      },
    });
    return { executionId, version, commands, note: NO_AGENT_NOTE };
  },
});
