/**
 * The consumers a run can measure, as a table of hooks in the manner of the
 * kernel's selftests/bpf/bench.h: each mode drains the ring from a starting
 * state and reports what it saw. The runners (src/patterns) time and verify;
 * modes only read.
 */
import type { RingMemory } from '../lib/ring-layout.js';
import { MODE_LABELS, type DrainOutcome, type ModeName } from '../shared/types.js';
import { CopyBuffer, drainCopy, drainView, type IdleHandler } from './drain.js';
import { EventSink } from './event-sink.js';
import { drainNative, nativeConsumerFor } from './native-consumer.js';
import type { RingReader } from '../lib/ring-reader.js';

export interface DrainContext {
  reader: RingReader;
  ring: RingMemory;
  ringFd: number;
  eventSize: number;
  /** Each producer's next sequence number when the run began. */
  startSeq: ArrayLike<number>;
  idle: IdleHandler;
  /** The sink to feed (the pipeline passes one that also records latency); default: a plain EventSink. */
  sink?: EventSink;
}

export interface ConsumerMode {
  name: ModeName;
  label: string;
  /** One-time set-up for this ring, called before the clock starts (the native modes map the ring here). */
  prepare?(ctx: DrainContext): void;
  drain(ctx: DrainContext): DrainOutcome;
}

/** What a sink saw, as a drain reports it. */
export function outcome(sink: EventSink): DrainOutcome {
  return {
    events: sink.events,
    checksum: sink.checksum.hex(),
    perProducer: sink.perProducer,
    expectedSeq: sink.expectedSeq,
    anomalies: sink.anomalies,
    firstAnomaly: sink.firstAnomaly,
  };
}

export const CONSUMER_MODES: Record<ModeName, ConsumerMode> = {
  copy: {
    name: 'copy',
    label: MODE_LABELS.copy,
    drain(ctx) {
      const sink = ctx.sink ?? new EventSink(ctx.startSeq);
      drainCopy(ctx.reader, sink, ctx.idle, new CopyBuffer(ctx.eventSize));
      return outcome(sink);
    },
  },
  view: {
    name: 'view',
    label: MODE_LABELS.view,
    drain(ctx) {
      const sink = ctx.sink ?? new EventSink(ctx.startSeq);
      drainView(ctx.reader, sink, ctx.idle);
      return outcome(sink);
    },
  },
  native: {
    name: 'native',
    label: MODE_LABELS.native,
    prepare: (ctx) => void nativeConsumerFor(ctx.ring, ctx.ringFd, ctx.eventSize, 'in-place'),
    drain: (ctx) => drainNative(nativeConsumerFor(ctx.ring, ctx.ringFd, ctx.eventSize, 'in-place'), ctx.startSeq, ctx.idle),
  },
  'native-copy': {
    name: 'native-copy',
    label: MODE_LABELS['native-copy'],
    prepare: (ctx) => void nativeConsumerFor(ctx.ring, ctx.ringFd, ctx.eventSize, 'copy'),
    drain: (ctx) => drainNative(nativeConsumerFor(ctx.ring, ctx.ringFd, ctx.eventSize, 'copy'), ctx.startSeq, ctx.idle),
  },
};
