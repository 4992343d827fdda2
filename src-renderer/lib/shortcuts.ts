// Every keyboard shortcut of the console, in one list: the `?` overlay shows it, and useHotkeys binds only keys from it.
// Character keys can be turned off or made to need Alt (WCAG 2.1.4); Esc and the arrow keys always work.
import { useLayoutEffect, useRef } from 'react';
import { create } from 'zustand';
import { readPref, writePref } from './prefs.ts';

export const SHORTCUTS = [
  { scope: 'Everywhere', keys: ['1', '2', '3', '4', '5', '6', '7'], label: 'Go to Live, Approvals, API keys, Audit, Policy, Fleet, Agents' },
  { scope: 'Everywhere', keys: ['?'], label: 'Show this list of shortcuts' },
  { scope: 'Everywhere', keys: ['Escape'], label: 'Close the open dialog or details drawer' },
  { scope: 'Approvals', keys: ['j', 'ArrowDown'], label: 'Select the next request' },
  { scope: 'Approvals', keys: ['k', 'ArrowUp'], label: 'Select the previous request' },
  { scope: 'Approvals', keys: ['a'], label: 'Arm approve on the selected request; a second a approves it' },
  { scope: 'Approvals', keys: ['d'], label: 'Deny the selected request (asks for a reason)' },
  { scope: 'Approvals', keys: ['Escape'], label: 'Back out: disarm approve or close the deny form' },
  { scope: 'Live', keys: ['p'], label: 'Pause or resume the feed' },
  { scope: 'Audit', keys: ['/'], label: 'Search the audit log' },
  { scope: 'Agents', keys: ['n'], label: 'New enrollment token' },
] as const;

export type ShortcutKey = (typeof SHORTCUTS)[number]['keys'][number];
export type ShortcutMode = 'on' | 'alt' | 'off';
export const SHORTCUT_MODES: readonly [ShortcutMode, string][] = [['on', 'On: single keys'], ['alt', 'Only with Alt (Option)'], ['off', 'Off']];

const STORE = 'countersign.shortcuts';
const stored = (): ShortcutMode => readPref(STORE, ['alt', 'off'], 'on');

export const useShortcutMode = create<{ mode: ShortcutMode; set(mode: ShortcutMode): void }>((set) => ({
  mode: stored(),
  set(mode) {
    writePref(STORE, mode, 'on');
    set({ mode });
  },
}));

const NAMED = new Set(['Escape', 'ArrowDown', 'ArrowUp']);

/** How a key reads on a button (aria-keyshortcuts) in the current mode, or undefined when it is off. */
export function keyHint(key: ShortcutKey, mode: ShortcutMode): string | undefined {
  if (NAMED.has(key)) return key;
  return mode === 'off' ? undefined : mode === 'alt' ? `Alt+${key}` : key;
}

/** The shortcut a keydown stands for in this mode, or null. With Alt the key is read from its position (Alt changes e.key on macOS). */
export function shortcutOf(e: KeyboardEvent, mode: ShortcutMode): string | null {
  if (e.ctrlKey || e.metaKey) return null;
  if (NAMED.has(e.key)) return e.altKey ? null : e.key;
  if (mode === 'off') return null;
  if (mode === 'on') return e.altKey ? null : e.key;
  if (!e.altKey) return null;
  const letter = /^Key([A-Z])$/.exec(e.code);
  if (letter) return letter[1]!.toLowerCase();
  const digit = /^Digit(\d)$/.exec(e.code);
  if (digit) return digit[1]!;
  if (e.code === 'Slash') return e.shiftKey ? '?' : '/';
  return null;
}

export const isTyping = (t: EventTarget | null) =>
  t instanceof HTMLElement && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName));

/**
 * Shortcuts from SHORTCUTS, ignored while typing in a field, while a modal dialog is open, and for a key a focused control
 * already handled (it called preventDefault). A handler returning false leaves the key to the browser.
 */
export function useHotkeys(map: Partial<Record<ShortcutKey, (e: KeyboardEvent) => void | boolean>>, enabled = true): void {
  const ref = useRef(map);
  ref.current = map;
  // Bound before the page paints: a key pressed once the page shows is never missed.
  useLayoutEffect(() => {
    if (!enabled) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || isTyping(e.target) || document.querySelector('[role="dialog"][aria-modal="true"]')) return;
      const key = shortcutOf(e, useShortcutMode.getState().mode);
      const h = key === null ? undefined : ref.current[key as ShortcutKey];
      if (h && h(e) !== false) e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [enabled]);
}
