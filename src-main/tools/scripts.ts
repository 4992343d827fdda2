import { createHash } from 'node:crypto';
import { z } from 'zod';
import { readTool, writeTool } from './types.ts';
import { byHostname, id, idSet, tenantArg } from './common.ts';
import { decodeCursor, page, pageInput, pageOutput } from './paging.ts';
import { singleTenant } from '../store/data/index.ts';
import { AppError } from '../errors.ts';
import { COMMAND_STATUSES, NO_AGENT_NOTE, commandOutput } from './commands.ts';
import { isMask, noDeviceKey, splitScriptSecrets } from './secretParams.ts';

export const LANGUAGES = ['powershell', 'bash', 'python'] as const;
type Language = (typeof LANGUAGES)[number];

export const MAX_BODY = 65_536;
/** stdout/stderr returned per command; the rest stays in the store and is flagged. */
export const OUTPUT_CAP = 16_384;

export const sha256Hex = (body: string) => createHash('sha256').update(body, 'utf8').digest('hex');

interface ScriptRow {
  id: string; tenant_id: string | null; name: string; description: string; language: Language; body: string; sha256: string; created_at: string;
}

const scriptSummary = z.object({
  id: z.string(), name: z.string(), description: z.string(), language: z.enum(LANGUAGES), sha256: z.string(),
  scope: z.string().describe("'library' for the MSP-wide library, else the tenant slug the script belongs to."),
  body: z.string().optional().describe('Only with includeBody.'),
  bodyTruncated: z.boolean().optional().describe(`True when the body is longer than ${MAX_BODY} characters and was cut.`),
});

export const listScripts = readTool({
  name: 'list_scripts',
  title: 'List scripts',
  description: 'List the script library: MSP-wide scripts (scope "library") plus the scripts of this key\'s tenants, with their SHA-256. '
    + 'Run one with run_script by its id. Paginated.',
  input: z.object({
    tenant: tenantArg.describe('Tenant slug: show only that tenant\'s own scripts besides the MSP-wide library; default: every tenant of this key.'),
    language: z.enum(LANGUAGES).optional(),
    search: z.string().min(1).max(100).optional().describe('Case-insensitive substring of the name or description.'),
    includeBody: z.boolean().default(false).describe('Also return each script\'s full body (larger answers).'),
    ...pageInput,
  }),
  output: z.object({ scripts: z.array(scriptSummary), ...pageOutput }),
  baseTier: 1,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  plan: async (args, ctx) => ({ tenant: args.tenant ? ctx.data.scope.select(args.tenant)[0]! : null, summary: 'list scripts', detail: {} }),
  async execute(args, ctx) {
    const offset = decodeCursor(args.cursor);
    const { total, rows } = await ctx.data.scripts.list(args, offset, args.limit, args.includeBody ? MAX_BODY : null);
    const scripts = rows.map((r) => ({
      id: r.id, name: r.name, description: r.description, language: r.language, sha256: r.sha256,
      scope: r.tenant_id === null ? 'library' : ctx.data.scope.slugOf(r.tenant_id),
      ...(args.includeBody ? { body: r.body ?? '', bodyTruncated: r.body_length > MAX_BODY } : {}),
    }));
    const { items, ...rest } = page(offset, args.limit, total, scripts);
    return { scripts: items, ...rest };
  },
});

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Per-language fit with each OS: 'refuse' stops the call, 'warn' is queued but flagged on the approval card. */
const OS_FIT: Record<Language, Partial<Record<string, { level: 'refuse' | 'warn'; why: string }>>> = {
  powershell: {
    linux: { level: 'warn', why: 'PowerShell on Linux needs pwsh (PowerShell 7) installed on the device' },
    macos: { level: 'warn', why: 'PowerShell on macOS needs pwsh (PowerShell 7) installed on the device' },
  },
  bash: { windows: { level: 'refuse', why: 'bash does not run on Windows devices' } },
  python: { windows: { level: 'warn', why: 'Python is not installed on Windows by default' } },
};

