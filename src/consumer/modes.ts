/**
 * The consumers a run can measure, as a table of hooks in the manner of the
 * kernel's selftests/bpf/bench.h: each mode drains the ring from a starting
 * state and reports what it saw. The runners (src/runners) time and verify;
 * modes only read. Every mode does the same per-event work for a given touch
 * level (EventSink, or its C++ twin), so their checksums agree.
 */
import type { PerfBuffer } from '../lib/addon.js';
import type { PerfBufferReader } from '../lib/perf-reader.js';
import type { RingMemory } from '../lib/ring-layout.js';
import type { Touch } from '../shared/event.js';
import { MODE_LABELS, type DrainOutcome, type ModeName } from '../shared/types.js';
import {
  CopyBuffer,
  drainCopy,
  drainCopyRuns,
  drainPerfCopy,
  drainPerfCopyRuns,
  drainPerfView,
  drainPerfViewRuns,
  drainView,
  drainViewRuns,
  type IdleHandler,
} from './drain.js';
import { EventSink } from './event-sink.js';
import { LatencySink } from './latency-sink.js';
import { drainCallback, drainNative, drainNativeWithLatency, nativeConsumerFor, nativePerfConsumerFor } from './native-consumer.js';
import type { RingReader } from '../lib/ring-reader.js';

export interface DrainContext {
  /** The JavaScript modes' reader; its batch is the run length (1: one record at a time). */
  reader: RingReader;
  ring: RingMemory;
  ringFd: number;
  eventSize: number;
  /** How much of each sample the consumer reads. */
  touch: Touch;
  /** Each producer's next sequence number when the run began. */
  startSeq: ArrayLike<number>;
  idle: IdleHandler;
  /**
   * The sink to feed; default: a plain EventSink. The pipeline passes a
   * LatencySink, which the native mode then records into in C++ (a consumer
   * of its own, made with recordLatency by prepare()).
   */
  sink?: EventSink;
  /**
   * The perf buffer modes' JavaScript reader over every CPU's ring (its batch
   * is the run length, as `reader`'s), and the PerfBuffer the native ones
   * read (in a worker thread, its shareId). With a perf buffer session, `ring`
   * and `reader` are its unused one-page ring buffer.
   */
  perfReader?: PerfBufferReader;
  perf?: PerfBuffer | number;
}

export interface ConsumerMode {
  name: ModeName;
  label: string;
  /** What the mode does per record and per batch, for the report's header (`batch`: --batch). */
  describe(batch: number): string;
  /** One-time set-up for this ring, called before the clock starts (the native modes map the ring here). */
  prepare?(ctx: DrainContext): void;
  drain(ctx: DrainContext): DrainOutcome;
}

/** What a sink saw, as a drain reports it (a perf drain's per-CPU sequence lanes merged). */
export function outcome(sink: EventSink): DrainOutcome {
  const { perProducer, expectedSeq } = sink.totals();
  return {
    events: sink.events,
    checksum: sink.checksum.hex(),
    perProducer,
    expectedSeq,
    anomalies: sink.anomalies,
    firstAnomaly: sink.firstAnomaly,
  };
}

/** A perf drain's outcome: the sink's, plus the samples the kernel reported lost. */
function perfOutcome(sink: EventSink, reader: PerfBufferReader): DrainOutcome {
  return { ...outcome(sink), lost: reader.lost };
}

const sinkFor = (ctx: DrainContext): EventSink => ctx.sink ?? new EventSink(ctx.startSeq, ctx.touch);
const LIBBPF = 'libbpf ring_buffer__consume, position published after every record whatever --batch says';
const LIBBPF_PERF =
  'libbpf perf_buffer__consume: each CPU ring in turn up to the data_head it loads, a record that wraps the ring end copied first, data_tail published once per ring whatever --batch says';
const PERF = 'each CPU ring in turn up to the data_head loaded once (Atomics.load) per snapshot, headers by plain loads';

function perfReaderOf(ctx: DrainContext): PerfBufferReader {
  if (!ctx.perfReader) throw new Error('a perf buffer mode needs a perf buffer session (DrainContext.perfReader)');
  return ctx.perfReader;
}

function perfOf(ctx: DrainContext): PerfBuffer | number {
  if (ctx.perf === undefined) throw new Error('a perf buffer mode needs a perf buffer session (DrainContext.perf)');
  return ctx.perf;
}

