// When a link counts as silent: both ends judge it at a periodic timer, the agent by what it hears from the console
// (any message or pong), the console's hub by what it hears from each agent.

/**
 * Tells, each time a periodic timer fires, whether it fired late (more than 1.5 periods after the last firing): this
 * process itself was busy (an inventory scan on a loaded endpoint, a slow store, a stopped process). What the other end
 * sent meanwhile may still sit unread in the socket, since Node runs due timers before it reads sockets, so a late
 * firing must not judge a link silent; the next one does.
 */
export function lateFirings(everyMs: number, start = performance.now()): (now?: number) => boolean {
  let last = start;
  return (now = performance.now()) => {
    const late = now - last > 1.5 * everyMs;
    last = now;
    return late;
  };
}

/**
 * A link is silent once nothing was heard for three heartbeat intervals, judged at a heartbeat tick that came on time
 * (lateFirings). Without that, a busy agent dropped a live link at once on a loaded machine, and a command the console
 * had just sent on it was lost and delivered again.
 */
export class SilenceWatch {
  private heard: number;
  private readonly late: (now?: number) => boolean;
  private readonly intervalMs: number;

  constructor(intervalMs: number, now = performance.now()) {
    this.intervalMs = intervalMs;
    this.heard = now;
    this.late = lateFirings(intervalMs, now);
  }

  /** Something came from the other end. */
  heardAt(now = performance.now()): void {
    this.heard = now;
  }

  /** Called at each heartbeat tick: true when the link is silent. */
  tick(now = performance.now()): boolean {
    return !this.late(now) && now - this.heard > 3 * this.intervalMs;
  }
}
