/**
 * The record walker on a simulated ring: an ordinary SharedArrayBuffer with the
 * kernel's layout, written by a producer that follows kernel/bpf/ringbuf.c.
 * Runs anywhere, no privileges needed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BUSY, COPY_BY_WORDS_MAX, EMPTY, RingReader } from '../src/lib/ring-reader.js';
import { recordSize, simulatedRing } from '../src/lib/ring-layout.js';
import { SimProducer } from './helpers/sim-producer.js';

const SIZE = 4096;

function sample(length: number, tag: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 7 + tag) & 0xff);
}

/** Reads the sample peek() points at, in place. */
function peekBytes(reader: RingReader, length: number): Uint8Array {
  return reader.bytes.slice(reader.sampleOffset, reader.sampleOffset + length);
}

/** What the kernel would read as the consumer position. */
function consumerPosition(_reader: RingReader, ring: { consumer: SharedArrayBuffer }): bigint {
  return new BigUint64Array(ring.consumer)[0];
}

test('an empty ring reads EMPTY and leaves the position alone', () => {
  const ring = simulatedRing(SIZE);
  new SimProducer(ring, 800);
  const reader = new RingReader(ring);
  assert.equal(reader.peek(), EMPTY);
  assert.equal(reader.position, 800);
});

test('view and copy read back what was written, small and large samples, unaligned lengths', () => {
  const ring = simulatedRing(SIZE);
  const producer = new SimProducer(ring);
  const reader = new RingReader(ring);
  const lengths = [16, 21, 100, COPY_BY_WORDS_MAX, COPY_BY_WORDS_MAX + 3, 1000];
  const copy = new Uint8Array(1024);
  for (const [i, length] of lengths.entries()) {
    const s = sample(length, i);
    producer.write(s);
    producer.write(s);
    assert.equal(reader.peek(), length);
    assert.deepEqual(peekBytes(reader, length), s, `view of ${length} bytes`);
    reader.consume();
    assert.equal(reader.readInto(copy), length);
    assert.deepEqual(copy.subarray(0, length), s, `copy of ${length} bytes`);
  }
  assert.equal(reader.peek(), EMPTY);
  assert.equal(Number(consumerPosition(reader, ring)), producer.position);
});

test('a record straddling the end of the data area reads contiguously through the double mapping', () => {
  const ring = simulatedRing(SIZE);
  // Start 40 bytes before the end: a 100-byte sample (112-byte record) wraps.
  const producer = new SimProducer(ring, SIZE - 40);
  const reader = new RingReader(ring);
  const s = sample(100, 3);
  producer.write(s);
  assert.equal(reader.peek(), 100);
  assert.ok(reader.sampleOffset + 100 > ring.pageSize + SIZE, 'the sample runs past the first copy of the data area');
  assert.deepEqual(peekBytes(reader, 100), s);
  reader.consume();
  const copy = new Uint8Array(128);
  producer.write(sample(100, 4));
  assert.equal(reader.readInto(copy), 100);
  assert.deepEqual(copy.subarray(0, 100), sample(100, 4));
  assert.equal(reader.position, SIZE - 40 + 2 * recordSize(100));
});

test('a busy record blocks the reader, even when a later record is ready, and is never skipped', () => {
  const ring = simulatedRing(SIZE);
  const producer = new SimProducer(ring);
  const reader = new RingReader(ring);
  const first = producer.reserve(64)!;
  producer.write(sample(32, 9));
  assert.equal(reader.peek(), BUSY);
  assert.equal(reader.peek(), BUSY, 'still busy: the reader did not move past it');
  assert.equal(reader.position, 0);
  producer.fill(first, sample(64, 8));
  producer.submit(first);
  assert.equal(reader.peek(), 64);
  assert.deepEqual(peekBytes(reader, 64), sample(64, 8));
  reader.consume();
  assert.equal(reader.peek(), 32);
  assert.deepEqual(peekBytes(reader, 32), sample(32, 9));
});

test('a discarded record is skipped, and the position still advances past it', () => {
  const ring = simulatedRing(SIZE);
  const producer = new SimProducer(ring);
  const reader = new RingReader(ring);
  const dropped = producer.reserve(48)!;
  producer.discard(dropped);
  producer.write(sample(24, 1));
  assert.equal(reader.peek(), 24);
  assert.deepEqual(peekBytes(reader, 24), sample(24, 1));
  reader.consume();
  assert.equal(reader.peek(), EMPTY);
  assert.equal(Number(consumerPosition(reader, ring)), recordSize(48) + recordSize(24));
  // A ring holding only discarded records drains to EMPTY with the position published.
  producer.discard(producer.reserve(16)!);
  assert.equal(reader.peek(), EMPTY);
  assert.equal(Number(consumerPosition(reader, ring)), producer.position);
});

