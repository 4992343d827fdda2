// Grants: "approve and allow similar". A technician bounds, from one card, the calls the same key may make without a
// card: the same tool, action and tenant, inside an envelope no wider than the card (devices or their group, the exact
// script and parameters, a patch severity ceiling and count, devices per call), for T minutes and/or N uses. Grants are
// per key, never reach tier 4, expire closed, carry a keyed binding, are decided again against the policy in force at
// every call, and are revoked at once.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ApiKey, Tenant } from '../auth/keys.ts';
import { AppError } from '../errors.ts';
import { requestFindings } from '../hiddenChars.ts';
import type { Sql } from '../store/sql.ts';
import type { Tx } from '../store/store.ts';
import { deviceGroups, groupInfo, grantRows, type GrantRow } from '../store/data/grants.ts';
import type { Approval } from './approvals.ts';
import { effectiveTier, refusalFor } from './decide.ts';
import { callFacts, cardEnvelope, describeEnvelope, Envelope, GRANTABLE, outsideEnvelope, widerThanCard, type CallFacts } from './envelope.ts';
import type { Gate } from './gate.ts';
import { maxTier } from './tiers.ts';
import { KeysWithout } from './keysWithout.ts';

/** A grant lasts at most a day: "N uses" alone still expires closed. */
export const MAX_GRANT_MINUTES = 24 * 60;
export const MAX_GRANT_USES = 1000;

export const GrantDraft = z.strictObject({
  envelope: Envelope,
  minutes: z.number().int().min(1).max(MAX_GRANT_MINUTES).optional(),
  uses: z.number().int().min(1).max(MAX_GRANT_USES).optional(),
}).refine((d) => d.minutes !== undefined || d.uses !== undefined, 'a grant needs minutes, uses, or both');
export type GrantDraft = z.infer<typeof GrantDraft>;

export const GRANT_STATES = ['live', 'expired', 'used_up', 'revoked', 'suspended', 'tampered'] as const;
export type GrantState = (typeof GRANT_STATES)[number];

export interface Grant {
  id: string; keyId: string; keyName: string | null; tenantId: string; tenant: string; tool: string; action: string | null;
  envelope: Envelope; description: string; sourceApprovalId: string | null; createdAt: string; createdBy: string; expiresAt: string;
  maxUses: number | null; uses: number; revokedAt: string | null; revokedBy: string | null;
  /** live, or why it covers nothing now (suspended: the policy in force or the key no longer allows it). */
  state: GrantState;
  reason: string | null;
}

/** What a card may offer: the widest envelope, and the group its devices share (a grant may name that instead). */
export interface GrantOffer {
  card: Envelope;
  group: { id: string; name: string; devices: number } | null;
  maxMinutes: number;
  maxUses: number;
}

const boundFields = (r: Pick<GrantRow, 'id' | 'key_id' | 'tenant_id' | 'tool' | 'action' | 'envelope_json' | 'source_approval_id' | 'created_at' | 'created_by' | 'expires_at' | 'max_uses'>) =>
  [r.id, r.key_id, r.tenant_id, r.tool, r.action, r.envelope_json, r.source_approval_id, r.created_at, r.created_by, r.expires_at, r.max_uses];

/** The facts an approval's stored (and bound) effect and detail describe. */
export function approvalFacts(a: Approval): CallFacts | undefined {
  const ids = a.effect?.deviceIds;
  return callFacts(a.tool, {
    tenant: { id: a.tenantId, slug: a.tenant, name: a.tenant }, summary: a.summary, detail: a.detail, effect: a.effect ?? undefined,
    deviceIds: Array.isArray(ids) ? ids.filter((x): x is string => typeof x === 'string') : [],
  });
}

export class GrantService {
  private readonly gate: Gate;
  /** Keys with no live grant: most keys, asked on every whoami. */
  private readonly without: KeysWithout;
  constructor(gate: Gate) {
    this.gate = gate;
    this.without = new KeysWithout(() => gate.d.store.changes());
  }

  private get d() {
    return this.gate.d;
  }

