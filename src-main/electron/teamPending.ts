// The desktop on a team server (COUNTERSIGN_TEAM_URL) has no gate of its own to count pending approvals: it follows the
// team server's console event stream as the account signed in in its window (that window's session cookie), so the
// count and the notifications are that account's, within its tenant rights, exactly as its console page shows them.
// Plain Node (fetch, zod): main.ts hands it the cookie and shows what it reports, as it does for the embedded server.
import { z } from 'zod';
import { ConsoleEvent, type ApprovalT } from '../console/contract.ts';

/** The console's session cookie (http/consoleAuth.ts). */
export const CONSOLE_COOKIE = 'cs_console';

export interface TeamPendingOptions {
  team: URL;
  /** The console session cookie's value in the window's session, or undefined when nobody is signed in. */
  cookie(): Promise<string | undefined>;
  onCount(n: number): void;
  onCreated(approval: ApprovalT): void;
  log(msg: string, err?: unknown): void;
  fetch?: typeof fetch;
  /** Wait before reconnecting after the stream ends or fails (the server's own SSE retry is 2 s). */
  retryMs?: number;
}

const SessionReply = z.object({ result: z.object({ pendingApprovals: z.number().int().min(0) }) });
const MAX_FRAME = 1 << 20;

export class TeamPending {
  private readonly o: Required<Omit<TeamPendingOptions, 'fetch'>> & { fetch: typeof fetch };
  private abort: AbortController | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private last = -1;

  constructor(o: TeamPendingOptions) {
    this.o = { retryMs: 2000, fetch: globalThis.fetch, ...o };
  }

  start(): void {
    void this.loop();
  }

  /** The sign-in changed (the window's cookie was set or cleared): reconnect as the new account now. */
  signInChanged(): void {
    this.abort?.abort();
    this.wake?.();
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
    this.wake?.();
  }

  private count(n: number): void {
    if (n === this.last) return;
    this.last = n;
    this.o.onCount(n);
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        const cookie = await this.o.cookie();
        if (cookie) await this.follow(cookie);
        else this.count(0);
      } catch (e) {
        if (!this.stopped && !(e instanceof Error && e.name === 'AbortError')) this.o.log('following the team server\'s approvals failed', e);
      }
      if (this.stopped) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.o.retryMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private headers(cookie: string, json: boolean): Record<string, string> {
    return { Cookie: `${CONSOLE_COOKIE}=${cookie}`, ...(json ? { 'Content-Type': 'application/json' } : { Accept: 'text/event-stream' }) };
  }

  /** The signed-in account's pending count, from the server (the events say something changed, not the new total). */
  private async refresh(cookie: string, signal: AbortSignal): Promise<void> {
    const res = await this.o.fetch(new URL('/console/api/rpc/session', this.o.team), { method: 'POST', headers: this.headers(cookie, true), body: '{}', signal });
    if (res.status === 401) return this.count(0);
    const body = SessionReply.safeParse(await res.json().catch(() => null));
    if (!res.ok || !body.success) throw new Error(`the team server's session answered ${res.status}`);
    this.count(body.data.result.pendingApprovals);
  }

  private async follow(cookie: string): Promise<void> {
    const abort = new AbortController();
    this.abort = abort;
    const res = await this.o.fetch(new URL('/console/api/events', this.o.team), { headers: this.headers(cookie, false), signal: abort.signal });
    if (res.status === 401) {
      // Signed out or expired: nothing is the desktop's to count until someone signs in again.
      await res.body?.cancel();
      return this.count(0);
    }
    if (!res.ok || !res.body) throw new Error(`the team server's event stream answered ${res.status}`);
    // Opened: what happened while it was closed is in the count, reported even when unchanged (now followed).
    this.last = -1;
    await this.refresh(cookie, abort.signal);
    const decoder = new TextDecoderStream();
    let buffer = '';
    for await (const chunk of res.body.pipeThrough(decoder)) {
      buffer += chunk;
      if (buffer.length > MAX_FRAME) throw new Error('the team server sent an event larger than 1 MiB');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (/^event: session-ended$/m.test(frame)) return this.count(0);
        const data = frame.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        if (data) await this.event(data, cookie, abort.signal);
      }
    }
  }

  private async event(data: string, cookie: string, signal: AbortSignal): Promise<void> {
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      return this.o.log('the team server sent an event that is not JSON');
    }
    const e = ConsoleEvent.safeParse(json);
    // A newer server's event this build does not know: not ours to show.
    if (!e.success || !e.data.type.startsWith('approval.')) return;
    if (e.data.type === 'approval.created' && e.data.approval.status === 'pending') {
      // A four-eyes card replaced after one more approval is sent as created again: notify only a new request.
      if (!this.seen.has(e.data.approval.id)) this.o.onCreated(e.data.approval);
      this.seen.add(e.data.approval.id);
      if (this.seen.size > 10_000) this.seen.clear();
    }
    await this.refresh(cookie, signal);
  }

  private readonly seen = new Set<string>();
}
