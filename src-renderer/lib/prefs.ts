// Choices kept in localStorage (theme, shortcut mode): the default is stored as no entry at all.
export function readPref<T extends string>(key: string, choices: readonly T[], fallback: T): T {
  try {
    const v = localStorage.getItem(key);
    return choices.includes(v as T) ? (v as T) : fallback;
  } catch {
    return fallback;
  }
}

export function writePref<T extends string>(key: string, value: T, fallback: T): void {
  try {
    if (value === fallback) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch { /* private mode: the choice lasts for this page only */ }
}
