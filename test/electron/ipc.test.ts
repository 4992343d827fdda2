// The IPC layer with a fake ipcMain: sender checks, zod validation at the boundary, output validation.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CHANNEL_PREFIX, METHODS_CHANNEL, registerConsoleIpc, trustedSender, type IpcEventLike, type IpcMainLike } from '../../src-main/electron/ipc.ts';

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
    await expect(ipc.invoke(`${CHANNEL_PREFIX}deny`, good, { id, reason: 'not now', extra: 'dropped' })).resolves.toEqual({ status: 'denied' });
    expect(calls).toEqual([{ id, reason: 'not now' }]);
  });

  it('refuses bad input with a 400 naming the field, before the service runs', async () => {
    const { ipc, calls } = setup();
    await expect(ipc.invoke(`${CHANNEL_PREFIX}deny`, good, { id: 'x', reason: '' })).rejects.toThrow(/^400 .*id/);
    await expect(ipc.invoke(`${CHANNEL_PREFIX}deny`, good, 'not an object')).rejects.toThrow(/^400/);
    expect(calls).toEqual([]);
  });

  it('refuses other windows, other frames and other origins', async () => {
    const { ipc, calls } = setup();
    const input = { id: '0b7c7c5e-2f7a-4b8e-9a51-3f3c2b8d9e10', reason: 'x' };
    for (const event of [
      { sender: { id: 8 }, senderFrame: { url: 'app://console/' } },
      { sender: { id: WINDOW }, senderFrame: { url: 'https://evil.example/' } },
      { sender: { id: WINDOW }, senderFrame: { url: 'app://consolex/' } },
      { sender: { id: WINDOW }, senderFrame: null },
    ]) await expect(ipc.invoke(`${CHANNEL_PREFIX}deny`, event, input)).rejects.toThrow(/^403/);
    expect(calls).toEqual([]);
  });

  it('never lets an output that breaks the contract reach the renderer', async () => {
    const { ipc } = setup();
    await expect(ipc.invoke(`${CHANNEL_PREFIX}broken`, good, {})).rejects.toThrow();
  });

  it('removes its handlers on dispose', () => {
    const { ipc, dispose } = setup();
    dispose();
    expect(ipc.handlers.size).toBe(0);
  });
});
