// When a link counts as silent: both ends judge it once per heartbeat tick, the agent by what it hears from the console
// (any message or pong), the console's hub by what it hears from each agent.

/**
 * A link is silent once nothing was heard for three heartbeat intervals, judged at a tick that came on time. A late
 * tick means this process itself was busy (an inventory scan on a loaded endpoint, a slow store, a stopped process):
 * what the other end sent meanwhile may still sit unread in the socket, and Node runs due timers before it reads
 * sockets, so such a tick gives no verdict and the next one does. Without this, a busy agent dropped a live link at
 * once on a loaded machine, and a command the console had just sent on it was lost and delivered again.
 */
export class SilenceWatch {
  private heard: number;
  private lastTick: number;
  private readonly intervalMs: number;

  constructor(intervalMs: number, now = performance.now()) {
    this.intervalMs = intervalMs;
    this.heard = now;
    this.lastTick = now;
  }

  /** Something came from the other end. */
  heardAt(now = performance.now()): void {
    this.heard = now;
  }

  /** Called at each heartbeat tick: true when the link is silent. */
  tick(now = performance.now()): boolean {
    const late = now - this.lastTick > 1.5 * this.intervalMs;
    this.lastTick = now;
    return !late && now - this.heard > 3 * this.intervalMs;
  }
}
