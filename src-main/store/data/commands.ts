// Executions and their device commands: queued (and signed) in the transaction that allows them, read back per
// execution or per approval.
import { randomUUID } from 'node:crypto';
import type { Tenant } from '../../auth/keys.ts';
import { AppError } from '../../errors.ts';
import type { Sql } from '../sql.ts';
import type { CommandSigner } from '../store.ts';
import type { SecretVault, Secrets } from '../vault.ts';
import { noDeviceKey, sealPayload } from '../../tools/secretParams.ts';
import { seal } from '../../agent/sealed.ts';
import type { Scope } from './scope.ts';

export const COMMAND_STATUSES = ['queued', 'running', 'completed', 'failed', 'timed_out', 'cancelled'] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];
export type CommandKind = 'script' | 'device_action' | 'patch_install';

export interface DeviceRef {
  id: string;
  hostname: string;
}

export interface QueueInput {
  tenant: Tenant;
  kind: CommandKind;
  tool: string;
  summary: string;
  detail: Record<string, unknown>;
  devices: readonly DeviceRef[];
  payload: (d: DeviceRef) => Record<string, unknown>;
  notBefore?: string | null;
}

export interface QueuedCommand { commandId: string; deviceId: string; hostname: string; status: 'queued'; notBefore: string | null }

export interface ExecutionRow {
  id: string; tenant_id: string; kind: CommandKind; tool: string; summary: string; detail_json: string; created_at: string; approval_id: string | null;
}

export interface CommandResultRow {
  id: string; device_id: string; hostname: string | null; status: CommandStatus; exit_code: number | null;
  stdout: string | null; stdout_len: number | null; stderr: string | null; stderr_len: number | null;
  not_before: string | null; started_at: string | null; finished_at: string | null;
}

export const zeroCounts = (): Record<CommandStatus, number> => ({ queued: 0, running: 0, completed: 0, failed: 0, timed_out: 0, cancelled: 0 });

export class Commands {
  private readonly sql: Sql;
  private readonly scope: Scope;
  private readonly who: { keyId: string; approvalId: string | null; now: Date; secrets?: Secrets };
  private readonly signing: { signer: CommandSigner; vault: SecretVault } | undefined;
  constructor(sql: Sql, scope: Scope, who: { keyId: string; approvalId: string | null; now: Date; secrets?: Secrets }, signing?: { signer: CommandSigner; vault: SecretVault }) {
    this.sql = sql;
    this.scope = scope;
    this.who = who;
    this.signing = signing;
  }

