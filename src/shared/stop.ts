/**
 * How a run is asked to stop early. Runners take a StopSignal and never look
 * at process-wide state: the CLI hands them its Ctrl-C / SIGTERM handling
 * (src/cli/interrupt.ts), a test or a library user a StopController.
 *
 * requested() must be cheap: the synchronous prefill asks it between runs and
 * when a fill is cut short, and it must answer even while JavaScript never
 * yields to the event loop (the CLI's answer is an Atomics.load of a word a
 * native signal handler sets).
 */
export interface StopSignal {
  /** True once a stop was asked for. */
  requested(): boolean;
  /** Calls cb once, from the event loop, when the stop comes (soon, if it already has). Returns an unsubscribe. */
  onRequest(cb: () => void): () => void;
  /** What asked for the stop, for reports ("SIGINT", "SIGTERM", "stop"); undefined before. */
  reason(): string | undefined;
  /**
   * Optional: a waker's fd (src/lib/waker.ts) that is woken the moment the
   * stop is requested, even while the main thread is busy, for a worker asleep
   * in epoll_wait to add to its WaitSet. Without it, runners wake their
   * workers themselves from onRequest().
   */
  readonly wakeFd?: number;
  /**
   * Optional: runs a synchronous stretch (a prefill drain) that a stop may
   * terminate once WIND_DOWN_MS have passed since it was requested; returns
   * false if it did (fn's work is then partial and must be dropped). Without
   * it, the stretch always runs to its end.
   */
  runInterruptibly?(fn: () => void): boolean;
}

/**
 * How long after a stop the runners keep draining what is already in the ring
 * before they cut the drain short (the rest counted as unread, or the run in
 * progress dropped), so that partial results are out within half a second of
 * Ctrl-C whatever the backlog.
 */
export const WIND_DOWN_MS = 250;

/** Runs fn under the stop's runInterruptibly, or plainly; false if the stop cut it short. */
export function runInterruptibly(stop: StopSignal, fn: () => void): boolean {
  if (stop.runInterruptibly) return stop.runInterruptibly(fn);
  fn();
  return true;
}

/** A stop signal that never fires: the default for runs nobody can interrupt. */
export const NEVER_STOP: StopSignal = {
  requested: () => false,
  onRequest: () => () => {},
  reason: () => undefined,
};

/** A StopSignal fired by calling stop(). */
export class StopController implements StopSignal {
  private why: string | undefined;
  private readonly listeners = new Set<() => void>();

  stop(reason = 'stop'): void {
    if (this.why !== undefined) return;
    this.why = reason;
    for (const cb of [...this.listeners]) queueMicrotask(cb);
    this.listeners.clear();
  }

  requested(): boolean {
    return this.why !== undefined;
  }

  onRequest(cb: () => void): () => void {
    if (this.why !== undefined) {
      queueMicrotask(cb);
      return () => {};
    }
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  reason(): string | undefined {
    return this.why;
  }
}
