/**
 * Waking a thread that waits for ring data, at once, whatever its timeout.
 *
 * A thread that sleeps in epoll_wait on a ring fd wakes when the kernel signals
 * new data, or when its timeout passes. To end the wait sooner (a stop, a
 * finished producer, a shutdown), put a Waker in the same WaitSet: any thread
 * that knows the waker's fd (pass the number in workerData) calls wake(), and
 * the waiting thread's wait() returns with the waker's tag. A signal handler
 * can do the same (native/src/signals.cc writes the CLI's stop waker).
 *
 * Wakers are eventfds added edge-triggered (native/src/waker.cc): each wake()
 * ends one wait, also one that starts after the wake(), so there is no
 * lost-wake-up window and nothing to reset. A waker that was ever woken is
 * reported once by a WaitSet it is added to afterwards (epoll looks at the
 * fd's state when it is added), so a stop that came before a thread started
 * waiting is not missed.
 */
import { addon } from './addon.js';

/** The tag WaitSet.wait() reports for ring data. */
export const RING_TAG = 1;

export class Waker {
  /** A new waker; close() it once no thread will wake it any more. */
  static open(): Waker {
    return new Waker(addon().wakerOpen());
  }

  /** Wraps a waker's fd received from another thread. */
  constructor(readonly fd: number) {}

  /** Ends the current (or next) wait of every WaitSet holding this waker. Any thread. */
  wake(): void {
    addon().wake(this.fd);
  }

  close(): void {
    addon().closeFd(this.fd);
  }
}

/** An epoll set over one ring fd plus wakers. Wait on it from a worker thread, never the main thread. */
export class WaitSet {
  readonly fd: number;

  constructor(ringFd: number) {
    this.fd = addon().epollOpen(ringFd);
  }

  /** Adds a waker's fd; wait() reports it as `tag`, a bit from 2 to 2^30 (RING_TAG is the ring's). */
  add(fd: number, tag: number): void {
    addon().epollAdd(this.fd, fd, tag);
  }

  /** Blocks for at most timeoutMs; returns the OR of the tags that fired (0: timed out, or a signal arrived). */
  wait(timeoutMs: number): number {
    return addon().epollWait(this.fd, timeoutMs);
  }

  close(): void {
    addon().closeFd(this.fd);
  }
}
