// GET /console/api/audit/export/ID: a prepared audit export (console/preparedExports.ts) streamed from its file as a
// download, once, to the account that made it; the file is removed when it has been sent or the client has gone.
import { createReadStream } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { ConsoleService } from '../console/service.ts';
import { EXPORT_ID } from '../console/contract.ts';
import { HttpError } from './util.ts';

export const EXPORT_DOWNLOAD = /^\/audit\/export\/([^/]+)$/;

export async function sendPreparedExport(res: ServerResponse, service: ConsoleService, id: string): Promise<void> {
  const p = EXPORT_ID.test(id) ? service.takeExport(id) : undefined;
  if (!p) throw new HttpError(404, 'No such audit export waiting: each is fetched once, by the account that made it, within 10 minutes');
  try {
    res.writeHead(200, {
      'Content-Type': `${p.mediaType}; charset=utf-8`, 'Content-Length': String(p.bytes),
      'Content-Disposition': `attachment; filename="${p.fileName}"`, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff',
    });
    // A client that leaves mid-download ends the stream; that is theirs to retry (with a new export), not a server fault.
    await pipeline(createReadStream(p.file), res).catch(() => res.destroy());
  } finally {
    service.discardExport(p.id);
  }
}
