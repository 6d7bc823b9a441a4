/**
 * The perf buffer readers on simulated perf rings: ordinary SharedArrayBuffers
 * with the kernel's layout, written by a producer that follows
 * kernel/events/ring_buffer.c (helpers/sim-perf-producer.ts). Runs anywhere,
 * no privileges needed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DATA_HEAD_OFFSET,
  DATA_TAIL_OFFSET,
  perfRawSize,
  perfRecordSize,
  perfRecordsThatFit,
  simulatedPerfRing,
  type PerfRingMemory,
} from '../src/lib/perf-layout.js';
import { EMPTY, PerfBufferReader, PerfReader, perfCopyBuffer, SAMPLE_ALIGNMENT } from '../src/lib/perf-reader.js';
import { COPY_BY_WORDS_MAX } from '../src/lib/ring-reader.js';
import { SimPerfProducer } from './helpers/sim-perf-producer.js';

const SIZE = 4096;

function sample(length: number, tag: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 7 + tag) & 0xff);
}

/** The sample peek() points at, copied out of wherever it is (mapping or scratch). */
function peekBytes(reader: { bytes: Uint8Array; sampleOffset: number }, length: number): Uint8Array {
  return reader.bytes.slice(reader.sampleOffset, reader.sampleOffset + length);
}

function tailOf(ring: PerfRingMemory): bigint {
  return new BigUint64Array(ring.buffer, DATA_TAIL_OFFSET, 1)[0];
}

test('layout arithmetic: the raw size pads 4 + length to 8; records fit as CIRC_SPACE allows', () => {
  assert.equal(perfRawSize(128), 132);
  assert.equal(perfRawSize(100), 100);
  assert.equal(perfRawSize(16), 20);
  assert.equal(perfRecordSize(128), 144);
  assert.equal(perfRecordSize(100), 112);
  // The kernel's own count on this VM: 227 128-byte samples filled a 32 KiB ring (test/kernel-perf.test.ts).
  assert.equal(perfRecordsThatFit(32768, 128), 227);
  // An exact multiple of the record size still keeps one byte free.
  assert.equal(perfRecordsThatFit(4096, 500), 7);
  assert.equal(perfRecordsThatFit(4096, 116), 31);
});

test('an empty ring reads EMPTY, leaves the position alone and publishes nothing new', () => {
  const ring = simulatedPerfRing(SIZE);
  new SimPerfProducer(ring, 800);
  const reader = new PerfReader(ring);
  assert.equal(reader.peek(), EMPTY);
  assert.equal(reader.position, 800);
  assert.equal(tailOf(ring), 800n);
  assert.equal(new PerfBufferReader([ring]).peek(), EMPTY);
});

test('view and copy read back what was written; the padded raw size is reported without sampleLength', () => {
  const ring = simulatedPerfRing(SIZE);
  const producer = new SimPerfProducer(ring);
  producer.scribble(0xee); // stale bytes where the kernel leaves padding unwritten
  const reader = new PerfReader(ring);
  const lengths = [16, 21, 100, 128, COPY_BY_WORDS_MAX, COPY_BY_WORDS_MAX + 3, 1000];
  const copy = new Uint8Array(1024);
  for (const [i, length] of lengths.entries()) {
    const s = sample(length, i);
    assert.ok(producer.output(s));
    assert.ok(producer.output(s));
    const raw = reader.peek();
    assert.equal(raw, perfRawSize(length), `raw size of a ${length}-byte sample`);
    assert.deepEqual(peekBytes(reader, length), s, `view of ${length} bytes`);
    // The pad bytes are stale ring contents, not zeros: a checksum over the raw size would include them.
    if (raw > length) assert.equal(reader.bytes[reader.sampleOffset + length], 0xee);
    reader.consume();
    assert.equal(reader.readInto(copy), perfRawSize(length));
    assert.deepEqual(copy.subarray(0, length), s, `copy of ${length} bytes`);
    if (i === 0) producer.scribble(0xee); // nothing unread: safe to scribble again
  }
  assert.equal(reader.peek(), EMPTY);
  assert.equal(Number(tailOf(ring)), producer.position);
});

