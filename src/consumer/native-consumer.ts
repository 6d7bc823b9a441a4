/**
 * The native reference consumers (native/src/native_consumer.cc): libbpf's
 * ring_buffer__consume on the calling thread, doing per event the same work as
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
import { addon, type NativeConsumer } from '../lib/addon.js';
import type { RingMemory } from '../lib/ring-layout.js';
import type { DrainOutcome } from '../shared/types.js';
import type { IdleHandler } from './drain.js';


export type NativeVariant = 'in-place' | 'copy';

interface Kept {
  ring: RingMemory;
  eventSize: number;
  consumers: Partial<Record<NativeVariant, NativeConsumer>>;
}

let kept: Kept | undefined;

/** The consumer of `variant` for this ring, made on first use (call it before any clock starts). */
export function nativeConsumerFor(ring: RingMemory, ringFd: number, eventSize: number, variant: NativeVariant): NativeConsumer {
  if (kept && (kept.ring !== ring || kept.eventSize < eventSize)) releaseNativeConsumers();
  kept ??= { ring, eventSize, consumers: {} };
  let consumer = kept.consumers[variant];
  if (!consumer) {
    consumer = new (addon().NativeConsumer)(ringFd, eventSize, variant === 'copy');
    kept.consumers[variant] = consumer;
  }
  return consumer;
}

/** Frees every kept native consumer (their mappings, and with them their hold on the ring's map). */
export function releaseNativeConsumers(): void {
  if (!kept) return;
  for (const consumer of Object.values(kept.consumers)) consumer.close();
  kept = undefined;
}

/** Drains with a native consumer until `idle` says stop; the same contract as drainCopy/drainView. */
export function drainNative(consumer: NativeConsumer, startSeq: ArrayLike<number>, idle: IdleHandler): DrainOutcome {
  consumer.begin(startSeq);
  for (;;) {
    const status = consumer.consume();
    if (!idle(status)) break;
  }
  return consumer.result();
}
