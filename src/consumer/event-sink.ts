/**
 * What a consumer does with each event it reads, whichever way it read it:
 * adds it to the checksum and checks that its producer's sequence only grows.
 * A forward jump (a dropped or discarded event) is allowed here; whether the
 * program's drop and discard counters explain every skipped number exactly is
 * decided at the end of a run from the counts (src/shared/verify.ts).
 */
import { Checksum, MAX_PRODUCERS } from '../shared/event.js';

export class EventSink {
  readonly checksum = new Checksum();
  events = 0;
  /** Next expected sequence number per producer. */
  readonly expectedSeq = new Float64Array(MAX_PRODUCERS);
  /** Events seen per producer. */
  readonly perProducer = new Float64Array(MAX_PRODUCERS);
  /** Events that arrived out of order, repeated, or from an unknown producer. */
  anomalies = 0;
  firstAnomaly: string | undefined;

  /** startSeq: each producer's next sequence number when the run began (from the program's counters). */
  constructor(startSeq?: ArrayLike<number>) {
    if (startSeq) for (let p = 0; p < MAX_PRODUCERS; p++) this.expectedSeq[p] = startSeq[p];
  }

  /** One sample at byteOffset (a multiple of 8) of `words` / `bytes`. */
  accept(words: Int32Array, bytes: Uint8Array, byteOffset: number, length: number): void {
    this.events++;
    this.checksum.add(words, bytes, byteOffset, length);
    const w = byteOffset >>> 2;
    const seqHigh = words[w + 3];
    const producer = seqHigh >>> 16;
    const seq = (seqHigh & 0xffff) * 2 ** 32 + (words[w + 2] >>> 0);
    if (producer < MAX_PRODUCERS && seq === this.expectedSeq[producer]) {
      this.expectedSeq[producer] = seq + 1;
      this.perProducer[producer]++;
    } else {
      this.sequenceBreak(producer, seq);
    }
  }

  private sequenceBreak(producer: number, seq: number): void {
    if (producer < MAX_PRODUCERS && seq > this.expectedSeq[producer]) {
      this.expectedSeq[producer] = seq + 1;
      this.perProducer[producer]++;
      return;
    }
    this.anomalies++;
    this.firstAnomaly ??=
      producer < MAX_PRODUCERS
        ? `producer ${producer}: sequence ${seq} arrived after ${this.expectedSeq[producer] - 1} (reordered or repeated)`
        : `event from unknown producer id ${producer} (sequence ${seq})`;
  }
}
