/**
 * Ctrl-C / SIGTERM for the bench command. One process-wide `interruption`:
 *
 *  - requested() is an Atomics.load of a word the native handler
 *    (native/src/signals.cc) sets, so it answers at once even inside the
 *    synchronous prefill (a fill, a drain), where a JavaScript signal listener
 *    could not run until the whole pattern returned;
 *  - onRequest(cb) calls cb once, from the event loop, when the first signal
 *    arrives: the concurrent pipeline uses it to stop its producers (the
 *    consumer then finishes what is in the ring, so the partial run is still
 *    verified);
 *  - wakeFd is a waker the native handler writes at once: the pipeline's
 *    consumer has it in its epoll set, so a stop ends its wait whatever
 *    --read-timeout is, even before the event loop has seen the signal;
 *  - runInterruptibly(fn): WIND_DOWN_MS after the first signal the native
 *    deadline thread terminates fn (a prefill drain of a big backlog), so the
 *    completed runs are reported in time;
 *  - the native side also enforces the deadline: GRACE_MS after the first
 *    signal the process exits even if something is still running, and a second
 *    signal exits at once. Exiting closes every fd, so the kernel frees the
 *    program and the maps whichever way the process ends.
 *
 * It is the StopSignal the CLI hands every runner (src/shared/stop.ts); the
 * commands turn a stop into exit code 128 + the signal's number
 * (src/commands/context.ts).
 */
import * as os from 'node:os';
import { addon } from '../lib/addon.js';
import { WIND_DOWN_MS, type StopSignal } from '../shared/stop.js';

/**
 * How long an interrupted run may take to stop producing, drain and report
 * before the native deadline exits without results. Drains are cut after
 * WIND_DOWN_MS, so a run reports well within this; it is the backstop for a
 * kernel call that does not return (loading, mapping a huge ring).
 */
export const GRACE_MS = 1500;
/** How often the event loop looks at the flag on behalf of onRequest() listeners. */
const POLL_MS = 20;
// The words of native/src/signals.cc.
const COUNT = 0;
const SIGNAL = 1;
const WAKE_FD = 3;

class Interruption implements StopSignal {
  private flags: Int32Array | undefined;
  private readonly listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private announced = false;

  /** Installs the native handlers (once; main thread). Call after the flags are validated, before loading. */
  install(graceMs = GRACE_MS, windDownMs = WIND_DOWN_MS): void {
    this.flags ??= new Int32Array(addon().interruptFlags(graceMs, windDownMs));
    // unref: looking at the flag must not keep an otherwise finished process alive.
    this.timer ??= setInterval(() => this.announce(), POLL_MS).unref();
  }

  get installed(): boolean {
    return this.flags !== undefined;
  }

  /** True once SIGINT or SIGTERM has arrived. Cheap: one atomic load. */
  requested(): boolean {
    return this.flags !== undefined && Atomics.load(this.flags, COUNT) > 0;
  }

  /** "SIGINT", "SIGTERM", or undefined before any signal. */
  signalName(): string | undefined {
    if (!this.requested()) return undefined;
    const signo = Atomics.load(this.flags!, SIGNAL);
    return Object.entries(os.constants.signals).find(([, n]) => n === signo)?.[0] ?? `signal ${signo}`;
  }

  /** StopSignal: the signal's name. */
  reason(): string | undefined {
    return this.signalName();
  }

  /** StopSignal: the waker the native handler writes (native/src/signals.cc). */
  get wakeFd(): number | undefined {
    const fd = this.flags === undefined ? -1 : Atomics.load(this.flags, WAKE_FD);
    return fd >= 0 ? fd : undefined;
  }

  /** StopSignal: the native deadline thread terminates fn WIND_DOWN_MS after a signal. */
  runInterruptibly(fn: () => void): boolean {
    if (!this.installed) {
      fn();
      return true;
    }
    return addon().runInterruptibly(fn);
  }

  /** Calls cb (once, from the event loop) when a signal arrives, or soon if one already has. Returns an unsubscribe. */
  onRequest(cb: () => void): () => void {
    if (this.announced) queueMicrotask(cb);
    else this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  private announce(): void {
    if (this.announced || !this.requested()) return;
    this.announced = true;
    for (const cb of [...this.listeners]) cb();
    this.listeners.clear();
  }
}

export const interruption = new Interruption();
