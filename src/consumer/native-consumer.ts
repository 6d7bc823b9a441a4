/**
 * The native reference consumers (native/src/native_consumer.cc,
 * native_perf_consumer.cc): libbpf's ring_buffer__consume / perf_buffer__consume
 * on the calling thread, doing per event the same work as
 * EventSink (checksum + sequence check). `native` processes each sample in
 * place; `native-copy` memcpy()s it into a reused buffer first.
 *
 * ring_buffer__new() maps the whole ring (page + 2 * size bytes, every page
 * inserted at mmap() time), which must not be timed; so a consumer is made once
 * per ring, by prepare(), and kept. At most one ring's consumers are kept at a
 * time: a ring's mappings hold the BPF map (and its memory) alive, and a sweep
 * opens one ring per size. releaseNativeConsumers() frees them at once.
 *
 * libbpf reads the consumer position from the shared consumer page at every
 * ring_buffer__consume() and publishes it after every record, so it takes turns
 * with a RingReader on the same ring, provided the RingReader is made (or
 * resynchronised) after the native drain: a RingReader keeps its own position.
 */
import { addon, type NativeConsumer, type NativeDrainResult, type NativePerfConsumer, type PerfBuffer } from '../lib/addon.js';
import type { RingMemory } from '../lib/ring-layout.js';
import type { DrainOutcome } from '../shared/types.js';
import type { IdleHandler } from './drain.js';

export type NativeVariant = 'in-place' | 'copy';

/** What drainNative() drives: the ring buffer's or the perf buffer's native consumer. */
type AnyNativeConsumer = Pick<NativeConsumer, 'begin' | 'consume' | 'close'> & { result(): NativeDrainResult & { lost?: number } };

interface Kept {
  /** The ring (RingMemory) or perf buffer (PerfBuffer) the consumers read. */
  source: object;
  eventSize: number;
  consumers: Partial<Record<NativeVariant, AnyNativeConsumer>>;
}

let kept: Kept | undefined;

function keptFor<T extends AnyNativeConsumer>(source: object, eventSize: number, variant: NativeVariant, make: () => T): T {
  if (kept && (kept.source !== source || kept.eventSize < eventSize)) releaseNativeConsumers();
  kept ??= { source, eventSize, consumers: {} };
  let consumer = kept.consumers[variant] as T | undefined;
  if (!consumer) {
    consumer = make();
    kept.consumers[variant] = consumer;
  }
  return consumer;
}

/** The consumer of `variant` for this ring, made on first use (call it before any clock starts). */
export function nativeConsumerFor(ring: RingMemory, ringFd: number, eventSize: number, variant: NativeVariant): NativeConsumer {
  return keptFor(ring, eventSize, variant, () => new (addon().NativeConsumer)(ringFd, eventSize, variant === 'copy'));
}

/**
 * The perf buffer's native consumer of `variant` (libbpf's perf_buffer__consume over the rings `perf`
 * owns), made on first use. It reads the same rings as the JavaScript PerfReaders, taking turns
 * through each ring's data_tail. eventSize: the events' own length (raw sizes are padded).
 */
export function nativePerfConsumerFor(perf: PerfBuffer, eventSize: number, variant: NativeVariant): NativePerfConsumer {
  return keptFor(perf, eventSize, variant, () => new (addon().NativePerfConsumer)(perf, eventSize, variant === 'copy'));
}

/** Frees every kept native consumer (their mappings, and with them their hold on the ring's map). */
export function releaseNativeConsumers(): void {
  if (!kept) return;
  for (const consumer of Object.values(kept.consumers)) consumer.close();
  kept = undefined;
}

/**
 * Drains with a native consumer until `idle` says stop; the same contract as drainCopy/drainView.
 * A perf buffer consumer's outcome carries `lost` (samples the kernel reported lost).
 */
export function drainNative(consumer: AnyNativeConsumer, startSeq: ArrayLike<number>, idle: IdleHandler): DrainOutcome {
  consumer.begin(startSeq);
  for (;;) {
    const status = consumer.consume();
    if (!idle(status)) break;
  }
  return consumer.result();
}
