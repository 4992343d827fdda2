// Bumped by pushed events so pages showing keys or policy re-read them.
import { create } from 'zustand';

interface Versions {
  keys: number;
  policy: number;
  bump(what: 'keys' | 'policy'): void;
}

export const useVersions = create<Versions>((set, get) => ({
  keys: 0,
  policy: 0,
  bump(what) {
    set({ [what]: get()[what] + 1 } as Pick<Versions, typeof what>);
  },
}));