test('with sampleLength the reader reports the event\'s own length, never more than the raw size', () => {
  const ring = simulatedPerfRing(SIZE);
  const producer = new SimPerfProducer(ring);
  const reader = new PerfReader(ring, { sampleLength: 100 });
  producer.output(sample(100, 1)); // raw 100: no padding
  producer.output(sample(40, 2)); // a shorter sample than the producer's size: its raw size wins
  assert.equal(reader.peek(), 100);
  reader.consume();
  assert.equal(reader.peek(), perfRawSize(40));
  const r3 = simulatedPerfRing(SIZE);
  new SimPerfProducer(r3).output(sample(128, 3));
  const reader3 = new PerfReader(r3, { sampleLength: 128 });
  assert.equal(reader3.peek(), 128, 'raw size 132, sample 128');
  assert.deepEqual(peekBytes(reader3, 128), sample(128, 3));
});

test('a sample that wraps the end of the data area is read whole, by view (scratch copy) and by copy', () => {
  for (const length of [20, 100, COPY_BY_WORDS_MAX + 44, 1000]) {
    const record = perfRecordSize(length);
    // Start positions where the record straddles the end at every 8-byte step, including
    // header-at-the-end (the sample then starts past the end, contiguous again).
    for (let before = 8; before < record; before += 8) {
      const ring = simulatedPerfRing(SIZE);
      const producer = new SimPerfProducer(ring, 3 * SIZE - before);
      const view = new PerfReader(ring, { sampleLength: length });
      const s = sample(length, before);
      producer.output(s);
      assert.equal(view.peek(), length);
      assert.deepEqual(peekBytes(view, length), s, `view, ${length} B, ${before} B before the end`);
      view.consume();
      producer.output(sample(length, before + 1));
      const copy = new Uint8Array((length + 3) & ~3);
      assert.equal(view.readInto(copy), length);
      assert.deepEqual(copy.subarray(0, length), sample(length, before + 1), `copy after a wrap, ${length} B`);
      assert.equal(view.position, 3 * SIZE - before + 2 * record);
      assert.equal(view.peek(), EMPTY);
      assert.equal(Number(tailOf(ring)), view.position);
    }
  }
});

test('the view of a sample in the mapping is in place: no copy unless it wraps', () => {
  const ring = simulatedPerfRing(SIZE);
  const producer = new SimPerfProducer(ring, SIZE - 8);
  const reader = new PerfReader(ring, { sampleLength: 64 });
  producer.output(sample(64, 1)); // header in the last 8 bytes: the sample starts at data offset 4
  assert.equal(reader.peek(), 64);
  assert.equal(reader.bytes.buffer, ring.buffer, 'in the mapping');
  assert.equal(reader.sampleOffset, SIZE + 4);
  const r2 = simulatedPerfRing(SIZE);
  const p2 = new SimPerfProducer(r2, SIZE - 16);
  const reader2 = new PerfReader(r2, { sampleLength: 64 });
  p2.output(sample(64, 2)); // sample starts 4 bytes before the end: wraps
  assert.equal(reader2.peek(), 64);
  assert.notEqual(reader2.bytes.buffer, r2.buffer, 'in the scratch buffer');
  assert.deepEqual(peekBytes(reader2, 64), sample(64, 2));
});