interface PlannedDevice { id: string; hostname: string; os: string; status: string; online: boolean }
interface PlannedScript { id: string | null; name: string; source: 'library' | 'ad-hoc'; scope: string; language: Language; sha256: string; body: string; lines: number; bytes: number }

export const runScript = writeTool({
  name: 'run_script',
  title: 'Run script',
  description: 'Run a library script (scriptId, from list_scripts) or an ad-hoc script (language + body) on 1-50 devices of one tenant. '
    + 'Tier 3: a technician sees the full body and its SHA-256 and must approve before it is queued. Read the output with get_script_results.',
  input: z.object({
    scriptId: id('Library script').optional().describe('Library script id from list_scripts. Give this OR language + body, not both.'),
    language: z.enum(LANGUAGES).optional().describe('Language of an ad-hoc body (required with body).'),
    body: z.string().min(1).max(MAX_BODY).optional().describe(`Ad-hoc script source, 1-${MAX_BODY} characters; hashed exactly as given.`),
    deviceIds: idSet('Device', 1, 50).describe('Target devices, all in one tenant (1-50).'),
    parameters: z.record(z.string().regex(PARAM_NAME, 'parameter names are identifiers: letters, digits, _ (max 64)'), z.string().max(1024))
      .refine((p) => Object.keys(p).length <= 20, 'at most 20 parameters')
      .optional().describe('Named string parameters passed to the script (at most 20; values up to 1024 characters).'),
    secretParameters: z.array(z.string().regex(PARAM_NAME)).max(20).optional()
      .describe('Names of parameters whose values are secret (passwords, keys): never stored or shown, only passed to the script. A library script may declare its own.'),
    timeoutSeconds: z.number().int().min(10).max(3600).default(300).describe('Kill the script after this many seconds (10-3600).'),
  }).superRefine((v, rc) => {
    const unknownSecret = (v.secretParameters ?? []).filter((n) => !Object.hasOwn(v.parameters ?? {}, n));
    if (unknownSecret.length) rc.addIssue({ code: 'custom', path: ['secretParameters'], message: `not among the parameters: ${unknownSecret.join(', ')}` });
    if ((v.scriptId === undefined) === (v.body === undefined)) {
      rc.addIssue({ code: 'custom', path: ['scriptId'], message: 'Give exactly one of scriptId (a library script) or body (an ad-hoc script with its language).' });
    } else if (v.body !== undefined && v.language === undefined) {
      rc.addIssue({ code: 'custom', path: ['language'], message: 'An ad-hoc body needs its language: powershell, bash or python.' });
    }
  }),
  output: z.object({
    executionId: z.string(),
    commands: z.array(commandOutput),
    script: z.object({ id: z.string().nullable(), name: z.string(), language: z.enum(LANGUAGES), sha256: z.string() }),
    note: z.string(),
  }),
  baseTier: 3,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  secretArgs: splitScriptSecrets,
  async plan(args, ctx) {
    const rows = byHostname(await Promise.all(args.deviceIds.map((d) => ctx.data.require('device', d))));
    const tenant = singleTenant(rows, 'devices');
    let script: PlannedScript;
    if (args.scriptId !== undefined) {
      const s = await ctx.data.require('script', args.scriptId);
      const r = s.row as unknown as ScriptRow;
      if (args.language !== undefined && args.language !== r.language) {
        throw new AppError('INVALID_ARGUMENTS', `Script '${r.name}' is ${r.language}, not ${args.language}; omit language for library scripts.`, 'script_language');
      }
      const hash = sha256Hex(r.body);
      if (hash !== r.sha256) {
        throw new AppError('CONFLICT', `Library script '${r.name}' does not match its recorded SHA-256; it will not run until the library is repaired.`,
          'script_integrity', {}, `script ${r.id} body hash ${hash} != stored ${r.sha256}`);
      }
      script = { id: r.id, name: r.name, source: 'library', scope: s.tenant ? s.tenant.slug : 'library', language: r.language, sha256: hash, body: r.body,
        lines: r.body.split('\n').length, bytes: Buffer.byteLength(r.body) };
      // A tenant's own script runs only on that tenant's devices.
      if (s.tenant && s.tenant.id !== tenant.id) {
        throw new AppError('INVALID_ARGUMENTS', `Script '${r.name}' belongs to tenant ${s.tenant.slug}; it cannot run on devices of ${tenant.slug}.`, 'single_tenant');
      }
    } else {
      const body = args.body!;
      script = { id: null, name: 'ad-hoc', source: 'ad-hoc', scope: 'ad-hoc', language: args.language!, sha256: sha256Hex(body), body,
        lines: body.split('\n').length, bytes: Buffer.byteLength(body) };
    }
    const devices: PlannedDevice[] = rows.map((r) => ({
      id: r.id, hostname: String(r.row.hostname), os: String(r.row.os), status: String(r.row.status), online: r.row.status === 'online',
    }));
    const warnings: string[] = [];
    const byFit = new Map<string, PlannedDevice[]>();
    for (const d of devices) {
      const fit = OS_FIT[script.language][d.os];
      if (!fit) continue;
      const key = `${fit.level}\u0000${fit.why}`;
      byFit.set(key, [...(byFit.get(key) ?? []), d]);
    }
    for (const [key, ds] of byFit) {
      const [level, why] = key.split('\u0000') as ['refuse' | 'warn', string];
      const names = ds.map((d) => `${d.hostname} (${d.id})`).join(', ');
      if (level === 'refuse') throw new AppError('INVALID_ARGUMENTS', `A ${script.language} script cannot run on ${names}: ${why}. Use powershell for Windows devices.`, 'script_os_mismatch');
      warnings.push(`${why}: ${names}.`);
    }
    const offline = devices.filter((d) => !d.online);
    if (offline.length) warnings.push(`${offline.length} device(s) offline; the script runs when they check in: ${offline.map((d) => d.hostname).join(', ')}.`);
    // Secret values never reach the plan's detail (the approval row, the execution, the card): only their masks.
    // The gate hands plan the arguments with secret values already masked: only masks reach the detail, the card and the rows.
    const params = args.parameters ?? {};
    const secretParameters = Object.keys(params).filter((n) => isMask(params[n]));
    if (secretParameters.length) {
      // Known before a card is raised: a device that cannot open sealed values never gets secret parameters.
      const keyless: string[] = [];
      for (const d of devices) {
        const agent = await ctx.data.devices.agentOf(d.id);
        if (!agent || agent.revoked_at || !agent.box_public_key) keyless.push(`${d.hostname} (${d.id})`);
      }
      if (keyless.length) throw new AppError('INVALID_ARGUMENTS', noDeviceKey(keyless), 'secret_needs_device_key');
    }
    return {
      tenant,
      summary: `run ${script.source === 'library' ? `script '${script.name}'` : 'an ad-hoc script'} (${script.language}, sha256 ${script.sha256.slice(0, 12)}…) `
        + `on ${devices.length} device(s) in ${tenant.slug}: ${devices.map((d) => d.hostname).join(', ')}`,
      detail: {
        script, devices, deviceCount: devices.length, onlineCount: devices.length - offline.length,
        parameters: params, parameterCount: Object.keys(params).length, secretParameters, timeoutSeconds: args.timeoutSeconds, warnings,
      },
      deviceIds: args.deviceIds,
      effect: {
        deviceIds: args.deviceIds, scriptId: script.id, language: script.language, sha256: script.sha256, parameters: params, timeoutSeconds: args.timeoutSeconds,
      },
    };
  },
  async execute(_args, ctx, plan) {
    // What runs is exactly what the plan (and the approving technician) saw.
    const script = plan.detail.script as PlannedScript;
    if (sha256Hex(script.body) !== script.sha256) throw new AppError('CONFLICT', 'The script body no longer matches its approved hash.', 'script_integrity');
    const devices = plan.detail.devices as PlannedDevice[];
    const payload = {
      scriptId: script.id, name: script.name, language: script.language, body: script.body, sha256: script.sha256,
      parameters: (plan.detail.parameters as Record<string, string>) ?? {}, timeoutSeconds: plan.detail.timeoutSeconds as number,
    };
    const { executionId, commands } = await ctx.data.commands.queue({
      tenant: plan.tenant!, kind: 'script', tool: 'run_script', summary: plan.summary, detail: plan.detail, devices, payload: () => payload,
    });
    return { executionId, commands, script: { id: script.id, name: script.name, language: script.language, sha256: script.sha256 }, note: NO_AGENT_NOTE };
  },
});