test('positions cross 2^32: reads continue and the kernel sees the full 64-bit position', () => {
  const ring = simulatedRing(SIZE);
  const start = 2 ** 32 - 3 * recordSize(40);
  const producer = new SimProducer(ring, start);
  const reader = new RingReader(ring);
  for (let i = 0; i < 8; i++) {
    producer.write(sample(40, i));
    assert.equal(reader.peek(), 40, `record ${i}`);
    assert.deepEqual(peekBytes(reader, 40), sample(40, i));
    reader.consume();
    // Never a torn or truncated position: what the kernel reads is always exact.
    assert.equal(consumerPosition(reader, ring), BigInt(start + (i + 1) * recordSize(40)));
  }
  assert.ok(reader.position > 2 ** 32);
  // The producer can keep reserving: the kernel's free-space check sees the real position.
  for (let i = 0; i < Math.floor(SIZE / recordSize(40)); i++) assert.ok(producer.reserve(40), `reservation ${i} after the rollover`);
});

test('--batch K publishes the position every K records and whenever the reader runs dry', () => {
  const ring = simulatedRing(SIZE);
  const producer = new SimProducer(ring);
  const reader = new RingReader(ring, { batch: 4 });
  for (let i = 0; i < 6; i++) producer.write(sample(16, i));
  const step = recordSize(16);
  const published: number[] = [];
  for (let i = 0; i < 6; i++) {
    assert.equal(reader.peek(), 16);
    reader.consume();
    published.push(Number(consumerPosition(reader, ring)));
  }
  assert.deepEqual(published, [0, 0, 0, 4 * step, 4 * step, 4 * step]);
  assert.equal(reader.peek(), EMPTY);
  assert.equal(Number(consumerPosition(reader, ring)), 6 * step, 'committed before reporting EMPTY');
});

test('a batched reader commits before reporting BUSY, so a waiting consumer holds back no space', () => {
  const ring = simulatedRing(SIZE);
  const producer = new SimProducer(ring);
  const reader = new RingReader(ring, { batch: 100 });
  producer.write(sample(16, 0));
  producer.reserve(16);
  assert.equal(reader.peek(), 16);
  reader.consume();
  assert.equal(reader.peek(), BUSY);
  assert.equal(Number(consumerPosition(reader, ring)), recordSize(16));
});

test('the reader resumes from the published consumer position', () => {
  const ring = simulatedRing(SIZE);
  const producer = new SimProducer(ring, 1024);
  producer.write(sample(16, 1));
  producer.write(sample(16, 2));
  const first = new RingReader(ring);
  assert.equal(first.peek(), 16);
  first.consume();
  const second = new RingReader(ring);
  assert.equal(second.peek(), 16);
  assert.deepEqual(peekBytes(second, 16), sample(16, 2));
});

test('a full simulated ring wraps many times with every record intact', () => {
  const ring = simulatedRing(SIZE);
  const producer = new SimProducer(ring);
  const reader = new RingReader(ring, { batch: 3 });
  const copy = new Uint8Array(512);
  let written = 0;
  let read = 0;
  while (read < 500) {
    const length = 16 + ((written * 37) % 300);
    if (producer.hasRoom(length)) {
      producer.write(sample(length, written));
      written++;
      continue;
    }
    const expectLength = 16 + ((read * 37) % 300);
    assert.equal(reader.readInto(copy), expectLength);
    assert.deepEqual(copy.subarray(0, expectLength), sample(expectLength, read));
    read++;
  }
  assert.ok(producer.position > 10 * SIZE, 'wrapped more than ten times');
});

// Runs: readRunInto (one set() per run, then commit) and peekRun/consumeRun (in place, one commit per run).

/** The samples of the last run, read back from `from` at the reader's run offsets. */
function runSamples(reader: RingReader, from: Uint8Array, count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => from.slice(reader.runOffsets[i], reader.runOffsets[i] + reader.runLengths[i]));
}

