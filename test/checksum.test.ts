/** The checksum against a from-first-principles BigInt reimplementation. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Checksum } from '../src/shared/event.js';
import { referenceChecksum } from './helpers/reference.js';

function randomSample(length: number, seed: number): Uint8Array {
  let x = seed >>> 0 || 1;
  return Uint8Array.from({ length }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x & 0xff;
  });
}

test('checksum matches the reference for lengths 16..70 and larger, at aligned offsets', () => {
  const samples = [...Array.from({ length: 55 }, (_, i) => 16 + i), 100, 128, 1000, 2048, 3072].map((n) =>
    randomSample(n, n),
  );
  const buffer = new ArrayBuffer(8192);
  const bytes = new Uint8Array(buffer);
  const words = new Int32Array(buffer);
  const sum = new Checksum();
  for (const [i, s] of samples.entries()) {
    const offset = (i % 4) * 8; // any multiple of 8, as in the ring
    bytes.fill(0xee); // garbage after the sample must not count
    bytes.set(s, offset);
    sum.add(words, bytes, offset, s.length);
  }
  assert.equal(sum.hex(), referenceChecksum(samples));
});

test('checksum ignores the timestamp and order of events, but not moved words or changed bytes', () => {
  const a = randomSample(64, 1);
  const b = randomSample(64, 2);
  const hash = (...ss: Uint8Array[]) => {
    const sum = new Checksum();
    for (const s of ss) {
      const copy = new Uint8Array(s);
      sum.add(new Int32Array(copy.buffer), copy, 0, copy.length);
    }
    return sum.hex();
  };
  assert.equal(hash(a, b), hash(b, a));
  const newTimestamp = new Uint8Array(a);
  newTimestamp[3] ^= 0xff;
  assert.equal(hash(newTimestamp), hash(a));
  const swapped = new Uint8Array(a);
  swapped.copyWithin(16, 20, 24);
  swapped.set(a.subarray(16, 20), 20);
  assert.notEqual(hash(swapped), hash(a));
  const flipped = new Uint8Array(a);
  flipped[63] ^= 1;
  assert.notEqual(hash(flipped), hash(a));
});
