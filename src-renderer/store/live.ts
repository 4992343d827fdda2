// The live feed: recent tool calls, newest first; paused, new calls wait in a buffer until resumed.
import { create } from 'zustand';
import type { LiveCallT } from '../../src-main/console/contract.ts';
import { api } from '../api/index.ts';
import { errorText } from './toasts.ts';

const MAX = 500;

interface LiveState {
  calls: LiveCallT[];
  buffered: LiveCallT[];
  paused: boolean;
  loaded: boolean;
  error: string | null;
  load(): Promise<void>;
  add(call: LiveCallT): void;
  setPaused(paused: boolean): void;
  clear(): void;
}

const merge = (newer: LiveCallT[], older: LiveCallT[]) => {
  const seen = new Set<number>();
  return [...newer, ...older].filter((c) => !seen.has(c.seq) && seen.add(c.seq)).sort((a, b) => b.seq - a.seq).slice(0, MAX);
};

export const useLive = create<LiveState>((set, get) => ({
  calls: [],
  buffered: [],
  paused: false,
  loaded: false,
  error: null,
  async load() {
    try {
      const { calls } = await api.liveCalls({ limit: 200 });
      set({ calls: merge(calls, get().calls), loaded: true, error: null });
    } catch (e) {
      set({ error: errorText(e), loaded: true });
    }
  },
  add(call) {
    if (get().paused) set({ buffered: merge([call], get().buffered) });
    else set({ calls: merge([call], get().calls) });
  },
  setPaused(paused) {
    if (paused) return set({ paused });
    set({ paused, calls: merge(get().buffered, get().calls), buffered: [] });
  },
  clear() {
    set({ calls: [], buffered: [] });
  },
}));
