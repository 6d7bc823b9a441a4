/**
 * Stall watchdog for a consumer that sleeps in epoll_wait between drains.
 *
 * The rule (issue 5): an epoll consumer never waits with data in the ring for
 * longer than its --read-timeout, whatever the wake-up mode. With adaptive or
 * forced wake-ups the kernel wakes it as soon as a record is submitted; with
 * BPF_RB_NO_WAKEUP nothing wakes it and the timeout is what bounds the wait.
 * A wait that overruns its timeout, or data found after a wait that has been
 * in the ring longer than the timeout, is a stall: the run fails.
 *
 * "How long the data waited" is read from the data itself: the first unread
 * event's bpf_ktime_get_ns() stamp (CLOCK_MONOTONIC, the clock behind
 * process.hrtime), against the consumer's clock right after the wait. The
 * consumer only waits when it found the ring empty, so everything in the ring
 * after a wait arrived during it.
 *
 * SLACK_MS is scheduling allowance on top of the timeout: on a loaded 2-core
 * machine a woken thread can take tens of milliseconds to run again; a real
 * stall (a lost wake-up with a long timeout, a wait that never ends) is far
 * beyond it.
 */

export const SLACK_MS = 250;

export class StallWatchdog {
  /** Waits checked. */
  waits = 0;
  stalls = 0;
  firstStall: string | undefined;
  /** The longest single wait seen, ms. */
  longestWaitMs = 0;
  /** The oldest data found right after a wait, ms. */
  oldestDataMs = 0;
  private waitStartMs = 0;

  constructor(
    readonly timeoutMs: number,
    readonly slackMs = SLACK_MS,
  ) {}

  /** The longest the rule allows, ms. */
  get limitMs(): number {
    return this.timeoutMs + this.slackMs;
  }

  /** Call right before epoll_wait. */
  beforeWait(nowMs = performance.now()): void {
    this.waitStartMs = nowMs;
  }

  /**
   * Call right after epoll_wait. `oldestEventNs`: the bpf_ktime_get_ns() stamp
   * of the first unread event, or undefined if the ring is still empty;
   * `nowNs`: process.hrtime.bigint() as a number, read after the wait.
   */
  afterWait(oldestEventNs: number | undefined, nowNs: number, nowMs = performance.now()): void {
    this.waits++;
    const waited = nowMs - this.waitStartMs;
    this.longestWaitMs = Math.max(this.longestWaitMs, waited);
    if (waited > this.limitMs) this.stall(`epoll_wait returned after ${waited.toFixed(1)} ms; its timeout is ${this.timeoutMs} ms`);
    if (oldestEventNs === undefined) return;
    const age = (nowNs - oldestEventNs) / 1e6;
    this.oldestDataMs = Math.max(this.oldestDataMs, age);
    if (age > this.limitMs) this.stall(`an event waited ${age.toFixed(1)} ms in the ring while the consumer slept (timeout ${this.timeoutMs} ms)`);
  }

  /** Undefined when no stall was seen, else a one-line description for the run's failures. */
  failure(): string | undefined {
    if (!this.stalls) return undefined;
    return `stall watchdog: ${this.stalls} of ${this.waits} waits broke the ${this.timeoutMs} ms (+${this.slackMs} ms slack) bound; first: ${this.firstStall}`;
  }

  private stall(what: string): void {
    this.stalls++;
    this.firstStall ??= what;
  }
}
