import type { z } from 'zod';

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

/** A refusal crossing the IPC boundary: Electron keeps only `message`, so the status travels inside it. */
export class IpcRefusal extends Error {}

/**
 * One handler per contract method: the sender must be our window showing our own app:// page, the input is
 * validated by the contract's zod schema, and the output is validated before it leaves the main process.
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
    ipc.handle(`${CHANNEL_PREFIX}${name}`, async (event, raw) => {
      if (!isTrusted(event)) throw new IpcRefusal('403 untrusted sender');
      const input = spec.input.safeParse(raw ?? {});
      if (!input.success) throw new IpcRefusal(`400 ${input.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ')}`);
      const result = await impl[name as keyof M](input.data as never);
      return spec.output.parse(result);
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
