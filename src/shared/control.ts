/**
 * The pipeline's control block: a few 32-bit words and one 64-bit start time in
 * a SharedArrayBuffer that the main thread, the producer workers and the
 * consumer worker all see.
 *
 *  - every worker reports ready (READY counter + notify); the main thread waits
 *    for all of them, then releases them at once (GO = 1 + notify), so nobody
 *    measures a cold start or starts before the consumer;
 *  - STOP ends the producers early (a failure or the main thread asks);
 *    FAILED says the stop was a failure;
 *  - each producer counts itself in PRODUCERS_DONE when its last
 *    BPF_PROG_TEST_RUN has returned: from then on everything it produced is in
 *    the ring or counted as dropped, which is what lets the consumer stop;
 *  - CUT tells a consumer still draining a backlog after a stop to end at its
 *    next batch (the wind-down budget, src/shared/stop.ts WIND_DOWN_MS);
 *  - CONSUMED is the consumer's count of events handled, which the main
 *    thread samples for --report-interval.
 *
 * A stop has to reach threads that are not looking at these words: the
 * consumer may sleep in epoll_wait (up to --read-timeout) and a producer may be
 * inside a long BPF_PROG_TEST_RUN (a big --chunk). So the block also holds the
 * consumer's waker fd (src/lib/waker.ts), written on every stop, failure, cut
 * and finished producer, and each producer's thread id, whose test run a stop
 * ends with EINTR (addon interruptThreads). Both are optional: a block without
 * them (the tests of this file) only uses Atomics.
 *
 * Every wait is Atomics.wait / Atomics.waitAsync with a timeout: no sleeps or
 * timers synchronise anything, and nothing can wait forever. Atomics operations
 * are sequentially consistent, so the start time stored before GO is visible to
 * whoever sees GO = 1.
 */
import { addon } from '../lib/addon.js';
import { MAX_PRODUCERS } from './event.js';

const READY = 0;
const GO = 1;
const STOP = 2;
const FAILED = 3;
const PRODUCERS_DONE = 4;
/** The consumer's waker fd, or -1. */
const WAKER_FD = 5;
const CUT = 6;
/**
 * Events the consumer has handled, mod 2^32, published at each latency batch
 * (LatencySink.progress, native/src/latency_sink.h) and sampled by the main
 * thread for --report-interval. Mod 2^32 so one Atomics.store of an int32
 * does; a sampler taking differences sees no wrap as long as fewer than 2^32
 * events pass between two samples.
 */
const CONSUMED = 7;
/** Producer i's kernel thread id (0: none) at word PRODUCER_TIDS + i. */
const PRODUCER_TIDS = 8;
const WORDS = PRODUCER_TIDS + MAX_PRODUCERS;
/** Byte offset of the BigInt64 start time (after the 32-bit words). */
const START_OFFSET = WORDS * 4;
export const CONTROL_BYTES = START_OFFSET + 8;

