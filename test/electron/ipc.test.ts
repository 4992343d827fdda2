// The IPC layer with a fake ipcMain: sender checks, zod validation at the boundary, output validation, and refusals
// answered as values (Electron would keep only an exception's message), which the renderer turns back into AppErrors.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CHANNEL_PREFIX, METHODS_CHANNEL, registerConsoleIpc, trustedSender, type IpcEventLike, type IpcMainLike } from '../../src-main/electron/ipc.ts';
import { AppError, unwrapReply } from '../../src-main/errors.ts';

class FakeIpcMain implements IpcMainLike {
  handlers = new Map<string, (event: IpcEventLike, ...args: unknown[]) => unknown>();
  listeners = new Map<string, (event: IpcEventLike & { returnValue?: unknown }) => void>();
  handle(channel: string, fn: (event: IpcEventLike, ...args: unknown[]) => unknown) {
    if (this.handlers.has(channel)) throw new Error(`second handler for ${channel}`);
    this.handlers.set(channel, fn);
  }
  on(channel: string, fn: (event: IpcEventLike & { returnValue?: unknown }) => void) {
    this.listeners.set(channel, fn);
  }
  removeHandler(channel: string) {
    this.handlers.delete(channel);
  }
  invoke(channel: string, event: IpcEventLike, arg?: unknown) {
    const h = this.handlers.get(channel);
    if (!h) throw new Error(`no handler for ${channel}`);
    return Promise.resolve(h(event, arg));
  }
  sendSync(channel: string, event: IpcEventLike) {
    const e = { ...event, returnValue: undefined as unknown };
    this.listeners.get(channel)!(e);
    return e.returnValue;
  }
}

const methods = {
  deny: { input: z.object({ id: z.uuid(), reason: z.string().min(1).max(2000) }), output: z.object({ status: z.literal('denied') }) },
  broken: { input: z.object({}), output: z.object({ ok: z.boolean() }) },
};
const WINDOW = 7;
const good: IpcEventLike = { sender: { id: WINDOW }, senderFrame: { url: 'app://console/index.html#/approvals' } };

function setup() {
  const ipc = new FakeIpcMain();
  const calls: unknown[] = [];
  const dispose = registerConsoleIpc(ipc, methods, {
    deny: (input) => { calls.push(input); return { status: 'denied' as const }; },
    broken: () => ({ ok: 'yes' }),
  }, trustedSender(() => WINDOW));
  return { ipc, calls, dispose };
}

describe('console IPC', () => {
  it('tells a trusted preload the method names, and an untrusted one nothing', () => {
    const { ipc } = setup();
    expect(ipc.sendSync(METHODS_CHANNEL, good)).toEqual(['deny', 'broken']);
    expect(ipc.sendSync(METHODS_CHANNEL, { sender: { id: 99 }, senderFrame: { url: 'app://console/' } })).toEqual([]);
  });

  it('passes validated input to the service', async () => {
    const { ipc, calls } = setup();
    const id = '0b7c7c5e-2f7a-4b8e-9a51-3f3c2b8d9e10';
    await expect(ipc.invoke(`${CHANNEL_PREFIX}deny`, good, { id, reason: 'not now', extra: 'dropped' })).resolves.toEqual({ ok: true, value: { status: 'denied' } });
    expect(calls).toEqual([{ id, reason: 'not now' }]);
  });

  it('refuses bad input with BAD_INPUT naming the field, before the service runs; the renderer reads it as an AppError', async () => {
    const { ipc, calls } = setup();
    const r = await ipc.invoke(`${CHANNEL_PREFIX}deny`, good, { id: 'x', reason: '' });
    expect(r).toMatchObject({ ok: false, error: { code: 'BAD_INPUT', status: 400, message: expect.stringMatching(/^id: /) } });
    expect(await ipc.invoke(`${CHANNEL_PREFIX}deny`, good, 'not an object')).toMatchObject({ ok: false, error: { code: 'BAD_INPUT' } });
    expect(calls).toEqual([]);
    let thrown: unknown;
    try {
      unwrapReply(r);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(AppError);
    expect(thrown).toMatchObject({ code: 'BAD_INPUT', status: 400 });
  });

  it('carries a service refusal (an AppError) with its code and extras', async () => {
    const ipc = new FakeIpcMain();
    registerConsoleIpc(ipc, methods, {
      deny: () => { throw new AppError('GONE', 'approval expired', 'approval_state', { approvalId: 'a1' }); },
      broken: () => ({ ok: true }),
    }, trustedSender(() => WINDOW));
    const r = await ipc.invoke(`${CHANNEL_PREFIX}deny`, good, { id: '0b7c7c5e-2f7a-4b8e-9a51-3f3c2b8d9e10', reason: 'x' });
    expect(r).toEqual({ ok: false, error: { code: 'GONE', status: 410, message: 'approval expired', approvalId: 'a1' } });
    expect(() => unwrapReply(r)).toThrow(expect.objectContaining({ code: 'GONE', extra: { approvalId: 'a1' } }));
  });

  it('refuses other windows, other frames and other origins', async () => {
    const { ipc, calls } = setup();
    const input = { id: '0b7c7c5e-2f7a-4b8e-9a51-3f3c2b8d9e10', reason: 'x' };
    for (const event of [
      { sender: { id: 8 }, senderFrame: { url: 'app://console/' } },
      { sender: { id: WINDOW }, senderFrame: { url: 'https://evil.example/' } },
      { sender: { id: WINDOW }, senderFrame: { url: 'app://consolex/' } },
      { sender: { id: WINDOW }, senderFrame: null },
    ]) expect(await ipc.invoke(`${CHANNEL_PREFIX}deny`, event, input)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN', status: 403 } });
    expect(calls).toEqual([]);
  });

  it('never lets an output that breaks the contract reach the renderer', async () => {
    const { ipc } = setup();
    expect(await ipc.invoke(`${CHANNEL_PREFIX}broken`, good, {})).toMatchObject({ ok: false, error: { code: 'INTERNAL' } });
  });

  it('removes its handlers on dispose', () => {
    const { ipc, dispose } = setup();
    dispose();
    expect(ipc.handlers.size).toBe(0);
  });
});