/** Reads one run either way; returns the samples (or the status) and what the kernel saw published. */
function readRun(reader: RingReader, how: 'copy' | 'view', max: number, dst = new Uint8Array(8192)): { status: number; samples: Uint8Array[] } {
  if (how === 'copy') {
    const status = reader.readRunInto(dst, max);
    return { status, samples: status > 0 ? runSamples(reader, dst, status) : [] };
  }
  const status = reader.peekRun(max);
  const samples = status > 0 ? runSamples(reader, reader.bytes, status) : [];
  if (status > 0) reader.consumeRun();
  return { status, samples };
}

for (const how of ['copy', 'view'] as const) {
  test(`runs (${how}): up to max records per run, the position published once per run`, () => {
    const ring = simulatedRing(SIZE);
    const producer = new SimProducer(ring);
    const reader = new RingReader(ring, { batch: 4 });
    const written = [16, 21, 40, 100, 16, 33].map((length, i) => sample(length, i));
    for (const s of written) producer.write(s);
    const first = readRun(reader, how, 4);
    assert.equal(first.status, 4);
    assert.deepEqual(first.samples, written.slice(0, 4));
    assert.equal(Number(consumerPosition(reader, ring)), written.slice(0, 4).reduce((n, s) => n + recordSize(s.length), 0));
    const second = readRun(reader, how, 4);
    assert.deepEqual(second.samples, written.slice(4));
    assert.equal(Number(consumerPosition(reader, ring)), producer.position);
    assert.equal(readRun(reader, how, 4).status, EMPTY);
  });

  test(`runs (${how}): a busy record ends the run and is never skipped`, () => {
    const ring = simulatedRing(SIZE);
    const producer = new SimProducer(ring);
    const reader = new RingReader(ring);
    producer.write(sample(24, 1));
    producer.write(sample(32, 2));
    const busy = producer.reserve(48)!;
    producer.write(sample(16, 4));
    const run = readRun(reader, how, 64);
    assert.equal(run.status, 2);
    assert.deepEqual(run.samples, [sample(24, 1), sample(32, 2)]);
    assert.equal(Number(consumerPosition(reader, ring)), recordSize(24) + recordSize(32), 'published up to the busy record');
    assert.equal(readRun(reader, how, 64).status, BUSY);
    assert.equal(readRun(reader, how, 64).status, BUSY, 'still busy: not skipped');
    producer.fill(busy, sample(48, 3));
    producer.submit(busy);
    assert.deepEqual(readRun(reader, how, 64).samples, [sample(48, 3), sample(16, 4)]);
  });

  test(`runs (${how}): discarded records are skipped wherever they are in a run, and consumed`, () => {
    const ring = simulatedRing(SIZE);
    const producer = new SimProducer(ring);
    const reader = new RingReader(ring);
    producer.discard(producer.reserve(40)!); // leading
    producer.write(sample(24, 1));
    producer.discard(producer.reserve(64)!); // inside
    producer.discard(producer.reserve(16)!);
    producer.write(sample(32, 2));
    producer.discard(producer.reserve(24)!); // trailing
    const run = readRun(reader, how, 64);
    assert.equal(run.status, 2);
    assert.deepEqual(run.samples, [sample(24, 1), sample(32, 2)]);
    assert.equal(Number(consumerPosition(reader, ring)), producer.position, 'every record consumed, discarded ones too');
    // Only discarded records: EMPTY, with the position published past them.
    producer.discard(producer.reserve(100)!);
    producer.discard(producer.reserve(8)!);
    assert.equal(readRun(reader, how, 64).status, EMPTY);
    assert.equal(Number(consumerPosition(reader, ring)), producer.position);
    // max counts samples, not discarded records.
    for (let i = 0; i < 3; i++) {
      producer.discard(producer.reserve(16)!);
      producer.write(sample(16, 10 + i));
    }
    assert.deepEqual(readRun(reader, how, 2).samples, [sample(16, 10), sample(16, 11)]);
    assert.deepEqual(readRun(reader, how, 2).samples, [sample(16, 12)]);
  });

  test(`runs (${how}): a run that wraps past the end of the data area is one contiguous read`, () => {
    const ring = simulatedRing(SIZE);
    // 100 bytes before the end: the second record straddles the end, the third starts in the second copy.
    const producer = new SimProducer(ring, SIZE - 100);
    const reader = new RingReader(ring);
    const written = [sample(60, 1), sample(100, 2), sample(30, 3)];
    for (const s of written) producer.write(s);
    const run = readRun(reader, how, 64);
    assert.equal(run.status, 3);
    assert.deepEqual(run.samples, written);
    if (how === 'view') assert.ok(reader.runOffsets[2] > ring.pageSize + SIZE, 'in place, the run continues into the second copy of the data area');
    assert.equal(Number(consumerPosition(reader, ring)), producer.position);
  });

  test(`runs (${how}): a run crossing 2^32 keeps reading, and the kernel sees the exact 64-bit position`, () => {
    const ring = simulatedRing(SIZE);
    const start = 2 ** 32 - 2 * recordSize(40) - 8;
    const producer = new SimProducer(ring, start);
    const reader = new RingReader(ring);
    for (let round = 0; round < 3; round++) {
      const written = Array.from({ length: 5 }, (_, i) => sample(40, 5 * round + i));
      for (const s of written) producer.write(s);
      const run = readRun(reader, how, 64);
      assert.deepEqual(run.samples, written, `round ${round}`);
      assert.equal(consumerPosition(reader, ring), BigInt(producer.position), `round ${round}: published position`);
      assert.equal(reader.position, producer.position);
    }
    assert.ok(producer.position > 2 ** 32);
    for (let i = 0; i < Math.floor(SIZE / recordSize(40)); i++) assert.ok(producer.reserve(40), `reservation ${i} after the rollover`);
  });
}

