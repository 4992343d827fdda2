import { z } from 'zod';
import { AppError } from '../errors.ts';

/** Cursor pagination shared by every list tool: opaque cursor, explicit `truncated` marker, never a silent cut. */
export const pageInput = {
  cursor: z.string().max(200).optional().describe('Opaque cursor from a previous page (nextCursor).'),
  limit: z.number().int().min(1).max(100).default(25).describe('Items per page (1-100).'),
};

export const pageOutput = {
  total: z.number().int().describe('Items matching the filters across all pages.'),
  nextCursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last page.'),
  truncated: z.boolean().describe('True when more items exist beyond this page.'),
};

export function decodeCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { o?: unknown };
    if (typeof parsed.o === 'number' && Number.isSafeInteger(parsed.o) && parsed.o >= 0) return parsed.o;
  } catch {
    // fall through
  }
  throw new AppError('INVALID_ARGUMENTS', 'The cursor is not one this server issued; start again without a cursor.', 'invalid_cursor');
}

export function page<T>(offset: number, limit: number, total: number, items: T[]) {
  const next = offset + items.length;
  return {
    items,
    total,
    nextCursor: next < total ? Buffer.from(JSON.stringify({ o: next })).toString('base64url') : null,
    truncated: next < total,
  };
}
