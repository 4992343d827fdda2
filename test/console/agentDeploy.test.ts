// The console's deployment methods over the same service both transports call: install commands (a fresh audited token
// per call, the certificate pinned, the build's SHA-256 checked) and bad input answered as BAD_INPUT / CONFLICT, never a 500.
import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, type App } from '../../src-main/app.ts';
import { createConsoleService, type ConsoleService } from '../../src-main/console/service.ts';
import { AppError, parseConsoleInput } from '../../src-main/console/contract.ts';
import { loadAgentCert, ensureAgentCert } from '../../src-main/agentServer/cert.ts';
import { buildsDir } from '../../src-main/agentBuild/manifest.ts';
import { parseToken } from '../../src-main/agent/protocol.ts';
import { initTestDir } from '../helpers/server.ts';

let app: App;
let svc: ConsoleService;
let listenerUrl: string | null = 'https://10.0.0.5:8443';
const SHA = 'ab'.repeat(32);

beforeAll(async () => {
  app = await openApp(await initTestDir(), { log: () => {} });
  await ensureAgentCert(app.dataDir);
  svc = createConsoleService(app, { agentUrl: () => listenerUrl });
  for (const t of ['linux-x64', 'win-x64', 'darwin-x64']) {
    const file = `${t}/countersign-agent${t === 'win-x64' ? '.exe' : ''}`;
    mkdirSync(join(buildsDir(app.dataDir), '0.2.0', t), { recursive: true });
    writeFileSync(join(buildsDir(app.dataDir), '0.2.0', file), 'x');
  }
  writeFileSync(join(buildsDir(app.dataDir), '0.2.0', 'manifest.json'), JSON.stringify({ version: '0.2.0', targets: Object.fromEntries(['linux-x64', 'win-x64', 'darwin-x64'].map((t) => [t, {
    target: t, file: `${t}/countersign-agent${t === 'win-x64' ? '.exe' : ''}`, sha256: SHA, size: 1, runtime: 'r', signed: t === 'win-x64', builtAt: '2026-01-01T00:00:00Z',
  }])) }));
});
afterAll(() => app?.close());

describe('agentInstallCommands', () => {
  it('makes one line per published target with a fresh token, the pinned certificate and the build hash', async () => {
    const r = await svc.agentInstallCommands({ tenant: 'acme-dental', uses: 3 });
    expect(r).toMatchObject({ version: '0.2.0', maxUses: 3 });
    expect(r.commands.map((c) => c.target).sort()).toEqual(['darwin-x64', 'linux-x64', 'win-x64']);
    const cert = loadAgentCert(app.dataDir)!;
    const spki = createHash('sha256').update(new X509Certificate(cert.cert).publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
    const linux = r.commands.find((c) => c.target === 'linux-x64')!;
    expect(linux.line).toContain(`--pinnedpubkey 'sha256//${spki}' 'https://10.0.0.5:8443/agent/v1/download/linux-x64/0.2.0'`);
    expect(linux.line).toContain(`echo "${SHA}  $f" | sha256sum -c -`);
    expect(r.commands.find((c) => c.target === 'darwin-x64')!.line).toContain('shasum -a 256 -c -');
    const win = r.commands.find((c) => c.target === 'win-x64')!;
    expect(win).toMatchObject({ shell: 'powershell' });
    expect(win.line).toContain(`-eq '${cert.sha256.toUpperCase()}'`);
    expect(win.line).toContain(`-ne '${SHA.toUpperCase()}'`);
    const token = /--token '([^']+)'/.exec(linux.line)![1]!;
    expect(parseToken(token)?.pin).toBe(cert.sha256);
    expect((await svc.listEnrollmentTokens()).tokens.find((t) => t.id === r.tokenId)).toMatchObject({ tenant: 'acme-dental', maxUses: 3, state: 'active' });
  });

  it('refuses bad input as BAD_INPUT and a stopped listener as CONFLICT', async () => {
    await expect(svc.agentInstallCommands({ tenant: 'no-such-tenant' })).rejects.toMatchObject({ code: 'BAD_INPUT' });
    for (const bad of [{}, { tenant: 'Acme Dental' }, { tenant: 'acme-dental', uses: 0 }, { tenant: 'acme-dental', extra: 1 }, { tenant: 'acme-dental', expiresHours: -1 }]) {
      expect(() => parseConsoleInput('agentInstallCommands', bad)).toThrow(AppError);
    }
    listenerUrl = null;
    try {
      await expect(svc.agentInstallCommands({ tenant: 'acme-dental' })).rejects.toMatchObject({ code: 'CONFLICT' });
    } finally {
      listenerUrl = 'https://10.0.0.5:8443';
    }
  });
});

describe('agentDeployment', () => {
  it('lists the builds with download URLs and SHA-256, newest first', async () => {
    const d = await svc.agentDeployment();
    expect(d.builds).toHaveLength(3);
    expect(d.builds[0]).toMatchObject({ version: '0.2.0', sha256: SHA, url: expect.stringMatching(/^https:\/\/10\.0\.0\.5:8443\/agent\/v1\/download\/[a-z0-9-]+\/0\.2\.0$/) });
    expect(d.builds.find((b) => b.target === 'win-x64')!.signed).toBe(true);
    expect(d.agents).toEqual([]);
  });
});
