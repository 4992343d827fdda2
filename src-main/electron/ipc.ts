import type { z } from 'zod';
import { AppError, type Reply } from '../errors.ts';

/** The subset of Electron's ipcMain we use; a fake implements it in tests. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcEventLike, ...args: unknown[]) => unknown): void;
  on(channel: string, listener: (event: IpcEventLike & { returnValue?: unknown }, ...args: unknown[]) => void): void;
  removeHandler(channel: string): void;
}

export interface IpcEventLike {
  sender: { id: number };
  senderFrame?: { url: string } | null;
}

export interface MethodSpec {
  input: z.ZodType;
  output: z.ZodType;
}

export const CHANNEL_PREFIX = 'countersign:';
export const METHODS_CHANNEL = `${CHANNEL_PREFIX}methods`;

/**
 * One handler per contract method: the sender must be our window showing our own app:// page, the input is
 * validated by the contract's zod schema, and the output is validated before it leaves the main process. Electron
 * keeps only an exception's message across IPC, so every answer is a Reply: the value, or the AppError's shape.
 */
export function registerConsoleIpc<M extends Record<string, MethodSpec>>(
  ipc: IpcMainLike,
  methods: M,
  impl: { [K in keyof M]: (input: z.output<M[K]['input']>) => Promise<unknown> | unknown },
  isTrusted: (event: IpcEventLike) => boolean,
): () => void {
  const names = Object.keys(methods);
  ipc.on(METHODS_CHANNEL, (event) => {
    event.returnValue = isTrusted(event) ? names : [];
  });
  for (const name of names) {
    const spec = methods[name]!;
    ipc.handle(`${CHANNEL_PREFIX}${name}`, async (event, raw): Promise<Reply<unknown>> => {
      try {
        if (!isTrusted(event)) throw new AppError('FORBIDDEN', 'untrusted sender');
        const input = spec.input.safeParse(raw ?? {});
        if (!input.success) throw new AppError('BAD_INPUT', input.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; '));
        const result = await impl[name as keyof M](input.data as never);
        const output = spec.output.safeParse(result);
        if (!output.success) throw new AppError('INTERNAL', `${name}: the answer does not match the console contract`);
        return { ok: true, value: output.data };
      } catch (e) {
        if (e instanceof AppError) return { ok: false, error: e.toJSON() };
        throw e;
      }
    });
  }
  return () => names.forEach((n) => ipc.removeHandler(`${CHANNEL_PREFIX}${n}`));
}

/** Trusted = the main window's own webContents, on a page of our app:// origin. */
export function trustedSender(windowId: () => number | undefined, origin = 'app://console') {
  return (event: IpcEventLike): boolean => {
    const url = event.senderFrame?.url ?? '';
    return event.sender.id === windowId() && (url === origin || url.startsWith(`${origin}/`));
  };
}