test('lost-sample records are counted and skipped; the count equals the samples that did not fit', () => {
  const ring = simulatedPerfRing(SIZE);
  const producer = new SimPerfProducer(ring);
  const reader = new PerfReader(ring, { sampleLength: 100 });
  const fit = perfRecordsThatFit(SIZE, 100);
  for (let i = 0; i < fit + 25; i++) producer.output(sample(100, i));
  assert.equal(producer.totalLost, 25);
  let seen = 0;
  while (reader.peek() !== EMPTY) {
    assert.deepEqual(peekBytes(reader, 100), sample(100, seen));
    seen++;
    reader.consume();
  }
  assert.equal(seen, fit);
  assert.equal(reader.lost, 0, 'the kernel reports lost samples only with the next output that fits');
  producer.output(sample(100, 999));
  assert.equal(reader.peek(), 100);
  assert.equal(reader.lost, 25);
  assert.equal(reader.lostRecords, 1);
  assert.deepEqual(peekBytes(reader, 100), sample(100, 999));
});

test('records of other types are skipped and counted', () => {
  const ring = simulatedPerfRing(SIZE);
  const producer = new SimPerfProducer(ring);
  const reader = new PerfReader(ring);
  producer.other(14 /* PERF_RECORD_THROTTLE */, 16);
  producer.output(sample(28, 5));
  assert.equal(reader.peek(), 28);
  assert.equal(reader.otherRecords, 1);
  assert.deepEqual(peekBytes(reader, 28), sample(28, 5));
});

test('a corrupt record size stops the reader with an error instead of looping or misreading', () => {
  const ring = simulatedPerfRing(SIZE);
  const producer = new SimPerfProducer(ring);
  producer.output(sample(32, 1));
  new DataView(ring.buffer).setUint16(4096 + 6, 0, true);
  assert.throws(() => new PerfReader(ring).peek(), /not a valid record/);
});

test('data_tail: published every `batch` records and before EMPTY, never past an unread record', () => {
  const ring = simulatedPerfRing(SIZE);
  const producer = new SimPerfProducer(ring);
  const reader = new PerfReader(ring, { batch: 3, sampleLength: 40 });
  for (let i = 0; i < 5; i++) producer.output(sample(40, i));
  const record = perfRecordSize(40);
  const tails: bigint[] = [];
  for (let i = 0; i < 5; i++) {
    assert.equal(reader.peek(), 40);
    // While a sample is being read, the kernel must not see its space free.
    assert.ok(tailOf(ring) <= BigInt(i * record), `tail ${tailOf(ring)} before reading record ${i}`);
    reader.consume();
    tails.push(tailOf(ring));
  }
  assert.deepEqual(tails, [0n, 0n, BigInt(3 * record), BigInt(3 * record), BigInt(3 * record)]);
  assert.equal(reader.peek(), EMPTY);
  assert.equal(tailOf(ring), BigInt(5 * record), 'published before reporting EMPTY');
});

test('a torn data_head cannot mislead the reader: only the low half is loaded, and the 4 GiB crossing is exact', () => {
  const start = 2 ** 32 - 2 * perfRecordSize(100) - 8;
  const ring = simulatedPerfRing(SIZE);
  const producer = new SimPerfProducer(ring, start);
  const reader = new PerfReader(ring, { sampleLength: 100 });
  const words = new Uint32Array(ring.buffer, DATA_HEAD_OFFSET, 2);
  for (let i = 0; i < 4; i++) producer.output(sample(100, i));
  const head = BigInt(producer.position);
  assert.ok(head > 2n ** 32n, 'the head crossed 4 GiB');
  // What a reader assembling the u64 from two 32-bit loads could see around that store:
  // the new low half with the old high half (and the reverse). This reader loads the low
  // half only, so neither can mislead it.
  words[0] = Number(head & 0xffffffffn);
  words[1] = 0; // stale high half
  const seen: number[] = [];
  for (let length = reader.peek(); length !== EMPTY; length = reader.peek()) {
    seen.push(reader.bytes[reader.sampleOffset]); // sample(100, i) starts with byte i
    reader.consume();
  }
  assert.deepEqual(seen, [0, 1, 2, 3], 'every sample once, in order, across the 4 GiB boundary');
  assert.equal(reader.position, producer.position);
  assert.equal(tailOf(ring), head, 'data_tail published whole: the high half moved too');

  // The reverse tear (new high half, stale low half) looks like an older head: the reader
  // sees nothing new rather than something wrong.
  producer.output(sample(100, 9));
  words[0] = Number(BigInt(reader.position) & 0xffffffffn);
  assert.equal(reader.peek(), EMPTY);
  producer.publish();
  assert.equal(reader.peek(), 100);
});

