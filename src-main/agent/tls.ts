// Certificate pinning: the agent trusts exactly one certificate, the console's, identified by its SHA-256.
import { X509Certificate } from 'node:crypto';
import tls, { type PeerCertificate } from 'node:tls';

export const sha256Of = (pem: string) => new X509Certificate(pem).fingerprint256.replaceAll(':', '').toLowerCase();

const derToPem = (der: Buffer) => `-----BEGIN CERTIFICATE-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;

/**
 * Fetches the server's certificate and checks it against the pin from the enrollment token before any secret is sent.
 * Nothing but the TLS handshake happens on this connection.
 */
export function fetchPinnedCert(url: string, pin: string, timeoutMs = 10_000): Promise<string> {
  const u = new URL(url);
  if (u.protocol !== 'https:') throw new Error(`the console URL must be https://, not ${u.protocol}`);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 443), servername: isIp(u.hostname) ? undefined : u.hostname, rejectUnauthorized: false });
    const timer = setTimeout(() => socket.destroy(new Error(`no TLS handshake with ${u.host} within ${timeoutMs} ms`)), timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const cert = socket.getPeerCertificate(true);
      socket.end();
      if (!cert?.raw) return reject(new Error(`${u.host} presented no certificate`));
      const pem = derToPem(cert.raw);
      const got = sha256Of(pem);
      if (got !== pin) return reject(new Error(`certificate mismatch: ${u.host} presented ${got}, the enrollment token pins ${pin}`));
      resolve(pem);
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

const isIp = (h: string) => /^[\d.]+$/.test(h) || h.includes(':') || h.startsWith('[');

/** TLS options for https/ws: trust only the pinned certificate, whatever name the console is reached by. */
export function pinnedTlsOptions(certPem: string, pin: string) {
  return {
    ca: [certPem],
    checkServerIdentity: (_host: string, cert: PeerCertificate): Error | undefined => {
      const got = cert.fingerprint256?.replaceAll(':', '').toLowerCase();
      return got === pin ? undefined : new Error(`certificate pin mismatch: got ${got ?? 'none'}, pinned ${pin}`);
    },
    minVersion: 'TLSv1.2' as const,
  };
}
