/**
 * Warms the consumer worker's code before it reports ready. A fresh worker is
 * a fresh isolate: without this, the first thousands of events of a short run
 * would go through V8's interpreter and measure the JIT, not the ring. It
 * drains events written into a simulated ring (ordinary SharedArrayBuffers in
 * the kernel's layout) with the very mode, reader and sink class the run uses.
 */
import { RECORD_HEADER_SIZE, recordSize, simulatedRing } from '../lib/ring-layout.js';
import type { Touch } from '../shared/event.js';
import type { PipelineMode } from './consumer-task.js';
import { LatencySink } from './latency-sink.js';
import { CONSUMER_MODES } from './modes.js';
import { RingReader } from '../lib/ring-reader.js';

const WARM_UP_BYTES = 2 * 1024 * 1024;
const WARM_UP_ROUNDS = 8;

export function warmUp(mode: PipelineMode, eventSize: number, batch: number, touch: Touch): void {
  // The native consumer's per-event path is compiled C++: nothing to warm.
  if (mode === 'native') return;
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
    CONSUMER_MODES[mode].drain({
      reader: new RingReader(ring, { batch }),
      ring,
      ringFd: -1,
      eventSize,
      touch,
      startSeq: new Float64Array(64),
      idle: () => false,
      sink: new LatencySink(new Float64Array(64), eventSize, touch),
    });
  }
}