test('PerfBufferReader drains every CPU\'s ring, says which CPU each sample came from, and commits each', () => {
  const rings = [0, 1, 2].map((cpu) => simulatedPerfRing(SIZE, 4096, cpu));
  const producers = rings.map((r) => new SimPerfProducer(r));
  producers[0].output(sample(60, 0));
  producers[2].output(sample(60, 20));
  producers[2].output(sample(60, 21));
  const reader = new PerfBufferReader(rings, { sampleLength: 60 });
  const got: [number, number][] = [];
  const copy = new Uint8Array(60);
  for (let length = reader.readInto(copy); length !== EMPTY; length = reader.readInto(copy)) got.push([reader.cpu, copy[0]]);
  assert.deepEqual(got, [
    [0, 0],
    [2, 20],
    [2, 21],
  ]);
  for (const [i, r] of rings.entries()) assert.equal(Number(tailOf(r)), producers[i].position, `cpu ${i} committed`);
});

test('PerfBufferReader does not let one busy ring starve another: it moves on at the snapshot\'s end', () => {
  const rings = [0, 1].map((cpu) => simulatedPerfRing(SIZE, 4096, cpu));
  const [busy, quiet] = rings.map((r) => new SimPerfProducer(r));
  busy.output(sample(32, 0));
  quiet.output(sample(32, 100));
  const reader = new PerfBufferReader(rings, { sampleLength: 32 });
  const order: number[] = [];
  for (let i = 0; i < 6; i++) {
    assert.equal(reader.peek(), 32);
    order.push(reader.cpu);
    reader.consume();
    busy.output(sample(32, i + 1)); // cpu 0 never runs dry
  }
  assert.ok(order.includes(1), `cpu 1 was read: ${order.join(',')}`);
  assert.equal(order[0], 0);
  assert.equal(order[1], 1, 'cpu 1 comes right after the first snapshot of cpu 0');
});

test('PerfBufferReader view: words/bytes follow the ring (and the scratch buffer) of each sample', () => {
  const rings = [0, 1].map((cpu) => simulatedPerfRing(SIZE, 4096, cpu));
  const p0 = new SimPerfProducer(rings[0], SIZE - 16); // its sample wraps
  const p1 = new SimPerfProducer(rings[1]);
  p0.output(sample(64, 7));
  p1.output(sample(64, 8));
  const reader = new PerfBufferReader(rings, { sampleLength: 64 });
  assert.equal(reader.peek(), 64);
  assert.deepEqual(peekBytes(reader, 64), sample(64, 7));
  reader.consume();
  assert.equal(reader.peek(), 64);
  assert.equal(reader.bytes.buffer, rings[1].buffer);
  assert.deepEqual(peekBytes(reader, 64), sample(64, 8));
  reader.consume();
  assert.equal(reader.peek(), EMPTY);
  assert.equal(reader.lost, 0);
});

test('perfCopyBuffer() starts where every sample in the mapping starts, modulo 8, and readInto() fills it', () => {
  const ring = simulatedPerfRing(SIZE);
  const producer = new SimPerfProducer(ring);
  const reader = new PerfReader(ring, { sampleLength: 1000 });
  const copy = perfCopyBuffer(1000);
  assert.equal(copy.byteOffset % 8, SAMPLE_ALIGNMENT);
  assert.equal(SAMPLE_ALIGNMENT, 4);
  for (const length of [100, 1000]) {
    producer.output(sample(length, 9));
    assert.equal(reader.peek(), Math.min(1000, perfRawSize(length)));
    assert.equal(reader.sampleOffset % 8, SAMPLE_ALIGNMENT, 'the sample in the mapping');
    assert.equal(reader.readInto(copy), Math.min(1000, perfRawSize(length)));
    assert.deepEqual(copy.subarray(0, length), sample(length, 9));
  }
});