  /** `standing`: also decide it against the key and the policy in force (the gate has done that already for a call). */
  private async toGrant(r: GrantRow, now: string, standing = true): Promise<Grant> {
    const parsed = (() => {
      try {
        return Envelope.safeParse(JSON.parse(r.envelope_json));
      } catch {
        return undefined;
      }
    })();
    const envelope = parsed?.success ? parsed.data : { devices: { kind: 'set' as const, ids: [] }, maxDevicesPerCall: 1 };
    const g: Grant = {
      id: r.id, keyId: r.key_id, keyName: r.key_name, tenantId: r.tenant_id, tenant: r.tenant_slug, tool: r.tool, action: r.action, envelope,
      description: describeEnvelope(r.tool, r.action, envelope), sourceApprovalId: r.source_approval_id, createdAt: r.created_at, createdBy: r.created_by,
      expiresAt: r.expires_at, maxUses: r.max_uses, uses: r.uses, revokedAt: r.revoked_at, revokedBy: r.revoked_by, state: 'live', reason: null,
    };
    const set = (state: GrantState, reason: string) => Object.assign(g, { state, reason });
    if (!parsed?.success || !this.d.approvals.sealHolds('grant', boundFields(r), r.binding)) set('tampered', 'The stored grant no longer matches its binding: it covers nothing.');
    else if (r.revoked_at) set('revoked', `Revoked by ${r.revoked_by ?? 'a technician'} at ${r.revoked_at}.`);
    else if (r.expires_at <= now) set('expired', `Expired at ${r.expires_at}.`);
    else if (r.max_uses !== null && r.uses >= r.max_uses) set('used_up', `All ${r.max_uses} uses are spent.`);
    else if (standing) {
      const why = await this.suspension(g);
      if (why) set('suspended', why);
    }
    return g;
  }

  /** Why the policy in force, or the key as it is now, no longer lets this grant cover anything. */
  private async suspension(g: Pick<Grant, 'keyId' | 'tenantId' | 'tenant' | 'tool' | 'action'>, given?: ApiKey): Promise<string | undefined> {
    const key = given ?? await this.d.keys.current(g.keyId);
    const tool = this.gate.tools.get(g.tool);
    if (!tool || !GRANTABLE[g.tool]) return `${g.tool} is not offered, or cannot be granted.`;
    if (!key) return 'The key no longer exists.';
    if (key.revokedAt) return `The key was revoked at ${key.revokedAt}.`;
    if (key.expiresAt && key.expiresAt <= new Date().toISOString()) return `The key expired at ${key.expiresAt}.`;
    if (!key.tenants.some((t) => t.id === g.tenantId)) return `The key no longer reaches tenant ${g.tenant}.`;
    const action = g.action ?? undefined;
    const tier = maxTier(3, effectiveTier(tool, action, g.tenantId, undefined, this.d.policy));
    return refusalFor(tool, tier, key, action, this.d.policy)?.message;
  }

  async get(id: string, sql: Sql = this.d.store.sql): Promise<Grant | undefined> {
    const r = await grantRows.get(sql, id);
    return r && this.toGrant(r, new Date().toISOString());
  }

  /** The grant made from a card (approve and allow similar), if any. */
  async fromSource(approvalId: string): Promise<Grant | undefined> {
    const r = await grantRows.bySource(this.d.store.sql, approvalId);
    return r && this.toGrant(r, new Date().toISOString());
  }

  async list(o: { live?: boolean; limit?: number; tenantIds?: readonly string[] } = {}): Promise<Grant[]> {
    const now = new Date().toISOString();
    return Promise.all((await grantRows.list(this.d.store.sql, { live: o.live ?? false, now, limit: o.limit ?? 200, tenantIds: o.tenantIds })).map((r) => this.toGrant(r, now)));
  }

  /** The grants a key may use now (whoami): live and not suspended. */
  async ofKey(keyId: string): Promise<Grant[]> {
    // The clock is read only when the rows are: the usual key, known to hold none, costs no date formatting.
    let now = '';
    const rows = await this.without.rows(keyId, () => grantRows.liveOfKey(this.d.store.sql, keyId, (now = new Date().toISOString())));
    if (rows.length === 0) return [];
    return (await Promise.all(rows.map((r) => this.toGrant(r, now)))).filter((g) => g.state === 'live');
  }

  /** What "Approve and allow similar…" may offer on this card, or undefined when a grant cannot come from it. */
  async offer(a: Approval): Promise<GrantOffer | undefined> {
    if (a.status !== 'pending' || a.integrity !== 'verified' || !GRANTABLE[a.tool]) return undefined;
    if (requestFindings({ summary: a.summary, detail: a.detail, ticket: a.args.ticket }).count > 0) return undefined;
    const facts = approvalFacts(a);
    const card = facts && cardEnvelope(a.tool, facts);
    if (!card || card.devices.kind !== 'set') return undefined;
    const groups = await deviceGroups(this.d.store.sql, a.tenantId, card.devices.ids);
    const ids = new Set(groups.values());
    const only = ids.size === 1 && groups.size === card.devices.ids.length ? [...ids][0] : null;
    const group = only ? await groupInfo(this.d.store.sql, a.tenantId, only) : undefined;
    return { card, group: group ?? null, maxMinutes: MAX_GRANT_MINUTES, maxUses: MAX_GRANT_USES };
  }

