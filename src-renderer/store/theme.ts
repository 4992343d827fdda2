// Light, dark, or follow the system (prefers-color-scheme); the choice is kept in localStorage.
import { create } from 'zustand';
import { readPref, writePref } from '../lib/prefs.ts';

export type ThemePref = 'system' | 'light' | 'dark';
const KEY = 'countersign.theme';

const stored = (): ThemePref => readPref(KEY, ['light', 'dark'], 'system');

export function applyTheme(pref: ThemePref = stored()): void {
  const root = document.documentElement;
  if (pref === 'system') delete root.dataset.theme;
  else root.dataset.theme = pref;
}

interface ThemeState {
  pref: ThemePref;
  cycle(): void;
  set(pref: ThemePref): void;
}

export const useTheme = create<ThemeState>((set, get) => ({
  pref: stored(),
  set(pref) {
    writePref(KEY, pref, 'system');
    applyTheme(pref);
    set({ pref });
  },
  cycle() {
    const next: Record<ThemePref, ThemePref> = { system: 'light', light: 'dark', dark: 'system' };
    get().set(next[get().pref]);
  },
}));
