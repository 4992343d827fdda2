// The agent listener's TLS identity: a self-signed certificate made once per data directory. Agents pin its SHA-256.
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

export interface AgentCert {
  key: string;
  cert: string;
  /** SHA-256 of the DER certificate, lowercase hex: the pin inside every enrollment token. */
  sha256: string;
}

const CertFile = z.object({ version: z.literal(1), key: z.string().includes('PRIVATE KEY'), cert: z.string().includes('BEGIN CERTIFICATE') });
export const agentCertPath = (dataDir: string) => join(dataDir, 'agent-tls.json');

export function certSha256(pem: string): string {
  return new X509Certificate(pem).fingerprint256.replaceAll(':', '').toLowerCase();
}

export function loadAgentCert(dataDir: string): AgentCert | undefined {
  const file = agentCertPath(dataDir);
  if (!existsSync(file)) return undefined;
  const f = CertFile.parse(JSON.parse(readFileSync(file, 'utf8')));
  return { key: f.key, cert: f.cert, sha256: certSha256(f.cert) };
}

/** Loads the certificate, or makes it (EC P-256, 10 years) on first use: at init, first serve or first token. */
export async function ensureAgentCert(dataDir: string): Promise<AgentCert> {
  const existing = loadAgentCert(dataDir);
  if (existing) return existing;
  const host = hostname();
  const now = new Date();
  // selfsigned (and its X.509 and ASN.1 stack) only for the one certificate a data directory ever makes: imported
  // at the top it was half of every start-up.
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: `countersign-agents ${host}` }], {
    keyType: 'ec', curve: 'P-256', algorithm: 'sha256', notBeforeDate: new Date(now.getTime() - 3_600_000),
    notAfterDate: new Date(now.getTime() + 10 * 365 * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: host }, { type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    ],
  });
  const file = agentCertPath(dataDir);
  try {
    writeFileSync(file, JSON.stringify({ version: 1, key: pems.private, cert: pems.cert }, null, 1), { mode: 0o600, flag: 'wx' });
  } catch (e) {
    // Another process made it first: use theirs.
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return loadAgentCert(dataDir)!;
  }
  chmodSync(file, 0o600);
  return loadAgentCert(dataDir)!;
}