  /**
   * A grant from a pending card, in the caller's transaction (the one that approves the card): the draft may only
   * narrow what the card offers.
   */
  async fromApproval(tx: Tx, a: Approval, draft: GrantDraft, actor: string): Promise<Grant> {
    const offer = await this.offer(a);
    if (!offer) throw new AppError('CONFLICT', `No grant can be made from this request (${a.tool}): only a verified, pending request of run_script, deploy_patches, device_actions or upgrade_agent without hidden characters can start one.`, 'grant');
    const wider = widerThanCard(draft.envelope, offer.card, offer.group ?? undefined);
    if (wider.length) throw new AppError('BAD_INPUT', `The grant would cover more than the card: ${wider.join('; ')}.`, 'grant');
    const key = await this.d.keys.current(a.keyId);
    const tenant = key?.tenants.find((t) => t.id === a.tenantId);
    if (!key || !tenant) throw new AppError('CONFLICT', 'The requesting key no longer reaches this tenant.', 'grant');
    return this.create(tx, { key, tenant, tool: a.tool, action: a.action, draft, sourceApprovalId: a.id, actor });
  }

  /** Records a grant (audited in tx). Refused when the key or the policy in force would not let it cover a single call. */
  async create(tx: Tx, g: { key: ApiKey; tenant: Tenant; tool: string; action: string | null; draft: GrantDraft; sourceApprovalId: string | null; actor: string; now?: Date }): Promise<Grant> {
    const why = await this.suspension({ keyId: g.key.id, tenantId: g.tenant.id, tenant: g.tenant.slug, tool: g.tool, action: g.action }, g.key);
    if (why) throw new AppError('CONFLICT', `This grant could not cover anything: ${why}`, 'grant');
    const now = g.now ?? new Date();
    const row = {
      id: randomUUID(), key_id: g.key.id, tenant_id: g.tenant.id, tool: g.tool, action: g.action, envelope_json: JSON.stringify(g.draft.envelope),
      source_approval_id: g.sourceApprovalId, created_at: now.toISOString(), created_by: g.actor,
      expires_at: new Date(now.getTime() + (g.draft.minutes ?? MAX_GRANT_MINUTES) * 60_000).toISOString(), max_uses: g.draft.uses ?? null,
    };
    this.without.added(g.key.id);
    tx.afterCommit(() => this.without.added(g.key.id));
    await grantRows.insert(tx.sql, { ...row, binding: this.d.approvals.seal('grant', boundFields(row)) });
    const grant = (await this.get(row.id, tx.sql))!;
    await tx.audit({
      event: 'policy', decision: 'info', outcome: 'grant_created', rule: g.actor, keyId: g.key.id, keyName: g.key.name, tenant: g.tenant.slug, tool: g.tool,
      action: g.action, tier: 3, approvalId: g.sourceApprovalId,
      detail: { grantId: grant.id, covers: grant.description, envelope: grant.envelope, expiresAt: grant.expiresAt, maxUses: grant.maxUses },
    });
    return grant;
  }

  /** Revokes at once: the next call it would have covered gets a card. `sees`: the tenants the actor may act on. */
  async revoke(id: string, actor: string, sees: (tenantId: string) => boolean = () => true): Promise<Grant> {
    return this.d.store.write(async (tx) => {
      const g = await this.get(id, tx.sql);
      if (!g || !sees(g.tenantId)) throw new AppError('NOT_FOUND', `no grant ${id}`);
      if (!(await grantRows.revoke(tx.sql, id, new Date().toISOString(), actor))) throw new AppError('CONFLICT', `grant ${id} is already revoked`);
      await tx.audit({
        event: 'policy', decision: 'info', outcome: 'grant_revoked', rule: actor, keyId: g.keyId, keyName: g.keyName, tenant: g.tenant, tool: g.tool, action: g.action,
        detail: { grantId: id, uses: g.uses },
      });
      return (await this.get(id, tx.sql))!;
    });
  }

  /**
   * The live grant of this key that covers the call, or undefined. The gate has already decided the call against the
   * policy in force (scope, tier 4, admin-only, allowlist, ticket); here only the grant itself is checked.
   */
  async covering(sql: Sql, key: ApiKey, tenantId: string, tool: string, action: string | null, facts: CallFacts): Promise<Grant | undefined> {
    const now = new Date().toISOString();
    const rows = await grantRows.live(sql, key.id, tenantId, tool, now);
    let groups: Map<string, string | null> | undefined;
    for (const r of rows) {
      if (r.action !== action) continue;
      const g = await this.toGrant(r, now, false);
      if (g.state !== 'live') continue;
      if (g.envelope.devices.kind === 'group') groups ??= await deviceGroups(sql, tenantId, facts.deviceIds);
      if (!outsideEnvelope(tool, g.envelope, facts, (d) => groups?.get(d))) return g;
    }
    return undefined;
  }

  /** Counts one use in tx; false when the grant stopped being live meanwhile (the call then gets a card). */
  use(tx: Tx, id: string): Promise<boolean> {
    return grantRows.use(tx.sql, id, new Date().toISOString());
  }
}
