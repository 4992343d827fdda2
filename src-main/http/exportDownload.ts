// GET /console/api/audit/export?format=F: the audit export streamed into the response as it is read from the store,
// so neither the log nor the export is ever held whole, and any node of a team answers it (nothing is kept between
// requests). HEAD answers whether it would start (rights, another export running) without reading the log, so the
// page can say why before the browser's download begins. The session cookie is SameSite=Strict: another site's page
// cannot start one.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { exportFileName, exportMediaType } from '../audit/export.ts';
import type { ConsoleService } from '../console/service.ts';
import { AUDIT_EXPORT_FORMATS } from '../console/contract.ts';
import { AppError } from '../errors.ts';
import { parseWith } from './util.ts';

export const EXPORT_DOWNLOAD_PATH = '/audit/export';
const Query = z.strictObject({ format: z.enum(AUDIT_EXPORT_FORMATS).default('jsonl') });

export async function sendAuditExport(req: IncomingMessage, res: ServerResponse, url: URL, service: ConsoleService, log: (msg: string, err?: unknown) => void): Promise<void> {
  const { format } = parseWith(Query, Object.fromEntries(url.searchParams));
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
      if (!res.write(chunk)) await drainedOrClosed(res);
    });
    res.end();
  } catch (e) {
    // Before the first byte the route answers the refusal (another export started meanwhile); after it, the only
    // honest end is a broken download: a chunked response cut short is one the browser marks as failed.
    if (!started && e instanceof AppError) throw e;
    if (!res.destroyed && !(e instanceof Error && e.message === 'the client left')) log('audit export download failed', e);
    res.destroy();
  }
}

/** Waits for the socket to take more, or to be gone; both listeners are removed either way (one wait per chunk). */
function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
