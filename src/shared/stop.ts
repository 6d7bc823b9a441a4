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