/** What a run holds, as [first byte of each sample, its length]: sample(length, tag) starts with byte `tag`. */
function runOf(bytes: Uint8Array, offsets: Int32Array, lengths: Int32Array, count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => bytes.slice(offsets[i], offsets[i] + lengths[i]));
}

test('runs (peekRun / readRunInto) read exactly what single records read: wraps, lost records and other records included, every batch size', () => {
  for (const length of [20, 100, COPY_BY_WORDS_MAX + 44]) {
    for (const batch of [1, 2, 3, 8, 64]) {
      for (const how of ['view', 'copy'] as const) {
        const ring = simulatedPerfRing(SIZE);
        const producer = new SimPerfProducer(ring, 5 * SIZE - 40);
        const reader = new PerfReader(ring, { batch, sampleLength: length });
        const dst = new Uint8Array(batch * perfRecordSize(length) + 64);
        const written: Uint8Array[] = [];
        const read: Uint8Array[] = [];
        let tag = 0;
        let runs = 0;
        for (let fill = 0; fill < 12; fill++) {
          // Overfill every third fill (lost samples, reported with the next output that fits); a record of another type now and then.
          const n = perfRecordsThatFit(SIZE, length) + (fill % 3 === 2 ? 5 : -1 - (fill % 4));
          if (fill % 5 === 1) producer.other(14, 8);
          for (let i = 0; i < n; i++) {
            const s = sample(length, tag++ & 0xff);
            if (producer.output(s)) written.push(s);
          }
          for (;;) {
            const count = how === 'view' ? reader.peekRun() : reader.readRunInto(dst);
            if (count === EMPTY) break;
            assert.ok(count >= 1 && count <= batch, `run of ${count} (batch ${batch})`);
            runs++;
            read.push(...runOf(how === 'view' ? reader.bytes : dst, reader.runOffsets, reader.runLengths, count));
            if (how === 'view') reader.consumeRun();
          }
          assert.equal(Number(tailOf(ring)), producer.position, 'everything published');
        }
        const label = `${how}, ${length} B, batch ${batch}`;
        assert.equal(read.length, written.length, label);
        for (let i = 0; i < read.length; i++) assert.deepEqual(read[i], written[i], `${label}: sample ${i}`);
        assert.equal(reader.lost + producer.pendingLost, producer.totalLost, `${label}: lost records counted`);
        assert.ok(reader.lost > 0, `${label}: some lost records were read`);
        assert.equal(reader.otherRecords, 3, label);
        if (batch > 1) assert.ok(runs < read.length, `${label}: runs of several samples (${runs} runs)`);
      }
    }
  }
});

test('peekRun in place: a sample that wraps the end ends the run before it and then comes alone, from the scratch copy', () => {
  const length = 64;
  const record = perfRecordSize(length);
  const ring = simulatedPerfRing(SIZE);
  // Three records, the third straddling the end of the data area.
  const producer = new SimPerfProducer(ring, SIZE - 2 * record - 16);
  const reader = new PerfReader(ring, { batch: 8, sampleLength: length });
  for (let i = 0; i < 5; i++) producer.output(sample(length, i));
  assert.equal(reader.peekRun(), 2);
  assert.equal(reader.bytes.buffer, ring.buffer, 'the first two in place');
  assert.deepEqual(runOf(reader.bytes, reader.runOffsets, reader.runLengths, 2), [sample(length, 0), sample(length, 1)]);
  reader.consumeRun();
  assert.equal(reader.peekRun(), 1);
  assert.notEqual(reader.bytes.buffer, ring.buffer, 'the wrapped one from the scratch buffer');
  assert.deepEqual(runOf(reader.bytes, reader.runOffsets, reader.runLengths, 1), [sample(length, 2)]);
  reader.consumeRun();
  assert.equal(reader.peekRun(), 2);
  assert.equal(reader.bytes.buffer, ring.buffer);
  assert.deepEqual(runOf(reader.bytes, reader.runOffsets, reader.runLengths, 2), [sample(length, 3), sample(length, 4)]);
  reader.consumeRun();
  assert.equal(reader.peekRun(), EMPTY);
});

