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

/** Where a page starts: the offset, and for lists that page by key, the id of the last item of the page before. */
export interface PagePosition {
  offset: number;
  after?: string;
}

const cursorShape = z.object({ o: z.number().int().nonnegative().refine(Number.isSafeInteger), a: z.string().min(1).max(100).optional() });

export function decodePosition(cursor: string | undefined): PagePosition {
  if (cursor === undefined) return { offset: 0 };
  let parsed: z.infer<typeof cursorShape> | undefined;
  try {
    parsed = cursorShape.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))).data;
  } catch {
    // fall through
  }
  if (!parsed) throw new AppError('INVALID_ARGUMENTS', 'The cursor is not one this server issued; start again without a cursor.', 'invalid_cursor');
  return parsed.a === undefined ? { offset: parsed.o } : { offset: parsed.o, after: parsed.a };
}

export function decodeCursor(cursor: string | undefined): number {
  return decodePosition(cursor).offset;
}

/** One page of `items` at `offset`; `lastKey` (the last item's id) lets the next page start from it instead of counting. */
export function page<T>(offset: number, limit: number, total: number, items: T[], lastKey?: (item: T) => string) {
  const next = offset + items.length;
  const last = items.at(-1);
  const key = lastKey && last !== undefined ? lastKey(last) : undefined;
  const cursor = key !== undefined && key.length <= 100 ? { o: next, a: key } : { o: next };
  return {
    items,
    total,
    nextCursor: next < total ? Buffer.from(JSON.stringify(cursor)).toString('base64url') : null,
    truncated: next < total,
  };
}
