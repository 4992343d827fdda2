// Desktop notifications that keep their click handler: Electron drops a Notification that nothing references once
// garbage collection runs, and its click then does nothing. Each one is held until it is clicked, closed or fails (or
// MAX_HELD newer ones came), and a request notifies once, however often its card is sent again.
export interface NotificationLike {
  on(event: 'click' | 'close' | 'failed', listener: () => void): unknown;
  show(): void;
}

/** Notifications held at most: past it the oldest is let go (a system that never reports close must not grow this). */
export const MAX_HELD = 32;
/** Requests remembered as notified, at most: a card shown again (another four-eyes vote) does not notify again. */
const MAX_NOTIFIED = 1000;

export class HeldNotifications {
  private readonly held = new Set<NotificationLike>();
  private readonly notified = new Set<string>();

  /** True the first time `key` (a request's id) is asked about; false after, while it is among the last remembered. */
  firstTime(key: string): boolean {
    if (this.notified.has(key)) return false;
    this.notified.add(key);
    if (this.notified.size > MAX_NOTIFIED) this.notified.delete(this.notified.values().next().value!);
    return true;
  }

  show(n: NotificationLike, onClick: () => void): void {
    this.held.add(n);
    if (this.held.size > MAX_HELD) this.held.delete(this.held.values().next().value!);
    const release = () => this.held.delete(n);
    n.on('click', () => {
      release();
      onClick();
    });
    n.on('close', release);
    n.on('failed', release);
    n.show();
  }

  get size(): number {
    return this.held.size;
  }
}