  /** Queues one execution with a command per device, each signed in this same transaction (what runs is what was allowed). */
  async queue(p: QueueInput): Promise<{ executionId: string; commands: QueuedCommand[] }> {
    const signing = this.signing;
    if (!signing) throw new Error('queueing commands needs the store\'s signer (a writer)');
    this.scope.tenantById(p.tenant.id);
    const executionId = randomUUID();
    const now = this.who.now.toISOString();
    await this.sql.run(`INSERT INTO executions (id, tenant_id, kind, tool, approval_id, key_id, summary, detail_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [executionId, p.tenant.id, p.kind, p.tool, this.who.approvalId, this.who.keyId, p.summary, JSON.stringify(p.detail), now]);
    const commands: QueuedCommand[] = [];
    for (const d of p.devices) {
      const commandId = randomUUID();
      const payload = await this.sealedFor(d, commandId, p.payload(d));
      const notBefore = p.notBefore ?? null;
      await this.sql.run(`INSERT INTO device_commands (id, execution_id, tenant_id, device_id, kind, payload_json, status, not_before, created_at)
        VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?)`, [commandId, executionId, p.tenant.id, d.id, p.kind, JSON.stringify(payload), notBefore, now]);
      // The row, the signature and the wire carry secret parameters as masks plus values sealed to the device.
      const { fields, signature } = signing.signer.sign({ commandId, deviceId: d.id, approvalId: this.who.approvalId, kind: p.kind, payload, notBefore }, this.who.now);
      await this.sql.run(`INSERT INTO command_signatures (command_id, device_id, approval_id, kind, issued_at, nonce, signature) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        [fields.commandId, fields.deviceId, fields.approvalId, fields.kind, fields.issuedAt, fields.nonce, signature]);
      commands.push({ commandId, deviceId: d.id, hostname: d.hostname, status: 'queued', notBefore });
    }
    return { executionId, commands };
  }

  /**
   * The payload with its secret parameters sealed to the device's agent key (agent/sealed.ts). A device whose agent has
   * no key (enrolled before sealing) or no agent gets none: the secret is never sent under TLS alone.
   */
  private async sealedFor(d: DeviceRef, commandId: string, payload: Record<string, unknown>): Promise<Record<string, unknown>> {
    const secrets = this.who.secrets;
    if (!secrets || !Object.keys(secrets).length) return payload;
    const agent = await this.sql.get<{ box_public_key: string | null }>('SELECT box_public_key FROM agents WHERE device_id = ? AND revoked_at IS NULL', [d.id]);
    const key = agent?.box_public_key;
    const sealed = sealPayload(this.signing!.vault.mask, payload, secrets, (name, value) => {
      if (!key) throw new AppError('INVALID_ARGUMENTS', noDeviceKey([`${d.hostname} (${d.id})`]), 'secret_needs_device_key');
      return seal(key, value, { commandId, deviceId: d.id, name });
    });
    return sealed ?? payload;
  }

  async execution(id: string): Promise<ExecutionRow> {
    const tf = this.scope.filter('tenant_id');
    const e = await this.sql.get<ExecutionRow>(`SELECT * FROM executions WHERE id = ? AND ${tf.sql}`, [id, ...tf.params]);
    if (!e) throw new AppError('NOT_FOUND', `No execution with id '${id}' in the tenants this key can reach.`, 'tenant_isolation', { kind: 'execution', id });
    return e;
  }

  async counts(executionId: string): Promise<Record<CommandStatus, number>> {
    const counts = zeroCounts();
    for (const c of await this.sql.all<{ status: CommandStatus; n: number }>('SELECT status, count(*) AS n FROM device_commands WHERE execution_id = ? GROUP BY status', [executionId])) {
      counts[c.status] = c.n;
    }
    return counts;
  }

  /** One page of an execution's commands with their output cut at outputCap characters (lengths say how long it was). */
  async results(e: ExecutionRow, outputCap: number, offset: number, limit: number): Promise<CommandResultRow[]> {
    const cap = Math.trunc(outputCap);
    return this.sql.all<CommandResultRow>(`SELECT c.id, c.device_id, d.hostname, c.status, c.exit_code,
        substr(c.stdout, 1, ${cap}) AS stdout, length(c.stdout) AS stdout_len, substr(c.stderr, 1, ${cap}) AS stderr, length(c.stderr) AS stderr_len,
        c.not_before, c.started_at, c.finished_at
      FROM device_commands c LEFT JOIN devices d ON d.id = c.device_id
      WHERE c.execution_id = ? AND c.tenant_id = ? ORDER BY d.hostname, c.id LIMIT ? OFFSET ?`, [e.id, e.tenant_id, limit, offset]);
  }

  /** The executions an approval queued (newest last). */
  async executionsOfApproval(approvalId: string): Promise<ExecutionRow[]> {
    const tf = this.scope.filter('tenant_id');
    return this.sql.all<ExecutionRow>(`SELECT * FROM executions WHERE approval_id = ? AND ${tf.sql} ORDER BY created_at, id`, [approvalId, ...tf.params]);
  }
}

/** Devices one key changed in one tenant since a time, through calls that ran without approval (the bulk window). */
export async function devicesTouchedWithoutApproval(sql: Sql, keyId: string, tenantId: string, since: string): Promise<Set<string>> {
  const rows = await sql.all<{ device_id: string }>(`SELECT DISTINCT c.device_id FROM device_commands c JOIN executions e ON e.id = c.execution_id
    WHERE e.key_id = ? AND e.tenant_id = ? AND e.approval_id IS NULL AND e.created_at >= ?`, [keyId, tenantId, since]);
  return new Set(rows.map((r) => r.device_id));
}
