/**
 * The checksum a stream of events must have, worked out from what identifies
 * each event — its producer and sequence number — and the producer's test
 * packet, without reading the payload in the ring. Comparing it with the
 * checksum over the bytes actually read catches corrupted or torn samples.
 *
 * It relies on one property of Checksum (src/shared/event.ts): per event, both
 * halves a and b are linear (mod 2^32) in the sample's 32-bit words after the
 * timestamp, plus a term that depends only on the length — at either touch
 * level (`field` is the same sum stopped after word 3, so the payload's share
 * is zero there). The event's word 2
 * is the sequence's low half, word 3 is producer << 16 | the sequence's high
 * half, and the rest is the producer's packet, the same for all its events. So
 *     checksum(event) = checksum(producer's sample with words 2, 3 zeroed)
 *                     + lo · checksum'(word 2 = 1) + hi · checksum'(word 3 = 1)
 * where checksum' is the change from an all-zero sample. Over a stream, only
 * each producer's event count and the sums of lo and of hi are needed. The
 * coefficients come from Checksum itself, so this follows its definition.
 */
import { buildPacket, Checksum, checksumHex, EVENT_HEADER_SIZE, MAX_PRODUCERS, TOUCH_END_WORD, type Touch } from '../shared/event.js';

interface Pair {
  a: number;
  b: number;
}

const SEQ_LOW_WORD = 2;
const SEQ_HIGH_WORD = 3;

export class ExpectedChecksum {
  private readonly zero: Pair;
  private readonly seqLow: Pair;
  private readonly seqHigh: Pair;
  private readonly payload: Pair[] = [];

  constructor(
    readonly eventSize: number,
    readonly touch: Touch = 'all',
  ) {
    this.zero = this.checksumOf(new Uint8Array(this.paddedSize()));
    this.seqLow = this.unitCoefficient(SEQ_LOW_WORD);
    this.seqHigh = this.unitCoefficient(SEQ_HIGH_WORD);
  }

  private paddedSize(): number {
    return (this.eventSize + 7) & ~7;
  }

  private checksumOf(sample: Uint8Array): Pair {
    const c = new Checksum();
    c.add(new Int32Array(sample.buffer), sample, 0, this.eventSize, TOUCH_END_WORD[this.touch]);
    return { a: c.a, b: c.b };
  }

  private unitCoefficient(word: number): Pair {
    const sample = new Uint8Array(this.paddedSize());
    new Int32Array(sample.buffer)[word] = 1;
    const one = this.checksumOf(sample);
    return { a: (one.a - this.zero.a) | 0, b: (one.b - this.zero.b) | 0 };
  }

  /** Checksum of producer p's sample with the timestamp and both sequence words zero. */
  private payloadOf(producer: number): Pair {
    let pair = this.payload[producer];
    if (!pair) {
      const sample = new Uint8Array(this.paddedSize());
      sample.set(buildPacket(producer, this.eventSize).subarray(0, this.eventSize - EVENT_HEADER_SIZE), EVENT_HEADER_SIZE);
      pair = this.checksumOf(sample);
      this.payload[producer] = pair;
    }
    return pair;
  }

  /**
   * The stream checksum (hex, as Checksum.hex()) of events of eventSize bytes,
   * given per-producer event counts and the sums (mod 2^32) of every event's
   * sequence low half and of its producer << 16 | sequence high half.
   */
  hex(perProducer: ArrayLike<number>, seqLowSum: number, seqHighSum: number): string {
    let a = (Math.imul(this.seqLow.a, seqLowSum) + Math.imul(this.seqHigh.a, seqHighSum)) | 0;
    let b = (Math.imul(this.seqLow.b, seqLowSum) + Math.imul(this.seqHigh.b, seqHighSum)) | 0;
    for (let p = 0; p < MAX_PRODUCERS; p++) {
      const count = perProducer[p];
      if (!count) continue;
      const base = this.payloadOf(p);
      a = (a + Math.imul(count, base.a)) | 0;
      b = (b + Math.imul(count, base.b)) | 0;
    }
    return checksumHex(a, b);
  }
}
