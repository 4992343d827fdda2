// Short-lived notices for the result of an action (approved, revoked, failed …).
import { create } from 'zustand';

export interface Toast {
  id: number;
  tone: 'ok' | 'danger' | 'info';
  text: string;
}

interface ToastState {
  toasts: Toast[];
  push(tone: Toast['tone'], text: string): void;
  dismiss(id: number): void;
}

let next = 1;
export const useToasts = create<ToastState>((set, get) => ({
  toasts: [],
  push(tone, text) {
    const id = next++;
    set({ toasts: [...get().toasts.slice(-3), { id, tone, text }] });
    setTimeout(() => get().dismiss(id), tone === 'danger' ? 8000 : 4000);
  },
  dismiss(id) {
    set({ toasts: get().toasts.filter((t) => t.id !== id) });
  },
}));

export const toast = (tone: Toast['tone'], text: string) => useToasts.getState().push(tone, text);
export const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));
