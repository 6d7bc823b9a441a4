/**
 * Waiting for a ring's fd on the event loop, without blocking it: a libuv
 * poll watcher (native/src/fd_watcher.cc) that is started only while someone
 * waits and stopped as soon as it fires.
 *
 * Why start/stop around each wait: libuv registers the fd level-triggered and
 * the ring polls readable for as long as the published consumer position
 * differs from the producer position (kernel/bpf/ringbuf.c ringbuf_map_poll_kern).
 * A watcher left running while JavaScript works through the records would fire
 * on every loop turn for nothing. Level-triggered registration is also what
 * makes the start race-free: epoll_ctl(EPOLL_CTL_ADD) polls the fd at once, so
 * a record submitted between "the reader saw EMPTY" and "the watcher is
 * registered" still wakes the waiter.
 *
 * What wakes a registered watcher afterwards is the kernel's wake-up at submit
 * (bpf_ringbuf_commit): with flags 0 only when the consumer position equals the
 * record's position (the consumer had caught up, i.e. may be waiting), with
 * BPF_RB_FORCE_WAKEUP always, with BPF_RB_NO_WAKEUP never. The reader publishes
 * its position before reporting EMPTY (ring-reader.ts idle()), which is what
 * the adaptive rule needs. For NO_WAKEUP producers nothing ever fires: callers
 * pass a timeout and look at the ring when it expires.
 */
import { addon, type FdWatcher } from './addon.js';

/** Why a wait ended. */
export type WakeReason = 'readable' | 'timeout' | 'closed';

/** Options of FdReadiness.wait(). */
export interface ReadinessWaitOptions {
  /** Rejects the wait with signal.reason when aborted. */
  signal?: AbortSignal;
  /** Resolves 'timeout' after this many milliseconds (default: wait for readiness only). */
  timeoutMs?: number;
  /** Whether this wait keeps the process alive (default true). */
  keepAlive?: boolean;
}

interface Waiter {
  settle(reason: WakeReason): void;
  fail(error: unknown): void;
  keepAlive: boolean;
}

/** At most 2^31 - 1 ms: Node's timers silently turn longer delays into 1 ms. */
const MAX_TIMER_MS = 0x7fffffff;

/** Non-blocking waits for one fd's readability on this thread's event loop; any number of waiters share one watcher. */
export class FdReadiness {
  private watcher: FdWatcher | undefined;
  private readonly waiters = new Set<Waiter>();
  private closed = false;

  constructor(private readonly fd: number) {}

  /** Resolves when the fd polls readable, when the timeout expires, or when close() is called. */
  wait(options: ReadinessWaitOptions = {}): Promise<WakeReason> {
    const { signal, timeoutMs, keepAlive = true } = options;
    if (this.closed) return Promise.resolve('closed');
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<WakeReason>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => waiter.fail(signal?.reason);
      const done = (): void => {
        this.waiters.delete(waiter);
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.disarmIfIdle();
      };
      const waiter: Waiter = {
        keepAlive,
        settle: (reason) => {
          done();
          resolve(reason);
        },
        fail: (error) => {
          done();
          reject(error);
        },
      };
      this.waiters.add(waiter);
      if (timeoutMs !== undefined && timeoutMs !== Infinity) {
        // The watcher keeps the process alive (or not, as asked); the timer never needs to.
        timer = setTimeout(() => waiter.settle('timeout'), Math.min(Math.max(0, timeoutMs), MAX_TIMER_MS)).unref();
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        this.arm();
      } catch (err) {
        waiter.fail(err);
      }
    });
  }

  /** Ends every pending wait with 'closed' and frees the watcher; the fd stays open (the caller closes it after this). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const waiter of [...this.waiters]) waiter.settle('closed');
    this.watcher?.close();
    this.watcher = undefined;
  }

  private arm(): void {
    if (!this.watcher) {
      try {
        this.watcher = new (addon().FdWatcher)(this.fd, (error) => this.fired(error));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST')
          throw new Error(`fd ${this.fd} is already watched on this thread's event loop (libuv allows one watcher per fd): open the ring by path or id, or pass a dup() of the fd`, { cause: err });
        throw err;
      }
    }
    if ([...this.waiters].some((w) => w.keepAlive)) this.watcher.ref();
    else this.watcher.unref();
    this.watcher.start();
  }

  private disarmIfIdle(): void {
    if (this.waiters.size === 0) this.watcher?.stop();
  }

  private fired(error: Error | null): void {
    this.watcher?.stop();
    for (const waiter of [...this.waiters]) {
      if (error) waiter.fail(error);
      else waiter.settle('readable');
    }
  }
}
