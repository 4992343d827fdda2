// GET /console/api/audit/export?format=F: the audit export streamed into the response as it is read from the store,
// so neither the log nor the export is ever held whole, and any node of a team answers it (nothing is kept between
// requests). HEAD answers whether it would start (rights, another export running) without reading the log, so the
// page can say why before the browser's download begins. The session cookie is SameSite=Strict: another site's page
// cannot start one.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { exportFileName, exportMediaType } from '../audit/export.ts';
import type { ConsoleService } from '../console/service.ts';
import { ExportAuditInput } from '../console/contract.ts';
import { parseWith } from './util.ts';

/**
 * A download that takes nothing for this long is ended: an export holds the one-at-a-time slot (every other export of
 * this node is refused meanwhile), and a paused browser download or a page that never reads would hold it for good.
 */
export const STALL_MS = 60_000;

export async function sendAuditExport(req: IncomingMessage, res: ServerResponse, url: URL, service: ConsoleService, log: (msg: string, err?: unknown) => void, stallMs = STALL_MS): Promise<void> {
  const { format } = parseWith(ExportAuditInput, Object.fromEntries(url.searchParams));
  const refused = service.canExport();
  if (refused) throw refused;
  const fileName = exportFileName(format, new Date());
  const headers = {
    'Content-Type': `${exportMediaType(format)}; charset=utf-8`, 'Content-Disposition': `attachment; filename="${fileName}"`,
    'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff',
  };
  if (req.method === 'HEAD') {
    res.writeHead(200, headers).end();
    return;
  }
  let started = false;
  try {
    await service.streamExport(format, async (chunk) => {
      if (res.destroyed) throw new Error('the client left');
      if (!started) {
        res.writeHead(200, headers);
        started = true;
      }
      if (!res.write(chunk) && !(await drainedOrClosed(res, stallMs))) {
        log(`an audit export download took nothing for ${stallMs / 1000} s; it was ended`);
        res.destroy();
        throw new Error('the client left');
      }
    });
    res.end();
  } catch (e) {
    // Before the first byte the route answers the error (a refusal: another export started meanwhile; or the store
    // failing: a 500); after it, the only honest end is a broken download, which the browser marks as failed.
    if (!started && !res.destroyed) throw e;
    if (!res.destroyed && !(e instanceof Error && e.message === 'the client left')) log('audit export download failed', e);
    res.destroy();
  }
}

/**
 * Waits for the socket to take more (true), to be gone (true: the next chunk sees it destroyed), or for `stallMs` with
 * neither (false). Every listener and the timer are removed whichever comes first (one wait per chunk).
 */
function drainedOrClosed(res: ServerResponse, stallMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (moved: boolean) => () => {
      res.off('drain', go);
      res.off('close', go);
      clearTimeout(timer);
      resolve(moved);
    };
    const go = done(true);
    const timer = setTimeout(done(false), stallMs);
    res.on('drain', go);
    res.on('close', go);
  });
}
