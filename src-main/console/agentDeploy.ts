// The Agents page's deployment view: published agent builds (download URL and SHA-256), the version each agent runs and
// whether a newer build exists, and one-line install commands with a fresh enrollment token. The commands pin the agent
// listener's certificate (curl: its public key; PowerShell: its SHA-256) and check the executable's SHA-256 before running it.
import { createHash, X509Certificate } from 'node:crypto';
import type { App } from '../app.ts';
import { listTenants } from '../auth/keys.ts';
import { ensureAgentCert } from '../agentServer/cert.ts';
import { listAgents } from '../agentServer/agents.ts';
import { EnrollmentTokens } from '../agentServer/tokens.ts';
import { DOWNLOAD_PATH } from '../agent/protocol.ts';
import { buildsDir, readBuilds, type PublishedBuild } from '../agentBuild/manifest.ts';
import { compareVersions, targetFor, targetOs, type Target } from '../agentBuild/targets.ts';
import { AppError, type ConsoleInput, type ConsoleOutput, type InstallCommandT } from './contract.ts';


/** curl's --pinnedpubkey value: SHA-256 of the certificate's SubjectPublicKeyInfo, base64. */
export const spkiPin = (certPem: string) =>
  `sha256//${createHash('sha256').update(new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' })).digest('base64')}`;

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const psq = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** The one line a technician pastes on a machine, as root (sudo) or in an elevated PowerShell. */
export function installLine(b: Pick<PublishedBuild, 'target' | 'version' | 'sha256'>, agentUrl: string, cert: { pem: string; sha256: string }, token: string): InstallCommandT {
  const url = `${agentUrl}${DOWNLOAD_PATH}/${b.target}/${b.version}`;
  const os = targetOs(b.target);
  if (os === 'windows') {
    const line = `$ErrorActionPreference='Stop'; [Net.ServicePointManager]::SecurityProtocol='Tls12'; `
      + `[Net.ServicePointManager]::ServerCertificateValidationCallback={param($s,$c) ([BitConverter]::ToString([Security.Cryptography.SHA256]::Create().ComputeHash($c.GetRawCertData())) -replace '-','') -eq ${psq(cert.sha256.toUpperCase())}}; `
      + `$f=Join-Path $env:TEMP ('countersign-agent-'+[guid]::NewGuid()+'.exe'); (New-Object Net.WebClient).DownloadFile(${psq(url)},$f); `
      + `if((Get-FileHash $f -Algorithm SHA256).Hash -ne ${psq(b.sha256.toUpperCase())}){Remove-Item $f; throw 'SHA-256 mismatch: not running it'}; `
      + `& $f install --url ${psq(agentUrl)} --token ${psq(token)}; Remove-Item $f`;
    return { target: b.target, os, shell: 'powershell', line };
  }
  const sum = os === 'macos' ? 'shasum -a 256 -c -' : 'sha256sum -c -';
  // The download is removed whatever happens, and the line's status is the install's (`(exit $s)` does not close the shell).
  const line = `f=$(mktemp) && { curl -fsSk --pinnedpubkey ${sq(spkiPin(cert.pem))} ${sq(url)} -o "$f" && echo "${b.sha256}  $f" | ${sum} && chmod 700 "$f" `
    + `&& sudo "$f" install --url ${sq(agentUrl)} --token ${sq(token)}; s=$?; rm -f "$f"; (exit $s); }`;
  return { target: b.target, os, shell: 'sh', line };
}

export function createAgentDeploy(app: App, actor: string, agentUrl: () => string | null) {
  const builds = () => readBuilds(buildsDir(app.dataDir), app.log);
  const newest = (all: PublishedBuild[]) => {
    const m = new Map<Target, PublishedBuild>();
    for (const b of all) if (!m.has(b.target)) m.set(b.target, b);
    return m;
  };
  return {
    async deployment(): Promise<ConsoleOutput<'agentDeployment'>> {
      const cert = await ensureAgentCert(app.dataDir);
      const url = agentUrl();
      const all = builds();
      const latest = newest(all);
      const hardware = new Map((await app.store.sql.all<{ id: string; hardware_json: string }>('SELECT d.id, d.hardware_json FROM devices d JOIN agents a ON a.device_id = d.id'))
        .map((r) => [r.id, r.hardware_json]));
      const agents = (await listAgents(app.store.sql)).filter((a) => !a.revokedAt).map((a) => {
        let arch = '';
        try {
          arch = String((JSON.parse(hardware.get(a.deviceId) ?? '') as { os?: { arch?: unknown } }).os?.arch ?? '');
        } catch {
          // no hardware reported: no target
        }
        const target = targetFor(a.os, arch);
        const l = target ? latest.get(target)?.version ?? null : null;
        return { id: a.id, deviceId: a.deviceId, hostname: a.hostname, tenant: a.tenant, version: a.agentVersion, target, latest: l,
          upgradeAvailable: !!(l && a.agentVersion && compareVersions(l, a.agentVersion) > 0) };
      });
      return {
        agentUrl: url, certSha256: cert.sha256, agents,
        builds: all.map((b) => ({ target: b.target, os: targetOs(b.target), version: b.version, sha256: b.sha256, size: b.size, signed: b.signed,
          url: url ? `${url}${DOWNLOAD_PATH}/${b.target}/${b.version}` : null })),
      };
    },

    async installCommands(q: ConsoleInput<'agentInstallCommands'>): Promise<ConsoleOutput<'agentInstallCommands'>> {
      if (!(await listTenants(app.store.sql)).some((t) => t.slug === q.tenant)) throw new AppError('BAD_INPUT', `tenant: unknown tenant ${q.tenant}`);
      const url = agentUrl();
      if (!url) throw new AppError('CONFLICT', 'the agent listener is not running: no install command can reach it');
      const cert = await ensureAgentCert(app.dataDir);
      const { token, info } = await new EnrollmentTokens(app.store, app.secrets.hmacKey).create({ tenant: q.tenant, uses: q.uses, expiresHours: q.expiresHours }, cert.sha256, actor);
      const latest = [...newest(builds()).values()];
      return {
        tokenId: info.id, tokenPrefix: info.prefix, expiresAt: info.expiresAt, maxUses: info.maxUses, version: latest[0]?.version ?? null,
        commands: latest.map((b) => installLine(b, url, { pem: cert.cert, sha256: cert.sha256 }, token)),
      };
    },
  };
}
