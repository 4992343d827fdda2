// Sandboxed preload: exposes exactly the console contract's methods plus onEvent, never ipcRenderer itself.
// The method names come from the main process (which checks this frame) so this file needs no imports but electron.
const { contextBridge, ipcRenderer } = require('electron') as typeof import('electron');

const PREFIX = 'countersign:';
const names = ipcRenderer.sendSync(`${PREFIX}methods`) as string[];
const api: Record<string, unknown> = {};
for (const name of names) api[name] = (input?: unknown) => ipcRenderer.invoke(`${PREFIX}${name}`, input);
api.onEvent = (listener: (event: unknown) => void) => {
  const wrapped = (_e: unknown, payload: unknown) => listener(payload);
  ipcRenderer.on(`${PREFIX}event`, wrapped);
  return () => ipcRenderer.removeListener(`${PREFIX}event`, wrapped);
};
api.platform = 'electron';
contextBridge.exposeInMainWorld('countersign', Object.freeze(api));
