// GET /agent/v1/download/<target>[/<version>] on the agent listener: the executables `countersign agent build --data-dir D`
// published, for the install one-liners (curl with the certificate pinned) and for upgrades. Public like the listener's
// certificate: a build holds no secret. Only paths zod accepts reach the file system; each address gets a download budget.
import { createReadStream, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { DOWNLOAD_PATH } from '../agent/protocol.ts';
import { buildsDir, findBuild, readBuilds } from '../agentBuild/manifest.ts';
import { TargetSchema, VERSION } from '../agentBuild/targets.ts';
import { RateLimiter } from '../governance/rateLimiter.ts';
import { HttpError } from '../http/util.ts';

const DOWNLOADS_PER_MINUTE = 20;
const AGENT_DOWNLOADS_PER_MINUTE = 6;
/** Executables are ~100 MB: at most this many streams at once; the others are told to come back (agents retry). */
const MAX_CONCURRENT = 8;

const Route = z.tuple([TargetSchema, VERSION.optional()]);

export const isDownloadPath = (path: string) => path === DOWNLOAD_PATH || path.startsWith(`${DOWNLOAD_PATH}/`);

/**
 * `authenticate` tells an enrolled agent (its Bearer credentials) from anyone else: agents get their own budget, so a
 * customer's fleet behind one NAT address can upgrade at once; anonymous downloads (install one-liners) share the address's.
 */
export function downloadHandler(dataDir: string, log: (msg: string, err?: unknown) => void, authenticate: (req: IncomingMessage) => Promise<string | null>) {
  const budget = new RateLimiter();
  let active = 0;
  return async (req: IncomingMessage, res: ServerResponse, path: string, remote: string): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'Use GET', -32000, { Allow: 'GET, HEAD' });
    const parts = path.slice(DOWNLOAD_PATH.length + 1).split('/');
    const route = parts.length <= 2 ? Route.safeParse(parts.length === 1 ? [parts[0]] : parts) : null;
    if (!route?.success) throw new HttpError(400, `expected ${DOWNLOAD_PATH}/<target>[/<version>] with target one of ${TargetSchema.options.join(', ')} and version MAJOR.MINOR.PATCH`);
    const [target, version] = route.data;
    const build = findBuild(readBuilds(buildsDir(dataDir), log), target, version);
    if (!build) throw new HttpError(404, `no agent build for ${target}${version ? ` version ${version}` : ''} on this console (countersign agent build --target ${target} --data-dir D)`);
    const agentId = req.headers.authorization ? await authenticate(req) : null;
    if (req.headers.authorization && !agentId) throw new HttpError(401, 'unknown or revoked agent credentials');
    const t = budget.take(agentId ? `agent:${agentId}` : `addr:${remote}`, agentId ? AGENT_DOWNLOADS_PER_MINUTE : DOWNLOADS_PER_MINUTE);
    if (!t.ok) throw new HttpError(429, 'too many downloads from this address', -32000, { 'Retry-After': String(t.retryAfterSeconds) });
    if (active >= MAX_CONCURRENT) throw new HttpError(503, 'too many downloads at once; try again shortly', -32000, { 'Retry-After': '5' });
    let size: number;
    try {
      size = statSync(build.path).size;
    } catch {
      throw new HttpError(404, `the ${target} ${build.version} build is listed but its file is missing`);
    }
    res.writeHead(200, {
      'Content-Type': 'application/octet-stream', 'Content-Length': String(size), 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff',
      'Content-Disposition': `attachment; filename="${build.file.split('/')[1]}"`, 'X-Countersign-Agent-Version': build.version, 'X-Countersign-Sha256': build.sha256,
    });
    if (req.method === 'HEAD') return void res.end();
    active++;
    let released = false;
    const stream = createReadStream(build.path);
    stream.on('error', (e) => (log('agent download failed', e), res.destroy()));
    res.on('close', () => {
      if (!released) active--;
      released = true;
      stream.destroy();
    });
    stream.pipe(res);
  };
}