const commandResult = z.object({
  commandId: z.string(), deviceId: z.string(), hostname: z.string(), status: z.enum(COMMAND_STATUSES),
  exitCode: z.number().int().nullable(),
  stdout: z.string().nullable(), stdoutTruncated: z.boolean(), stdoutLength: z.number().int().describe('Full length in characters.'),
  stderr: z.string().nullable(), stderrTruncated: z.boolean(), stderrLength: z.number().int(),
  notBefore: z.string().nullable(), startedAt: z.string().nullable(), finishedAt: z.string().nullable(),
});

const TERMINAL = new Set(['completed', 'failed', 'timed_out', 'cancelled']);

export const getScriptResults = readTool({
  name: 'get_script_results',
  title: 'Get execution results',
  description: 'Status and output of one execution, per device: the generic result reader for any executionId (run_script, device_actions, patch installs). '
    + `stdout/stderr are capped at ${OUTPUT_CAP} characters each (flagged when cut). Paginated over devices.`,
  input: z.object({ executionId: id('Execution'), ...pageInput }),
  output: z.object({
    execution: z.object({
      id: z.string(), tenant: z.string(), kind: z.enum(['script', 'device_action', 'patch_install']), tool: z.string(), summary: z.string(),
      createdAt: z.string(), approvalId: z.string().nullable(),
    }),
    script: z.object({ id: z.string().nullable(), name: z.string(), language: z.string(), sha256: z.string() }).nullable(),
    counts: z.object({ queued: z.number(), running: z.number(), completed: z.number(), failed: z.number(), timed_out: z.number(), cancelled: z.number() }),
    finished: z.boolean().describe('True when every device\'s command reached a final state.'),
    commands: z.array(commandResult),
    ...pageOutput,
  }),
  baseTier: 1,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  plan: async (args, ctx) => ({ tenant: (await ctx.data.require('execution', args.executionId)).tenant, summary: `results of execution ${args.executionId}`, detail: {} }),
  async execute(args, ctx) {
    const e = await ctx.data.commands.execution(args.executionId);
    let script: { id: string | null; name: string; language: string; sha256: string } | null = null;
    if (e.kind === 'script') {
      const s = (JSON.parse(e.detail_json) as { script?: Partial<PlannedScript> }).script;
      if (s) script = { id: s.id ?? null, name: String(s.name ?? 'ad-hoc'), language: String(s.language ?? ''), sha256: String(s.sha256 ?? '') };
    }
    const counts = await ctx.data.commands.counts(e.id);
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const offset = decodeCursor(args.cursor);
    const rows = await ctx.data.commands.results(e, OUTPUT_CAP, offset, args.limit);
    const commands = rows.map((r) => ({
      commandId: r.id, deviceId: r.device_id, hostname: r.hostname ?? r.device_id, status: r.status, exitCode: r.exit_code,
      stdout: r.stdout, stdoutTruncated: (r.stdout_len ?? 0) > OUTPUT_CAP, stdoutLength: r.stdout_len ?? 0,
      stderr: r.stderr, stderrTruncated: (r.stderr_len ?? 0) > OUTPUT_CAP, stderrLength: r.stderr_len ?? 0,
      notBefore: r.not_before, startedAt: r.started_at, finishedAt: r.finished_at,
    }));
    const { items, ...rest } = page(offset, args.limit, total, commands);
    return {
      execution: { id: e.id, tenant: ctx.data.scope.slugOf(e.tenant_id), kind: e.kind, tool: e.tool, summary: e.summary, createdAt: e.created_at, approvalId: e.approval_id },
      script,
      counts,
      finished: total > 0 && Object.entries(counts).every(([s, n]) => n === 0 || TERMINAL.has(s)),
      commands: items,
      ...rest,
    };
  },
});
