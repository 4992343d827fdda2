// The contract mirrors the core's enumerations and policy shape, and stays importable by the renderer (zod only).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as contract from '../../src-main/console/contract.ts';
import { APPROVAL_STATUSES } from '../../src-main/governance/approvals.ts';
import { ROLES, SCOPES } from '../../src-main/auth/keys.ts';
import { DEFAULT_POLICY, PolicySchema } from '../../src-main/governance/policyValues.ts';
import type { AuditDecision, AuditEvent } from '../../src-main/audit/log.ts';
import { z } from 'zod';
import { Envelope, PATCH_SEVERITIES } from '../../src-main/governance/envelope.ts';
import { GRANT_STATES } from '../../src-main/governance/grants.ts';
import { PSA_SYSTEMS } from '../../src-main/governance/ticket.ts';
import { TECHNICIAN_ROLES } from '../../src-main/auth/technicians.ts';
import { MIN_PASSPHRASE_LENGTH } from '../../src-main/auth/passphrase.ts';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const typeCheck: [Same<AuditDecision, (typeof contract.AUDIT_DECISIONS)[number]>, Same<AuditEvent, (typeof contract.AUDIT_EVENTS)[number]>] = [true, true];

describe('contract', () => {
  it('mirrors the core enumerations', () => {
    expect(typeCheck).toEqual([true, true]);
    expect([...contract.APPROVAL_STATUSES]).toEqual([...APPROVAL_STATUSES]);
    expect([...contract.SCOPES]).toEqual([...SCOPES]);
    expect([...contract.ROLES]).toEqual([...ROLES]);
    expect(Object.keys(contract.PolicyValues.shape).sort()).toEqual(Object.keys(PolicySchema.shape).sort());
    expect([...contract.POLICY_NAMES].sort()).toEqual(Object.keys(PolicySchema.shape).sort());
    expect(contract.PolicyValues.parse(DEFAULT_POLICY)).toEqual(DEFAULT_POLICY);
    expect([...contract.TECHNICIAN_ROLE_NAMES]).toEqual([...TECHNICIAN_ROLES]);
    expect(contract.TECHNICIAN_PASSPHRASE_MIN).toBe(MIN_PASSPHRASE_LENGTH);
  });

  it('every method has an input and an output schema', () => {
    expect(contract.CONSOLE_METHOD_NAMES.length).toBeGreaterThanOrEqual(20);
    for (const m of contract.CONSOLE_METHOD_NAMES) {
      expect(contract.consoleMethods[m].input, m).toBeDefined();
      expect(contract.consoleMethods[m].output, m).toBeDefined();
    }
    expect(contract.isConsoleMethod('approve')).toBe(true);
    expect(contract.isConsoleMethod('constructor')).toBe(false);
    expect(contract.isConsoleMethod('__proto__')).toBe(false);
  });

  it('a grant envelope is the core\'s', () => {
    const json = (s: z.ZodType) => JSON.stringify(z.toJSONSchema(s, { io: 'input' }));
    expect(json(contract.GrantEnvelope)).toEqual(json(Envelope));
    expect([...contract.PATCH_SEVERITY_ORDER]).toEqual([...PATCH_SEVERITIES]);
    expect([...contract.GRANT_STATES]).toEqual([...GRANT_STATES]);
    expect([...contract.PSA_SYSTEMS]).toEqual([...PSA_SYSTEMS]);
  });

  it('imports nothing but zod, the error model, the hidden-character scanner and the account name\'s schema, which import nothing else', () => {
    const importsOf = (file: string) => {
      const src = readFileSync(new URL(file, import.meta.url), 'utf8');
      return [...src.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]);
    };
    expect(new Set(importsOf('../../src-main/console/contract.ts'))).toEqual(new Set(['zod', '../errors.ts', '../hiddenChars.ts', './teamContract.ts']));
    expect(importsOf('../../src-main/console/teamContract.ts')).toEqual(['zod', '../auth/technicianName.ts']);
    expect(importsOf('../../src-main/auth/technicianName.ts')).toEqual(['zod']);
    expect(importsOf('../../src-main/errors.ts')).toEqual([]);
    expect(importsOf('../../src-main/hiddenChars.ts')).toEqual([]);
  });

  it('the renderer imports no node or electron module, and reaches the main process only through the contract', () => {
    const root = new URL('../../src-renderer/', import.meta.url).pathname;
    const files: string[] = [];
    const walk = (d: string) => {
      for (const f of readdirSync(d)) {
        const p = join(d, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.(ts|tsx)$/.test(f)) files.push(p);
      }
    };
    walk(root);
    expect(files.length).toBeGreaterThan(10);
    const builtins = new Set(['fs', 'path', 'os', 'child_process', 'crypto', 'http', 'https', 'net', 'url', 'events', 'stream', 'util', 'worker_threads', 'buffer', 'process']);
    for (const f of files) {
      const src = readFileSync(f, 'utf8');
      for (const m of src.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm)) {
        const spec = (m[1] ?? m[2] ?? m[3])!;
        expect(spec.startsWith('node:') || builtins.has(spec.split('/')[0]!) || spec === 'electron' || spec.startsWith('electron/'), `${f}: ${spec}`).toBe(false);
        if (spec.includes('src-main/')) expect(spec, `${f} may import only the contract from src-main`).toMatch(/src-main\/console\/contract\.ts$/);
      }
    }
  });
});