/** Atomics.waitAsync (V8, Node >= 16); the ES2022 library typings do not declare it yet. */
type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
  timeoutMs: number,
) => { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

export class ControlBlock {
  private readonly words: Int32Array;
  private readonly start: BigInt64Array;

  /** Wraps an existing block (a worker's view of the main thread's buffer). */
  constructor(readonly buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer, 0, WORDS);
    this.start = new BigInt64Array(buffer, START_OFFSET, 1);
  }

  /** A new block; `wakerFd`: the waker in the consumer's epoll set (-1: none). */
  static create(wakerFd = -1): ControlBlock {
    const block = new ControlBlock(new SharedArrayBuffer(CONTROL_BYTES));
    Atomics.store(block.words, WAKER_FD, wakerFd);
    return block;
  }

  // ---- workers ----

  /** A worker is set up (pinned, mapped, packet built) and waits for release. */
  reportReady(): void {
    Atomics.add(this.words, READY, 1);
    Atomics.notify(this.words, READY);
  }

  /**
   * Blocks this worker until the main thread releases everyone (true), or
   * until timeoutMs passes or the run is stopped first (false).
   */
  awaitRelease(timeoutMs: number): boolean {
    const deadline = performance.now() + timeoutMs;
    while (Atomics.load(this.words, GO) === 0) {
      if (this.stopRequested()) return false;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.wait(this.words, GO, 0, left);
    }
    return !this.stopRequested();
  }

  /**
   * Blocks for at most timeoutMs, returning early (true) as soon as a stop is
   * requested. Producers pace themselves with it, so a stop never waits for
   * the next scheduled chunk.
   */
  waitForStop(timeoutMs: number): boolean {
    if (timeoutMs > 0 && Atomics.load(this.words, STOP) === 0) Atomics.wait(this.words, STOP, 0, timeoutMs);
    return this.stopRequested();
  }

  producerDone(): void {
    Atomics.add(this.words, PRODUCERS_DONE, 1);
    Atomics.notify(this.words, PRODUCERS_DONE);
    // A consumer asleep in epoll_wait re-checks at once whether everything is accounted for.
    this.wakeConsumer();
  }

  /** A producer thread says where a stop can reach it (addon threadId); 0 takes it back. */
  setProducerThread(id: number, tid: number): void {
    Atomics.store(this.words, PRODUCER_TIDS + id, tid);
  }

  /** Blocks until `count` producers are done (true) or timeoutMs passes (false). */
  waitProducersDone(count: number, timeoutMs: number): boolean {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const done = Atomics.load(this.words, PRODUCERS_DONE);
      if (done >= count) return true;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.wait(this.words, PRODUCERS_DONE, done, left);
    }
  }

  // ---- main thread ----

  /**
   * Resolves true once `count` workers have reported ready, false if timeoutMs
   * passes or the run fails first. Uses Atomics.waitAsync, so the main
   * thread's event loop (which piscina needs to hand out tasks) keeps running.
   */
  async waitAllReady(count: number, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const ready = Atomics.load(this.words, READY);
      if (this.failed()) return false;
      if (ready >= count) return true;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      const wait = waitAsync(this.words, READY, ready, left);
      if (wait.async) await wait.value;
    }
  }

  /** Stores the common start time, then releases every waiting worker at once. */
  release(startNs: bigint): void {
    Atomics.store(this.start, 0, startNs);
    Atomics.store(this.words, GO, 1);
    Atomics.notify(this.words, GO);
  }

  /**
   * Stops the producers: a test run in progress ends early (EINTR, counted),
   * one waiting for its slot wakes, a worker still waiting for release sees the
   * stop, and the consumer's epoll_wait returns. Any thread may call it.
   */
  requestStop(): void {
    Atomics.store(this.words, STOP, 1);
    Atomics.notify(this.words, STOP);
    // A worker still waiting for release must see the stop too.
    Atomics.notify(this.words, GO);
    this.interruptProducers();
    this.wakeConsumer();
  }

  /** After a stop: the consumer ends its drain at its next batch, leaving the rest of the backlog unread (counted). */
  cut(): void {
    Atomics.store(this.words, CUT, 1);
    this.wakeConsumer();
  }

  /** Stops the run as failed: producers stop, the consumer gives up, the main thread stops waiting. */
  fail(): void {
    Atomics.store(this.words, FAILED, 1);
    this.requestStop();
    Atomics.notify(this.words, READY);
  }

  // ---- anyone ----

  get readyCount(): number {
    return Atomics.load(this.words, READY);
  }

  released(): boolean {
    return Atomics.load(this.words, GO) === 1;
  }

  stopRequested(): boolean {
    return Atomics.load(this.words, STOP) === 1;
  }

  failed(): boolean {
    return Atomics.load(this.words, FAILED) === 1;
  }

  /**
   * The STOP word alone, for native loops that look at it themselves (the
   * syscall trigger's: addon syscallLoop). Set with Atomics.store by
   * requestStop(), so any thread's relaxed load sees it soon after.
   */
  stopWord(): Int32Array {
    return new Int32Array(this.buffer, STOP * 4, 1);
  }

  /** The CONSUMED word, for the consumer to publish into (LatencySink.progress, NativeConsumer.begin). */
  consumedWord(): Int32Array {
    return new Int32Array(this.buffer, CONSUMED * 4, 1);
  }

  /** The consumer's last published count of events handled, mod 2^32 (an unsigned 32-bit number). */
  consumed(): number {
    return Atomics.load(this.words, CONSUMED) >>> 0;
  }

  cutRequested(): boolean {
    return Atomics.load(this.words, CUT) === 1;
  }

  /** The consumer's waker fd, or -1. */
  get wakerFd(): number {
    return Atomics.load(this.words, WAKER_FD);
  }

  private wakeConsumer(): void {
    const fd = this.wakerFd;
    if (fd >= 0) addon().wake(fd);
  }

  private interruptProducers(): void {
    const tids: number[] = [];
    for (let i = 0; i < MAX_PRODUCERS; i++) {
      const tid = Atomics.load(this.words, PRODUCER_TIDS + i);
      if (tid > 0) tids.push(tid);
    }
    if (tids.length) addon().interruptThreads(tids);
  }

  producersDone(): number {
    return Atomics.load(this.words, PRODUCERS_DONE);
  }

  /** The release time (process.hrtime.bigint(), CLOCK_MONOTONIC ns); 0n before release. */
  startNs(): bigint {
    return Atomics.load(this.start, 0);
  }
}
