/**
 * Drains a perf buffer with the JavaScript readers as a benchmark would, with
 * one EventSink per CPU: a producer's events are in order within one CPU's ring
 * but not across rings (src/lib/perf-reader.ts), so the sequence check runs
 * per ring and the results are merged, as the native perf consumer does.
 */
import { EventSink } from '../../src/consumer/event-sink.js';
import { EMPTY, perfCopyBuffer, type PerfBufferReader } from '../../src/lib/perf-reader.js';
import { checksumHex, MAX_PRODUCERS, type Touch } from '../../src/shared/event.js';
import type { DrainOutcome } from '../../src/shared/types.js';

export interface PerfDrainOutcome extends DrainOutcome {
  lost: number;
  /** Per CPU: events of each producer read from that CPU's ring. */
  perCpu: Map<number, Float64Array>;
}

/** touch: the per-event work (default all: the tests compare with the full reference checksum). */
export function drainPerf(reader: PerfBufferReader, mode: 'copy' | 'view', eventSize: number, startSeq: ArrayLike<number>, touch: Touch = 'all'): PerfDrainOutcome {
  const sinks = new Map<number, EventSink>();
  const sinkFor = (cpu: number): EventSink => {
    let sink = sinks.get(cpu);
    if (!sink) sinks.set(cpu, (sink = new EventSink(startSeq, touch)));
    return sink;
  };
  if (mode === 'copy') {
    const bytes = perfCopyBuffer(eventSize);
    const words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
    for (let length = reader.readInto(bytes); length !== EMPTY; length = reader.readInto(bytes))
      sinkFor(reader.cpu).accept(words, bytes, 0, length);
  } else {
    // words/bytes change with the ring (and for a wrapped sample): read them per sample.
    for (let length = reader.peek(); length !== EMPTY; length = reader.peek()) {
      sinkFor(reader.cpu).accept(reader.words, reader.bytes, reader.sampleOffset, length);
      reader.consume();
    }
  }
  let a = 0;
  let b = 0;
  let events = 0;
  let anomalies = 0;
  let firstAnomaly: string | undefined;
  const perProducer = new Float64Array(MAX_PRODUCERS);
  const expectedSeq = Float64Array.from({ length: MAX_PRODUCERS }, (_, p) => startSeq[p]);
  const perCpu = new Map<number, Float64Array>();
  for (const [cpu, sink] of sinks) {
    a = (a + sink.checksum.a) | 0;
    b = (b + sink.checksum.b) | 0;
    events += sink.events;
    anomalies += sink.anomalies;
    firstAnomaly ??= sink.firstAnomaly;
    for (let p = 0; p < MAX_PRODUCERS; p++) {
      if (sink.perProducer[p]) expectedSeq[p] = Math.max(expectedSeq[p], sink.expectedSeq[p]);
      perProducer[p] += sink.perProducer[p];
    }
    perCpu.set(cpu, sink.perProducer);
  }
  return { events, checksum: checksumHex(a, b), perProducer, expectedSeq, anomalies, firstAnomaly, lost: reader.lost, perCpu };
}
