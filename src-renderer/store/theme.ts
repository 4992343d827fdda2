// Light, dark, or follow the system (prefers-color-scheme); the choice is kept in localStorage.
import { create } from 'zustand';

export type ThemePref = 'system' | 'light' | 'dark';
const KEY = 'countersign.theme';

function stored(): ThemePref {
  try {
    const v = localStorage.getItem(KEY);
    return v === 'light' || v === 'dark' ? v : 'system';
  } catch {
    return 'system';
  }
}

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
    try {
      if (pref === 'system') localStorage.removeItem(KEY);
      else localStorage.setItem(KEY, pref);
    } catch { /* private mode: the choice lasts for this page only */ }
    applyTheme(pref);
    set({ pref });
  },
  cycle() {
    const next: Record<ThemePref, ThemePref> = { system: 'light', light: 'dark', dark: 'system' };
    get().set(next[get().pref]);
  },
}));
