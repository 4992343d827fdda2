// The pending tier-3 queue, kept current by approval.created / approval.decided events.
import { create } from 'zustand';
import type { ApprovalT } from '../../src-main/console/contract.ts';
import { api } from '../api/index.ts';
import { errorText } from './toasts.ts';

interface ApprovalsState {
  pending: ApprovalT[];
  loaded: boolean;
  error: string | null;
  /** Bumped when a request leaves the queue, so the history tab re-reads. */
  decidedVersion: number;
  load(): Promise<void>;
  created(a: ApprovalT): void;
  decided(a: ApprovalT): void;
}

const byExpiry = (a: ApprovalT, b: ApprovalT) => a.expiresAt.localeCompare(b.expiresAt) || a.createdAt.localeCompare(b.createdAt);

// Events that arrive while a load is in flight must survive its (older) answer.
let inflight = 0;
const createdDuring = new Map<string, ApprovalT>();
const decidedDuring = new Set<string>();

export const useApprovals = create<ApprovalsState>((set, get) => ({
  pending: [],
  loaded: false,
  error: null,
  decidedVersion: 0,
  async load() {
    inflight++;
    try {
      const { approvals } = await api.listApprovals({ status: ['pending'], limit: 500 });
      const ids = new Set(approvals.map((a) => a.id));
      const merged = [...approvals, ...[...createdDuring.values()].filter((a) => !ids.has(a.id))].filter((a) => !decidedDuring.has(a.id));
      set({ pending: merged.sort(byExpiry), loaded: true, error: null });
    } catch (e) {
      set({ error: errorText(e), loaded: true });
    } finally {
      if (--inflight === 0) {
        createdDuring.clear();
        decidedDuring.clear();
      }
    }
  },
  created(a) {
    if (a.status !== 'pending') return;
    if (inflight) createdDuring.set(a.id, a);
    set({ pending: [...get().pending.filter((p) => p.id !== a.id), a].sort(byExpiry) });
  },
  decided(a) {
    if (inflight) decidedDuring.add(a.id);
    set({ pending: get().pending.filter((p) => p.id !== a.id), decidedVersion: get().decidedVersion + 1 });
  },
}));