test('readRunInto copies as many whole records as fit the buffer, and refuses a buffer too small for one', () => {
  const ring = simulatedRing(SIZE);
  const producer = new SimProducer(ring);
  const reader = new RingReader(ring);
  for (let i = 0; i < 5; i++) producer.write(sample(56, i)); // 64-byte records
  const dst = new Uint8Array(3 * 64 + 63);
  assert.equal(reader.readRunInto(dst, 64), 3);
  assert.deepEqual(runSamples(reader, dst, 3), [0, 1, 2].map((i) => sample(56, i)));
  assert.equal(reader.readRunInto(dst, 64), 2);
  producer.write(sample(200, 9));
  assert.throws(() => reader.readRunInto(new Uint8Array(128)), RangeError);
  assert.equal(reader.readRunInto(dst, 64), 1, 'the record is still there for a buffer that holds it');
  // A discarded record larger than the buffer is consumed without being copied.
  producer.discard(producer.reserve(500)!);
  producer.write(sample(56, 10));
  assert.equal(reader.readRunInto(new Uint8Array(128)), 1);
  assert.deepEqual(reader.readRunInto(new Uint8Array(128)), EMPTY);
  assert.equal(Number(consumerPosition(reader, ring)), producer.position);
});

test('runs, records one at a time and a producer that reserves, discards and submits out of order agree on every sample', () => {
  const ring = simulatedRing(SIZE);
  const producer = new SimProducer(ring, 2 ** 32 - 5 * SIZE);
  const reader = new RingReader(ring, { batch: 7 });
  let x = 12345;
  const random = (n: number) => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8) % n;
  const expected: Uint8Array[] = [];
  const got: Uint8Array[] = [];
  const pending: { r: NonNullable<ReturnType<SimProducer['reserve']>>; s: Uint8Array | undefined }[] = [];
  const dst = new Uint8Array(7 * recordSize(300));
  let tag = 0;
  while (expected.length < 3000) {
    // Reserve a few, then submit or discard them in a random order (as producers on several CPUs do).
    for (let k = random(4); k >= 0; k--) {
      const length = 16 + random(280);
      const r = producer.reserve(length);
      if (!r) break;
      const discard = random(5) === 0;
      const s = discard ? undefined : sample(length, tag++);
      if (s) producer.fill(r, s);
      pending.push({ r, s });
    }
    // Records come out in reservation order, whatever order they were submitted in.
    for (const p of pending) if (p.s) expected.push(p.s);
    while (pending.length) {
      const [p] = pending.splice(random(pending.length), 1);
      if (p.s) producer.submit(p.r);
      else producer.discard(p.r);
      const how = random(3);
      if (how === 0) {
        for (let status = reader.readInto(dst); status > 0; status = reader.readInto(dst)) got.push(dst.slice(0, status));
      } else {
        const run = readRun(reader, how === 1 ? 'copy' : 'view', 1 + random(7), dst);
        got.push(...run.samples);
      }
    }
    for (let run = readRun(reader, 'copy', 7, dst); run.status > 0; run = readRun(reader, 'copy', 7, dst)) got.push(...run.samples);
  }
  assert.equal(got.length, expected.length);
  got.forEach((s, i) => assert.deepEqual(s, expected[i], `sample ${i}`));
  assert.equal(Number(consumerPosition(reader, ring)), producer.position);
  assert.ok(producer.position > 2 ** 32, 'crossed 2^32 on the way');
});
