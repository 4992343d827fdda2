// `countersign agent enroll`: pin the console's certificate from the token, then trade one token use for an identity.
import https from 'node:https';
import { existsSync } from 'node:fs';
import { ENROLL_BODY_MAX, ENROLL_PATH, EnrollResponse, AGENT_VERSION, parseToken, type Facts, type Hardware } from './protocol.ts';
import { fetchPinnedCert, pinnedTlsOptions } from './tls.ts';
import { collectHardware } from './inventory.ts';
import { ensureStateDir, identityPath, writeSecretFile, type Identity } from './state.ts';
import { newBoxKeyPair } from './sealed.ts';

export function postJson(url: string, body: unknown, tlsOpts: ReturnType<typeof pinnedTlsOptions>, timeoutMs = 30_000): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const data = Buffer.from(JSON.stringify(body));
    const req = https.request(url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': data.length }, ...tlsOpts, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
        } catch {
          resolve({ status: res.statusCode ?? 0, body: text });
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(data);
  });
}

/**
 * The enrollment body within the listener's small cap for unauthenticated requests: disks and network interfaces go first
 * (a host with many virtual interfaces), then long strings are cut. The full inventory follows on the authenticated channel.
 */
export function enrollmentBody(token: string, facts: Facts, hardware: Hardware, boxPublicKey?: string) {
  const body = { token, facts, hardware: { ...hardware }, agentVersion: AGENT_VERSION, ...(boxPublicKey ? { boxPublicKey } : {}) };
  const fits = () => Buffer.byteLength(JSON.stringify(body)) <= ENROLL_BODY_MAX - 256;
  while (!fits() && body.hardware.network.length) body.hardware = { ...body.hardware, network: body.hardware.network.slice(0, -1) };
  while (!fits() && body.hardware.disks.length) body.hardware = { ...body.hardware, disks: body.hardware.disks.slice(0, -1) };
  if (!fits()) body.hardware = JSON.parse(JSON.stringify(body.hardware, (_k, v: unknown) => (typeof v === 'string' ? v.slice(0, 60) : v)));
  return body;
}

export async function enrollAgent(p: { url: string; token: string; stateDir: string; hostname?: string }): Promise<Identity> {
  const token = parseToken(p.token);
  if (!token) throw new Error('that is not an enrollment token (expected cset.<secret>.<pin>)');
  ensureStateDir(p.stateDir);
  if (existsSync(identityPath(p.stateDir))) throw new Error(`${p.stateDir} already holds an enrolled agent`);
  const base = new URL(p.url);
  const certPem = await fetchPinnedCert(base.href, token.pin);
  const tlsOpts = pinnedTlsOptions(certPem, token.pin);
  const { facts, hardware } = await collectHardware(p.hostname);
  const box = newBoxKeyPair();
  const res = await postJson(new URL(ENROLL_PATH, base).href, enrollmentBody(p.token, facts, hardware, box.publicKey), tlsOpts);
  if (res.status !== 200) {
    const msg = res.body && typeof res.body === 'object' && 'error' in res.body ? String((res.body as { error: unknown }).error) : String(res.body).slice(0, 200);
    throw new Error(`enrollment refused (${res.status}): ${msg}`);
  }
  const r = EnrollResponse.parse(res.body);
  const identity: Identity = {
    version: 1, url: `${base.protocol}//${base.host}`, agentId: r.agentId, deviceId: r.deviceId, secret: r.secret, tenant: r.tenant,
    consolePublicKey: r.consolePublicKey, certPem, certSha256: token.pin, ...(p.hostname ? { hostname: p.hostname } : {}), boxPrivateKey: box.privateKeyPem, enrolledAt: new Date().toISOString(),
  };
  writeSecretFile(identityPath(p.stateDir), JSON.stringify(identity, null, 1));
  return identity;
}