test('readRunInto: the copy of a run that passes the end is contiguous; it takes as many whole records as fit; a record too big for dst is an error', () => {
  const length = 100;
  const record = perfRecordSize(length);
  const ring = simulatedPerfRing(SIZE);
  const producer = new SimPerfProducer(ring, SIZE - record - 40);
  const reader = new PerfReader(ring, { batch: 16, sampleLength: length });
  for (let i = 0; i < 6; i++) producer.output(sample(length, i));
  const dst = new Uint8Array(4 * record + 8);
  assert.equal(reader.readRunInto(dst), 4, 'four whole records fit');
  assert.deepEqual(runOf(dst, reader.runOffsets, reader.runLengths, 4), [0, 1, 2, 3].map((i) => sample(length, i)));
  assert.equal(Number(tailOf(ring)), SIZE - record - 40 + 4 * record, 'consumed and published');
  assert.throws(() => reader.readRunInto(new Uint8Array(record - 8)), /does not fit/);
  assert.equal(reader.readRunInto(dst), 2);
  assert.deepEqual(runOf(dst, reader.runOffsets, reader.runLengths, 2), [4, 5].map((i) => sample(length, i)));
});

test('runs publish data_tail once per run, never past a sample still being read', () => {
  const ring = simulatedPerfRing(SIZE);
  const producer = new SimPerfProducer(ring);
  const reader = new PerfReader(ring, { batch: 4, sampleLength: 40 });
  for (let i = 0; i < 10; i++) producer.output(sample(40, i));
  const record = perfRecordSize(40);
  const tails: number[] = [];
  for (let count = reader.peekRun(); count !== EMPTY; count = reader.peekRun()) {
    assert.equal(Number(tailOf(ring)), tails.length ? tails[tails.length - 1] : 0, 'nothing of the run published while it is read');
    reader.consumeRun();
    tails.push(Number(tailOf(ring)));
  }
  assert.deepEqual(tails, [4 * record, 8 * record, 10 * record]);
});

test('PerfBufferReader runs: one ring per run, `cpu` says which, the others are not starved', () => {
  for (const how of ['view', 'copy'] as const) {
    const rings = [0, 1].map((cpu) => simulatedPerfRing(SIZE, 4096, cpu));
    const [busy, quiet] = rings.map((r) => new SimPerfProducer(r));
    for (let i = 0; i < 3; i++) busy.output(sample(32, i));
    quiet.output(sample(32, 100));
    const reader = new PerfBufferReader(rings, { batch: 8, sampleLength: 32 });
    const dst = new Uint8Array(8 * perfRecordSize(32));
    const seen: [number, number][] = [];
    for (let i = 0; i < 4; i++) {
      const count = how === 'view' ? reader.peekRun() : reader.readRunInto(dst);
      assert.ok(count > 0);
      for (const s of runOf(how === 'view' ? reader.bytes : dst, reader.runOffsets, reader.runLengths, count)) seen.push([reader.cpu, s[0]]);
      if (how === 'view') reader.consumeRun();
      busy.output(sample(32, 10 + i)); // cpu 0 never runs dry
    }
    assert.deepEqual(seen.slice(0, 4), [
      [0, 0],
      [0, 1],
      [0, 2],
      [1, 100],
    ], `${how}: cpu 1 right after cpu 0's first snapshot`);
  }
});
