/**
 * The native consumers (native/src/native_consumer.cc, native_perf_consumer.cc):
 * libbpf's ring_buffer__consume / perf_buffer__consume on the calling thread.
 *  - `native` processes each sample in place, `native-copy` memcpy()s it into
 *    a reused buffer first; both do per event in C++ exactly what EventSink
 *    does (native/src/event_sink.h, at the run's touch level);
 *  - `callback` is the usual Node binding: libbpf calls back into JavaScript
 *    once per event through N-API with the sample copied into a fresh Buffer,
 *    and the JavaScript callback hands it to the same EventSink as the JS modes.
 *
 * ring_buffer__new() maps the whole ring (page + 2 * size bytes, every page
 * inserted at mmap() time), which must not be timed; so a consumer is made once
 * per ring, by prepare(), and kept. At most one ring's and one perf buffer's
 * consumers are kept at a time: a ring's mappings hold the BPF map (and its
 * memory) alive, and a sweep opens one ring per size. releaseNativeConsumers()
 * frees them at once.
 *
 * libbpf reads the consumer position from the shared consumer page at every
 * ring_buffer__consume() and publishes it after every record, so it takes turns
 * with a RingReader on the same ring, provided the RingReader is made (or
 * resynchronised) after the native drain: a RingReader keeps its own position.
 */
import { addon, type NativeConsumer, type NativeDrainResult, type NativePerfConsumer, type NativeVariant, type PerfBuffer } from '../lib/addon.js';
import type { RingMemory } from '../lib/ring-layout.js';
import type { Touch } from '../shared/event.js';
import type { DrainOutcome } from '../shared/types.js';
import type { IdleHandler } from './drain.js';
import type { EventSink } from './event-sink.js';
import type { LatencySink } from './latency-sink.js';

export type { NativeVariant };

/**
 * What a native consumer's consume() returns, besides EMPTY and BUSY, when an
 * interrupted run's wind-down ran out (native/src/signals.cc): it stopped at
 * its next record with the ring not yet empty.
 */
export const CUT = -3;

/** What drainNative() drives: the ring buffer's or the perf buffer's native consumer. */
type AnyNativeConsumer = Pick<NativeConsumer, 'begin' | 'consume' | 'close'> & { result(): NativeDrainResult & { lost?: number } };

interface Kept {
  /** The ring (RingMemory) or perf buffer (PerfBuffer, or its shareId in a worker) the consumers read. */
  source: object | number;
  eventSize: number;
  consumers: Map<string, AnyNativeConsumer>;
}

/** The kept consumers of one ring and of one perf buffer: a run reading both kinds alternates between them. */
const kept = new Map<'ring' | 'perf', Kept>();

/** The kept consumer under `key` for `source`, made by make() on first use; a new source of the same kind releases the old one's. */
function keptFor<T extends AnyNativeConsumer>(kind: 'ring' | 'perf', source: object | number, eventSize: number, key: string, make: () => T): T {
  let mine = kept.get(kind);
  if (mine && (mine.source !== source || mine.eventSize < eventSize)) {
    release(mine);
    mine = undefined;
  }
  if (!mine) kept.set(kind, (mine = { source, eventSize, consumers: new Map() }));
  let consumer = mine.consumers.get(key) as T | undefined;
  if (!consumer) {
    consumer = make();
    mine.consumers.set(key, consumer);
  }
  return consumer;
}

/**
 * The consumer of `variant` and `touch` for this ring (recording latency as
 * the pipeline does, if asked), made on first use: call it before any clock
 * starts — ring_buffer__new() maps the whole ring, tens of ms for 512 MiB.
 */
export function nativeConsumerFor(ring: RingMemory, ringFd: number, eventSize: number, variant: NativeVariant, touch: Touch, recordLatency = false): NativeConsumer {
  return keptFor('ring', ring, eventSize, `${variant}/${touch}/${recordLatency}`, () => new (addon().NativeConsumer)(ringFd, eventSize, variant, touch, recordLatency));
}

/**
 * The perf buffer's native consumer (libbpf's perf_buffer__consume over the
 * rings `perf` owns; from a worker thread, the PerfBuffer's shareId), made on
 * first use. It reads the same rings as the JavaScript PerfReaders, taking
 * turns through each ring's data_tail. eventSize: the events' own length (raw
 * sizes are padded). recordLatency as nativeConsumerFor's.
 */
export function nativePerfConsumerFor(perf: PerfBuffer | number, eventSize: number, variant: 'in-place' | 'copy', touch: Touch, recordLatency = false): NativePerfConsumer {
  return keptFor('perf', perf, eventSize, `${variant}/${touch}/${recordLatency}`, () => new (addon().NativePerfConsumer)(perf, eventSize, variant === 'copy', touch, recordLatency));
}

function release(mine: Kept): void {
  for (const consumer of mine.consumers.values()) consumer.close();
  mine.consumers.clear();
}

/** Frees every kept native consumer (their mappings, and with them their hold on the ring's map). */
export function releaseNativeConsumers(): void {
  for (const mine of kept.values()) release(mine);
  kept.clear();
}

/** Frees the kept native consumers of one ring or perf buffer (before its session closes). */
export function releaseNativeConsumersOf(source: object | number): void {
  for (const [kind, mine] of kept)
    if (mine.source === source) {
      release(mine);
      kept.delete(kind);
    }
}

/**
 * Drains with a native consumer until `idle` says stop; the same contract as
 * drainCopy/drainView. A perf buffer consumer's outcome carries `lost`
 * (samples the kernel reported lost).
 */
export function drainNative(consumer: AnyNativeConsumer, startSeq: ArrayLike<number>, idle: IdleHandler): DrainOutcome {
  consumer.begin(startSeq);
  for (;;) {
    const status = consumer.consume();
    if (!idle(status)) break;
  }
  return consumer.result();
}

/**
 * The pipeline's native drain: a consumer made with recordLatency, which
 * records latency in C++ as LatencySink does in JavaScript. `sink.events`
 * follows the native count between drains (the idle handler's stop rule reads
 * it); at the end the sink takes over the native record, so the pipeline
 * reports and checks it as it does a JavaScript consumer's.
 */
export function drainNativeWithLatency(
  consumer: AnyNativeConsumer & Pick<NativeConsumer, 'eventCount' | 'latency'>,
  sink: LatencySink,
  startSeq: ArrayLike<number>,
  idle: IdleHandler,
): DrainOutcome {
  // The C++ recorder publishes its count where the sink would (--report-interval).
  consumer.begin(startSeq, sink.progress);
  for (;;) {
    const status = consumer.consume();
    sink.events = consumer.eventCount();
    if (!idle(status)) break;
  }
  const outcome = consumer.result();
  sink.takeNative(consumer.latency(), outcome);
  return outcome;
}

/**
 * callback mode: libbpf's ring_buffer__consume calls `onSample` once per event
 * with a fresh Buffer holding a copy of the sample; it hands the sample to the
 * sink, as the JavaScript modes do, through a 32-bit view of the Buffer (what
 * any reader of 32-bit fields needs; the Buffer is 8-byte aligned, its own
 * allocation).
 */
export function drainCallback(consumer: NativeConsumer, sink: EventSink, idle: IdleHandler): void {
  const onSample = (sample: Uint8Array): void => {
    sink.accept(new Int32Array(sample.buffer, sample.byteOffset, sample.byteLength >>> 2), sample, 0, sample.byteLength);
  };
  for (;;) {
    const status = consumer.consume(onSample);
    if (!idle(status)) return;
  }
}
