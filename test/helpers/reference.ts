/**
 * Independent expectations for tests: the checksum recomputed with BigInt and
 * DataView from first principles, and the events the BPF program must produce.
 */
import { EVENT_HEADER_SIZE, SEQ_BITS, type Touch } from '../../src/shared/event.js';

const MASK32 = 0xffffffffn;

/**
 * The checksum of a set of samples, as src/shared/event.ts documents it: per
 * sample, a = length + the sum of its little-endian words from word 2 on, b =
 * the sum of index × word; `field` reads words 2 and 3 only, `all` every word
 * (a partial last word zero-padded).
 */
export function referenceChecksum(samples: Iterable<Uint8Array>, touch: Touch = 'all'): string {
  let A = 0n;
  let B = 0n;
  for (const sample of samples) {
    const words = Math.ceil(sample.length / 4);
    const padded = new Uint8Array(words * 4);
    padded.set(sample);
    const view = new DataView(padded.buffer);
    const end = touch === 'field' ? Math.min(words, 4) : words;
    let a = BigInt(sample.length);
    let b = 0n;
    for (let i = 2; i < end; i++) {
      const w = BigInt(view.getUint32(i * 4, true));
      a += w;
      b += BigInt(i) * w;
    }
    A += a;
    B += b;
  }
  return (B & MASK32).toString(16).padStart(8, '0') + (A & MASK32).toString(16).padStart(8, '0');
}

/**
 * The sample the program writes for (producer, seq): any timestamp, the tag,
 * then the packet's first eventSize - 16 bytes.
 */
export function expectedSample(packet: Uint8Array, eventSize: number, producer: number, seq: number): Uint8Array {
  const sample = new Uint8Array(eventSize);
  const view = new DataView(sample.buffer);
  view.setBigUint64(0, 0xdeadbeefn, true); // timestamp: not part of the checksum
  view.setBigUint64(8, (BigInt(producer) << BigInt(SEQ_BITS)) | BigInt(seq), true);
  sample.set(packet.subarray(0, eventSize - EVENT_HEADER_SIZE), EVENT_HEADER_SIZE);
  return sample;
}

export function* expectedSamples(packet: Uint8Array, eventSize: number, producer: number, seqs: Iterable<number>): Generator<Uint8Array> {
  for (const seq of seqs) yield expectedSample(packet, eventSize, producer, seq);
}

export function range(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, i) => start + i);
}
