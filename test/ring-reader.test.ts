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
