/**
 * The pipeline consumer's sink: everything EventSink does (checksum, sequence
 * check), plus each event's latency into an HdrHistogram, plus the sums the
 * independent checksum check needs (expected-checksum.ts). A subclass used only
 * by the pipeline, so the prefill pattern's sink stays as it is.
 *
 * Latency = consumer clock − the event's bpf_ktime_get_ns() timestamp. Both are
 * CLOCK_MONOTONIC: process.hrtime is libuv's uv_hrtime, which reads
 * CLOCK_MONOTONIC on Linux. Reading the clock costs about as much as handling
 * an event, so it is read once per drained batch, *after* the batch: the
 * timestamps of up to BATCH events are held, then recorded against one clock
 * reading taken when the batch is done (or when the ring runs empty or busy,
 * whichever comes first). Every latency is therefore an upper bound that
 * includes the time to handle the rest of its batch, and is never negative.
 * With `progress` set, each clock reading also publishes how many events have
 * been handled (--report-interval's consumed/s).
 */
import type { NativeLatency } from '../lib/addon.js';
import type { Touch } from '../shared/event.js';
import type { DrainOutcome } from '../shared/types.js';
import { EventSink } from './event-sink.js';
import { LatencyBuckets } from './latency-buckets.js';

/** Events per clock reading. */
export const LATENCY_BATCH = 64;

/**
 * Thrown out of accept() / acceptRun() after a batch boundary when `cutCheck`
 * says the drain must end (a stop's wind-down budget ran out with a backlog
 * still in the ring). Every record the call was handed has been counted (a
 * run whole, so counts and the checksum sums stay together); the caller
 * consumes what it had not yet (view mode: the record or run in hand).
 */
export const DRAIN_CUT: unique symbol = Symbol('drain cut');

export class LatencySink extends EventSink {
  /** Latencies in ns, bucketed as HdrHistogram does (latency-buckets.ts). */
  readonly latencies = new LatencyBuckets();
  /** Sum (mod 2^32) of every event's sequence low half. */
  seqLowSum = 0;
  /** Sum (mod 2^32) of every event's producer << 16 | sequence high half. */
  seqHighSum = 0;
  /** Events whose sample length was not the configured event size. */
  wrongLength = 0;
  /** Clock reading (ns) at the last batch that held events: when the last event was handled. */
  lastEventNs = 0;

  /** Asked once per batch (with the clock reading): true ends the drain by throwing DRAIN_CUT. */
  cutCheck: (() => boolean) | undefined;

  /**
   * Where each clock reading publishes the events handled so far, mod 2^32
   * (the control block's CONSUMED word, for --report-interval), or undefined.
   * One Atomics.store per batch of LATENCY_BATCH events; a native consumer
   * recording latency publishes to the same word (native/src/latency_sink.h).
   */
  progress: Int32Array | undefined;

  private readonly pending = new Float64Array(LATENCY_BATCH);
  private pendingCount = 0;

  constructor(
    startSeq: ArrayLike<number>,
    readonly eventSize: number,
    touch: Touch = 'field',
  ) {
    super(startSeq, touch);
  }

  override accept(words: Int32Array, bytes: Uint8Array, byteOffset: number, length: number): void {
    super.accept(words, bytes, byteOffset, length);
    if (this.hold(words, byteOffset, length)) this.checkCut();
  }

  override acceptRun(words: Int32Array, bytes: Uint8Array, offsets: Int32Array, lengths: Int32Array, count: number): void {
    super.acceptRun(words, bytes, offsets, lengths, count);
    let flushed = false;
    for (let i = 0; i < count; i++) if (this.hold(words, offsets[i], lengths[i])) flushed = true;
    if (flushed) this.checkCut();
  }

  /**
   * The latency sink's own per-event work: hold the timestamp, add the
   * sequence halves, check the length. True when it ended a batch (a clock
   * reading), the moment to ask whether the drain must be cut.
   */
  private hold(words: Int32Array, byteOffset: number, length: number): boolean {
    const w = byteOffset >>> 2;
    this.pending[this.pendingCount++] = (words[w + 1] >>> 0) * 4294967296 + (words[w] >>> 0);
    this.seqLowSum = (this.seqLowSum + words[w + 2]) | 0;
    this.seqHighSum = (this.seqHighSum + words[w + 3]) | 0;
    if (length !== this.eventSize) this.wrongLength++;
    if (this.pendingCount < LATENCY_BATCH) return false;
    this.flush();
    return true;
  }

  private checkCut(): void {
    if (this.cutCheck !== undefined && this.cutCheck()) throw DRAIN_CUT;
  }

  /**
   * Takes over what a native consumer recorded the same way in C++
   * (native/src/latency_sink.h), so the pipeline reports and checks a native
   * run exactly as a JavaScript one. Only for a sink that saw no event itself.
   */
  takeNative(native: NativeLatency, outcome: DrainOutcome): void {
    this.events = outcome.events;
    for (let p = 0; p < this.perProducer.length; p++) {
      this.perProducer[p] = outcome.perProducer[p];
      this.expectedSeq[p] = outcome.expectedSeq[p];
    }
    this.latencies.addCounts(native.counts, native.total, native.min, native.max);
    this.seqLowSum = native.seqLowSum;
    this.seqHighSum = native.seqHighSum;
    this.wrongLength = native.wrongLength;
    this.lastEventNs = native.lastEventNs;
  }

  /** Ends the current batch: one clock reading, one histogram entry per held event. */
  flush(): void {
    if (this.pendingCount === 0) return;
    const now = Number(process.hrtime.bigint());
    for (let i = 0; i < this.pendingCount; i++) this.latencies.record(Math.max(0, now - this.pending[i]));
    this.pendingCount = 0;
    this.lastEventNs = now;
    if (this.progress !== undefined) Atomics.store(this.progress, 0, this.events | 0);
  }
}
