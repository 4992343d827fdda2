// Desktop notifications that keep their click handler: Electron drops a Notification that nothing references once
// garbage collection runs, and its click then does nothing. Each one is held until it is clicked, closed or fails.
export interface NotificationLike {
  on(event: 'click' | 'close' | 'failed', listener: () => void): unknown;
  show(): void;
}

export class HeldNotifications {
  private readonly held = new Set<NotificationLike>();

  show(n: NotificationLike, onClick: () => void): void {
    this.held.add(n);
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
