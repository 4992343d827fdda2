// The renderer's only way to the main process: the Electron preload's window.countersign when present
// (exactly a ConsoleApi plus onEvent), else the web console API of `countersign serve`.
import {
  AppError, CONSOLE_METHOD_NAMES, unwrapReply,
  type ConsoleApi, type ConsoleBridge, type ConsoleEvent,
} from '../../src-main/console/contract.ts';
import { createWebConsole, type Connection, type WebConsole } from './web.ts';

declare global {
  interface Window {
    countersign?: ConsoleBridge;
  }
}

const bridge = typeof window !== 'undefined' ? window.countersign : undefined;

function desktopApi(b: ConsoleBridge): ConsoleApi {
  const call = (m: (typeof CONSOLE_METHOD_NAMES)[number]) => async (input?: unknown) => {
    let r: unknown;
    try {
      r = await (b[m] as (i: unknown) => Promise<unknown>)(input);
    } catch {
      // Only a defect in the main process gets here (refusals come back as values).
      throw new AppError('INTERNAL', `${m} failed in the desktop app; see its log.`);
    }
    // The main process answers Replies: the value, or its refusal as an AppError.
    return unwrapReply(r);
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
export { AppError };