export const CONSUMER_MODES: Record<ModeName, ConsumerMode> = {
  copy: {
    name: 'copy',
    label: MODE_LABELS.copy,
    describe: (batch) =>
      batch === 1
        ? 'each record: header by Atomics.load, sample copied into a reused buffer (readInto), position published, event handled from the copy'
        : `each run of up to ${batch} records: headers by Atomics.load, the run copied with one set() into a reused buffer (readRunInto), position published, then its events handled from the copy`,
    drain(ctx) {
      const sink = sinkFor(ctx);
      const { reader } = ctx;
      if (reader.batch === 1) drainCopy(reader, sink, ctx.idle, CopyBuffer.forSample(ctx.eventSize));
      else drainCopyRuns(reader, sink, ctx.idle, CopyBuffer.forRun(ctx.eventSize, reader.batch));
      return outcome(sink);
    },
  },
  view: {
    name: 'view',
    label: MODE_LABELS.view,
    describe: (batch) =>
      batch === 1
        ? 'each record: header by Atomics.load, event handled in place in the ring (peek), position published (consume)'
        : `each run of up to ${batch} records: headers by Atomics.load (peekRun), events handled in place, position published once (consumeRun)`,
    drain(ctx) {
      const sink = sinkFor(ctx);
      if (ctx.reader.batch === 1) drainView(ctx.reader, sink, ctx.idle);
      else drainViewRuns(ctx.reader, sink, ctx.idle);
      return outcome(sink);
    },
  },
  native: {
    name: 'native',
    label: MODE_LABELS.native,
    describe: () => `${LIBBPF}; C callback per event handles it in place`,
    prepare: (ctx) => void nativeConsumerFor(ctx.ring, ctx.ringFd, ctx.eventSize, 'in-place', ctx.touch, ctx.sink instanceof LatencySink),
    drain(ctx) {
      const { sink } = ctx;
      const consumer = nativeConsumerFor(ctx.ring, ctx.ringFd, ctx.eventSize, 'in-place', ctx.touch, sink instanceof LatencySink);
      return sink instanceof LatencySink ? drainNativeWithLatency(consumer, sink, ctx.startSeq, ctx.idle) : drainNative(consumer, ctx.startSeq, ctx.idle);
    },
  },
  'native-copy': {
    name: 'native-copy',
    label: MODE_LABELS['native-copy'],
    describe: () => `${LIBBPF}; C callback per event memcpy()s the sample into a reused buffer and handles the copy`,
    prepare: (ctx) => void nativeConsumerFor(ctx.ring, ctx.ringFd, ctx.eventSize, 'copy', ctx.touch),
    drain: (ctx) => drainNative(nativeConsumerFor(ctx.ring, ctx.ringFd, ctx.eventSize, 'copy', ctx.touch), ctx.startSeq, ctx.idle),
  },
  callback: {
    name: 'callback',
    label: MODE_LABELS.callback,
    describe: () => `${LIBBPF}; per event, the sample copied into a new Buffer and a JavaScript callback called through N-API, which handles it`,
    prepare: (ctx) => void nativeConsumerFor(ctx.ring, ctx.ringFd, ctx.eventSize, 'callback', ctx.touch),
    drain(ctx) {
      const sink = sinkFor(ctx);
      drainCallback(nativeConsumerFor(ctx.ring, ctx.ringFd, ctx.eventSize, 'callback', ctx.touch), sink, ctx.idle);
      return outcome(sink);
    },
  },
  'perf-copy': {
    name: 'perf-copy',
    label: MODE_LABELS['perf-copy'],
    describe: (batch) =>
      batch === 1
        ? `${PERF}; each record: sample copied into a reused buffer (readInto; one that wraps the ring end in two parts), data_tail published, event handled from the copy`
        : `${PERF}; each run of up to ${batch} records of one CPU ring: the run copied with one set() (two when it passes the ring end) into a reused buffer (readRunInto), data_tail published once, then its events handled from the copy`,
    drain(ctx) {
      const sink = sinkFor(ctx);
      const reader = perfReaderOf(ctx);
      if (reader.batch === 1) drainPerfCopy(reader, sink, ctx.idle, CopyBuffer.forPerfSample(ctx.eventSize));
      else drainPerfCopyRuns(reader, sink, ctx.idle, CopyBuffer.forPerfRun(ctx.eventSize, reader.batch));
      return perfOutcome(sink, reader);
    },
  },
  'perf-view': {
    name: 'perf-view',
    label: MODE_LABELS['perf-view'],
    describe: (batch) =>
      batch === 1
        ? `${PERF}; each record: event handled in place (peek; a sample that wraps the ring end copied first, as libbpf does), data_tail published (consume)`
        : `${PERF}; each run of up to ${batch} records of one CPU ring: events handled in place (peekRun; a sample that wraps the ring end copied first, alone in its run), data_tail published once (consumeRun)`,
    drain(ctx) {
      const sink = sinkFor(ctx);
      const reader = perfReaderOf(ctx);
      if (reader.batch === 1) drainPerfView(reader, sink, ctx.idle);
      else drainPerfViewRuns(reader, sink, ctx.idle);
      return perfOutcome(sink, reader);
    },
  },
  'perf-native': {
    name: 'perf-native',
    label: MODE_LABELS['perf-native'],
    describe: () => `${LIBBPF_PERF}; C callback per event handles it in place`,
    prepare: (ctx) => void nativePerfConsumerFor(perfOf(ctx), ctx.eventSize, 'in-place', ctx.touch, ctx.sink instanceof LatencySink),
    drain(ctx) {
      const { sink } = ctx;
      const consumer = nativePerfConsumerFor(perfOf(ctx), ctx.eventSize, 'in-place', ctx.touch, sink instanceof LatencySink);
      return sink instanceof LatencySink ? drainNativeWithLatency(consumer, sink, ctx.startSeq, ctx.idle) : drainNative(consumer, ctx.startSeq, ctx.idle);
    },
  },
  'perf-native-copy': {
    name: 'perf-native-copy',
    label: MODE_LABELS['perf-native-copy'],
    describe: () => `${LIBBPF_PERF}; C callback per event memcpy()s the sample into a reused buffer and handles the copy`,
    prepare: (ctx) => void nativePerfConsumerFor(perfOf(ctx), ctx.eventSize, 'copy', ctx.touch),
    drain: (ctx) => drainNative(nativePerfConsumerFor(perfOf(ctx), ctx.eventSize, 'copy', ctx.touch), ctx.startSeq, ctx.idle),
  },
};
