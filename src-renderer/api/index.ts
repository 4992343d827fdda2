// The renderer's only way to the main process: the Electron preload's window.countersign when present
// (exactly a ConsoleApi plus onEvent), else the web console API of `countersign serve`.
import {
  CONSOLE_ERROR_CODES, CONSOLE_METHOD_NAMES, ConsoleError,
  type ConsoleApi, type ConsoleBridge, type ConsoleErrorCode, type ConsoleEvent,
} from '../../src-main/console/contract.ts';
import { createWebConsole, type Connection, type WebConsole } from './web.ts';

declare global {
  interface Window {
    countersign?: ConsoleBridge;
  }
}

const bridge = typeof window !== 'undefined' ? window.countersign : undefined;

/**
 * IPC keeps only an error's message ("Error invoking remote method 'countersign:approve': Error: {…}"):
 * recover the ConsoleError the main process sent (JSON, or "<status> <message>"), so pages see the same errors as in web mode.
 */
export function fromIpcError(e: unknown): unknown {
  if (!(e instanceof Error) || e instanceof ConsoleError) return e;
  const text = e.message.replace(/^Error invoking remote method '[^']*': (?:Error: )?/, '');
  try {
    const j = JSON.parse(text) as { status?: unknown; code?: unknown; message?: unknown };
    if (typeof j.status === 'number' && typeof j.message === 'string' && CONSOLE_ERROR_CODES.includes(j.code as ConsoleErrorCode)) {
      return new ConsoleError(j.status, j.code as ConsoleErrorCode, j.message);
    }
  } catch { /* not JSON */ }
  const m = /^(\d{3}) (.*)$/s.exec(text);
  if (m) {
    const status = Number(m[1]);
    return new ConsoleError(status, status === 400 ? 'BAD_INPUT' : status === 401 || status === 403 ? 'UNAUTHORIZED' : status === 404 ? 'NOT_FOUND' : 'INTERNAL', m[2]!);
  }
  return new ConsoleError(500, 'INTERNAL', text);
}

function desktopApi(b: ConsoleBridge): ConsoleApi {
  const call = (m: (typeof CONSOLE_METHOD_NAMES)[number]) => async (input?: unknown) => {
    try {
      return await (b[m] as (i: unknown) => Promise<unknown>)(input);
    } catch (e) {
      throw fromIpcError(e);
    }
  };
  return Object.fromEntries(CONSOLE_METHOD_NAMES.map((m) => [m, call(m)])) as unknown as ConsoleApi;
}

export const mode: 'desktop' | 'web' = bridge ? 'desktop' : 'web';
/** Web mode only: login, logout, connection state, session loss. */
export const web: WebConsole | null = bridge ? null : createWebConsole();
export const api: ConsoleApi = bridge ? desktopApi(bridge) : web!.api;

export function onEvent(listener: (e: ConsoleEvent) => void): () => void {
  return bridge ? bridge.onEvent(listener) : web!.onEvent(listener);
}

export function onConnection(listener: (c: Connection) => void): () => void {
  if (web) return web.onConnection(listener);
  listener('open');
  return () => {};
}

export type { Connection };
export { ConsoleError };
