/**
 * Checks a stream of the BPF program's events as a library user would see
 * them (bytes + offset + length): one producer, consecutive sequence numbers,
 * the expected length, and the project's checksum, which tests compare with
 * the independent BigInt reference (helpers/reference.ts).
 */
import { Checksum, SEQ_BITS } from '../../src/shared/event.js';
import { buildPacket } from '../../src/shared/event.js';
import { expectedSamples, range, referenceChecksum } from './reference.js';

const HIGH_SEQ_BITS = SEQ_BITS - 32;

export class EventCheck {
  count = 0;
  readonly checksum = new Checksum();
  /** The first problem seen, if any (kept short: a wrong stream would otherwise produce thousands). */
  problem: string | undefined;
  private nextSeq: number;

  constructor(
    readonly eventSize: number,
    readonly producer = 0,
    readonly firstSeq = 0,
  ) {
    this.nextSeq = firstSeq;
  }

  /** One sample at byte `offset` (a multiple of 8) of `words` / `bytes`. */
  add(words: Int32Array, bytes: Uint8Array, offset: number, length: number): void {
    const low = words[(offset + 8) >> 2] >>> 0;
    const high = words[(offset + 12) >> 2] >>> 0;
    const seq = (high & ((1 << HIGH_SEQ_BITS) - 1)) * 2 ** 32 + low;
    const producer = high >>> HIGH_SEQ_BITS;
    if (!this.problem) {
      if (length !== this.eventSize) this.problem = `event ${this.count}: length ${length}, expected ${this.eventSize}`;
      else if (producer !== this.producer) this.problem = `event ${this.count}: producer ${producer}, expected ${this.producer}`;
      else if (seq !== this.nextSeq) this.problem = `event ${this.count}: sequence ${seq}, expected ${this.nextSeq}`;
    }
    this.nextSeq = seq + 1;
    this.checksum.add(words, bytes, offset, length);
    this.count++;
  }

  /** The checksum the reference computes for the events this check expects to have seen. */
  expectedChecksum(): string {
    const packet = buildPacket(this.producer, this.eventSize);
    return referenceChecksum(expectedSamples(packet, this.eventSize, this.producer, range(this.firstSeq, this.firstSeq + this.count)));
  }
}
