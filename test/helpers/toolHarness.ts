// Runs tool specs directly against a real seeded SQLite file: for unit tests of one tool's logic.
// End-to-end behaviour (governance, transports) is tested through the MCP client in test/server/.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../src-main/store/db.ts';
import { seedDemoFleet } from '../../src-main/demo/seed.ts';
import { listTenants, type ApiKey, type Scope, type Tenant } from '../../src-main/auth/keys.ts';
import { createTenantScope } from '../../src-main/governance/scope.ts';
import type { ToolContext, ToolServices, ToolSpec } from '../../src-main/tools/types.ts';

export interface Harness {
  dir: string;
  db: Db;
  tenants: Tenant[];
  ctx(tenantSlugs?: string[], opts?: { scopes?: Scope[]; services?: Partial<ToolServices>; approvalId?: string }): ToolContext;
  /** plan + execute, as the pipeline does for an allowed call (without governance checks). */
  run<T extends ToolSpec>(tool: T, args: unknown, ctx: ToolContext): ReturnType<T['execute']>;
}

export function createHarness(): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'cs-tool-'));
  const db = openDatabase(join(dir, 'countersign.db'), { create: true });
  seedDemoFleet(db, { seed: 7, now: new Date('2026-11-20T12:00:00Z') });
  const tenants = listTenants(db);
  return {
    dir,
    db,
    tenants,
    ctx(slugs = tenants.map((t) => t.slug), opts = {}) {
      const mine = tenants.filter((t) => slugs.includes(t.slug));
      const key: ApiKey = {
        id: 'test-key', name: 'test', prefix: 'csk_test', scopes: opts.scopes ?? ['ai:read', 'ai:write', 'ai:execute'], role: 'admin',
        tenants: mine, readPerMinute: null, writePerMinute: null, createdAt: new Date().toISOString(), expiresAt: null, revokedAt: null,
        lastUsedAt: null, callCount: 0,
      };
      return {
        db, key, scope: createTenantScope(db, mine), now: new Date(), approvalId: opts.approvalId,
        services: { startReport: () => {}, bulkDeviceThreshold: () => 10, dataDir: dir, ...opts.services } as ToolServices,
      };
    },
    run<T extends ToolSpec>(tool: T, args: unknown, ctx: ToolContext) {
      const parsed = tool.input.parse(args);
      const plan = tool.plan(parsed, ctx);
      return db.transaction(() => tool.execute(parsed, ctx, plan))() as ReturnType<T['execute']>;
    },
  };
}
