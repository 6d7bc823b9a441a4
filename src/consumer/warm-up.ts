/**
 * Warms the consumer worker's code before it reports ready. A fresh worker is
 * a fresh isolate: without this, the first thousands of events of a short run
 * would go through V8's interpreter and measure the JIT, not the ring. It
 * drains events written into a simulated ring (ordinary SharedArrayBuffers in
 * the kernel's layout) with the very mode, reader and sink class the run uses;
 * for the perf buffer modes, two simulated perf rings, as two CPUs' would be.
 */
import { RECORD_HEADER_SIZE, recordSize, simulatedRing, type RingMemory } from '../lib/ring-layout.js';
import {
  DATA_HEAD_OFFSET,
  DATA_TAIL_OFFSET,
  PERF_RECORD_SAMPLE,
  RECORD_SIZE_SHIFT,
  SAMPLE_DATA_OFFSET,
  SAMPLE_RAW_SIZE_OFFSET,
  perfRawSize,
  perfRecordSize,
  simulatedPerfRing,
  type PerfRingMemory,
} from '../lib/perf-layout.js';
import { PerfBufferReader } from '../lib/perf-reader.js';
import type { Touch } from '../shared/event.js';
import type { PipelineMode } from './consumer-task.js';
import { LatencySink } from './latency-sink.js';
import { CONSUMER_MODES, type DrainContext } from './modes.js';
import { RingReader } from '../lib/ring-reader.js';

const WARM_UP_BYTES = 2 * 1024 * 1024;
const WARM_UP_ROUNDS = 8;

export function warmUp(mode: PipelineMode, eventSize: number, batch: number, touch: Touch): void {
  // The native consumer's per-event path is compiled C++: nothing to warm.
  if (mode === 'native' || mode === 'perf-native') return;
  if (mode === 'perf-copy' || mode === 'perf-view') {
    warmUpPerf(mode, eventSize, batch, touch);
    return;
  }
  const ring = simulatedRing(WARM_UP_BYTES);
  const words = new Int32Array(ring.producer);
  const positions = new BigInt64Array(ring.producer, 0, 1);
  const consumer = new BigInt64Array(ring.consumer, 0, 1);
  const perRecord = recordSize(eventSize);
  const records = Math.floor(WARM_UP_BYTES / perRecord);
  for (let round = 0; round < WARM_UP_ROUNDS; round++) {
    // Records from position 0, never wrapping, so the data area's second copy is not needed.
    const now = Number(process.hrtime.bigint());
    for (let i = 0, at = ring.pageSize; i < records; i++, at += perRecord) {
      words[at >>> 2] = eventSize;
      const sample = (at + RECORD_HEADER_SIZE) >>> 2;
      words[sample] = now % 2 ** 32;
      words[sample + 1] = Math.floor(now / 2 ** 32);
      words[sample + 2] = i;
    }
    Atomics.store(consumer, 0, 0n);
    Atomics.store(positions, 0, BigInt(records * perRecord));
    CONSUMER_MODES[mode].drain(simulatedContext(ring, new RingReader(ring, { batch }), eventSize, touch));
  }
}

/** The perf modes' warm-up: every round, each of two simulated CPU rings filled from position 0 (never wrapping), then drained. */
function warmUpPerf(mode: 'perf-copy' | 'perf-view', eventSize: number, batch: number, touch: Touch): void {
  const rings = [0, 1].map((cpu) => simulatedPerfRing(WARM_UP_BYTES / 2, 4096, cpu));
  const records = Math.floor(WARM_UP_BYTES / 2 / perfRecordSize(eventSize)) - 1;
  for (let round = 0; round < WARM_UP_ROUNDS; round++) {
    const now = Number(process.hrtime.bigint());
    for (const ring of rings) fillPerfRing(ring, eventSize, records, now);
    // The ring buffer's reader is unused: a small idle one fills the slot.
    const idleRing = simulatedRing(4096);
    CONSUMER_MODES[mode].drain({
      ...simulatedContext(idleRing, new RingReader(idleRing), eventSize, touch),
      perfReader: new PerfBufferReader(rings, { batch, sampleLength: eventSize }),
    });
  }
}

/** `records` samples of eventSize bytes from position 0, laid out as the kernel writes them (perf-layout.ts), stamped `now`. */
function fillPerfRing(ring: PerfRingMemory, eventSize: number, records: number, now: number): void {
  const words = new Int32Array(ring.buffer);
  const dataStart = 4096;
  const perRecord = perfRecordSize(eventSize);
  for (let i = 0, at = dataStart; i < records; i++, at += perRecord) {
    words[at >>> 2] = PERF_RECORD_SAMPLE;
    words[(at >>> 2) + 1] = perRecord << RECORD_SIZE_SHIFT;
    words[(at + SAMPLE_RAW_SIZE_OFFSET) >>> 2] = perfRawSize(eventSize);
    const sample = (at + SAMPLE_DATA_OFFSET) >>> 2;
    words[sample] = now % 2 ** 32;
    words[sample + 1] = Math.floor(now / 2 ** 32);
    words[sample + 2] = i;
  }
  Atomics.store(new BigUint64Array(ring.buffer, DATA_TAIL_OFFSET, 1), 0, 0n);
  Atomics.store(new BigUint64Array(ring.buffer, DATA_HEAD_OFFSET, 1), 0, BigInt(records * perRecord));
}

/** A drain of a simulated ring: no fd, sequences from 0, never waiting, latency recorded as the pipeline does. */
function simulatedContext(ring: RingMemory, reader: RingReader, eventSize: number, touch: Touch): DrainContext {
  return {
    reader,
    ring,
    ringFd: -1,
    eventSize,
    touch,
    startSeq: new Float64Array(64),
    idle: () => false,
    sink: new LatencySink(new Float64Array(64), eventSize, touch),
  };
}
