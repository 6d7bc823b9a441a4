/**
 * The consumers a run can measure, as a table of hooks in the manner of the
 * kernel's selftests/bpf/bench.h: each mode drains the ring from a starting
 * state and reports what it saw. The runners (src/patterns) time and verify;
 * modes only read.
 */
import type { RingMemory } from '../shared/ring-layout.js';
import { MODE_LABELS, type DrainOutcome, type ModeName } from '../shared/types.js';
import { CopyBuffer, drainCopy, drainView, type IdleHandler } from './drain.js';
import { EventSink } from './event-sink.js';
import type { RingReader } from './ring-reader.js';

export interface DrainContext {
  reader: RingReader;
  ring: RingMemory;
  ringFd: number;
  eventSize: number;
  /** Each producer's next sequence number when the run began. */
  startSeq: ArrayLike<number>;
  idle: IdleHandler;
}

export interface ConsumerMode {
  name: ModeName;
  label: string;
  drain(ctx: DrainContext): DrainOutcome;
}

function outcome(sink: EventSink): DrainOutcome {
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
      const sink = new EventSink(ctx.startSeq);
      drainCopy(ctx.reader, sink, ctx.idle, new CopyBuffer(ctx.eventSize));
      return outcome(sink);
    },
  },
  view: {
    name: 'view',
    label: MODE_LABELS.view,
    drain(ctx) {
      const sink = new EventSink(ctx.startSeq);
      drainView(ctx.reader, sink, ctx.idle);
      return outcome(sink);
    },
  },
};
