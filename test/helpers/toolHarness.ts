// Runs tool specs directly against a real seeded SQLite file: for unit tests of one tool's logic. Tools get what the
// gate gives them (a tenant-scoped reader, or a writer inside a store transaction), without the gate's checks.
// End-to-end behaviour (governance, transports) is tested through the MCP client in test/server/.
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../src-main/store/db.ts';
import { sqliteStore, type Store } from '../../src-main/store/store.ts';
import { seedDemoFleet } from '../../src-main/demo/seed.ts';
import { KeyService, type ApiKey, type Scope, type Tenant } from '../../src-main/auth/keys.ts';
import { Gate } from '../../src-main/governance/gate.ts';
import { bindPolicyAt } from '../../src-main/governance/policyBinding.ts';
import { PolicyService } from '../../src-main/governance/policy.ts';
import { ApprovalLifecycle } from '../../src-main/governance/approvals.ts';
import { RateLimiter } from '../../src-main/governance/rateLimiter.ts';
import { fleetTools } from '../../src-main/tools/registry.ts';
import { tenantReader, tenantWriter } from '../../src-main/store/data/index.ts';
import type { ReadContext, ToolPlan, ToolServices, ToolSpec } from '../../src-main/tools/types.ts';

/** The caller side of a tool context: the harness adds the reader or writer when it runs the tool. */
export interface CallCtx {
  key: ApiKey;
  now: Date;
  services: ToolServices;
  approvalId?: string;
}

type Out<T extends ToolSpec> = Awaited<ReturnType<T['execute']>>;

export interface Harness {
  dir: string;
  db: Db;
  store: Store;
  tenants: Tenant[];
  ctx(tenantSlugs?: string[], opts?: { scopes?: Scope[]; services?: Partial<ToolServices>; approvalId?: string }): CallCtx;
  /** The context plan gets: a reader over the read-only handle. */
  readContext(c: CallCtx): ReadContext;
  /** validate + plan, as the gate does before deciding. */
  plan(tool: ToolSpec, args: unknown, c: CallCtx): Promise<ToolPlan>;
  /** validate + plan + execute, as the gate does for an allowed call (without governance checks). */
  run<T extends ToolSpec>(tool: T, args: unknown, c: CallCtx): Promise<Out<T>>;
  /** A gate over this database (default policy), for the paths that need one: agent results, decisions. */
  gate(): Promise<Gate>;
}

export async function createHarness(opts: { signingKey?: KeyObject } = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'cs-tool-'));
  const db = openDatabase(join(dir, 'countersign.db'), { create: true });
  const store = sqliteStore(db, { signingKey: opts.signingKey ?? generateKeyPairSync('ed25519').privateKey });
  await seedDemoFleet(store, { seed: 7, now: new Date('2026-11-20T12:00:00Z') });
  let gate: Promise<Gate> | undefined;
  const tenants = db.prepare('SELECT id, slug, name FROM tenants ORDER BY slug').all() as Tenant[];
  const readContext = (c: CallCtx, tool?: ToolSpec): ReadContext => ({
    key: c.key, now: c.now, services: c.services,
    data: tenantReader(tool?.access === 'write' ? store.sql : store.readOnly, c.key.tenants, { keyId: c.key.id, approvalId: c.approvalId ?? null, now: c.now }),
  });
  const plan = (tool: ToolSpec, args: unknown, c: CallCtx) => tool.plan(tool.input.parse(args) as never, readContext(c, tool));
  return {
    dir,
    db,
    store,
    tenants,
    readContext,
    plan,
    gate: () => (gate ??= (async () => {
      const secret = randomBytes(32);
      const approvals = new ApprovalLifecycle(store, secret);
      // This store was not made by init: its empty policy is bound here, as init binds a new install's.
      await bindPolicyAt(store, secret, 'init');
      return new Gate({
        store, keys: new KeyService(store, secret), policy: await new PolicyService(store, {}, secret).load(), approvals, limiter: new RateLimiter(),
        tools: fleetTools(), services: { dataDir: dir, startReport: () => {} },
      });
    })()),
    ctx(slugs = tenants.map((t) => t.slug), opts = {}) {
      const mine = tenants.filter((t) => slugs.includes(t.slug));
      const key: ApiKey = {
        id: 'test-key', name: 'test', prefix: 'csk_test', scopes: opts.scopes ?? ['ai:read', 'ai:write', 'ai:execute'], role: 'admin',
        tenants: mine, readPerMinute: null, writePerMinute: null, createdAt: new Date().toISOString(), expiresAt: null, revokedAt: null,
        lastUsedAt: null, callCount: 0, owner: null,
      };
      return { key, now: new Date(), approvalId: opts.approvalId, services: { startReport: () => {}, dataDir: dir, ...opts.services } as ToolServices };
    },
    async run<T extends ToolSpec>(tool: T, args: unknown, c: CallCtx): Promise<Out<T>> {
      const spec = tool as ToolSpec;
      const parsed = spec.input.parse(args) as never;
      const p = await spec.plan(parsed, readContext(c, spec));
      if (spec.access === 'read') return (await spec.execute(parsed, readContext(c, spec), p)) as Out<T>;
      const out = await store.write(async (tx) => spec.execute(parsed, {
        key: c.key, now: c.now, services: c.services, approvalId: c.approvalId ?? null, afterCommit: (fn) => tx.afterCommit(fn),
        data: tenantWriter(tx.sql, store, c.key.tenants, { keyId: c.key.id, approvalId: c.approvalId ?? null, now: c.now }),
      }, p));
      return out as Out<T>;
    },
  };
}
