/**
 * Checks a stream of the BPF program's events as a library user sees them
 * (bytes + offset + length), with the consumers' own EventSink (checksum and
 * sequence accounting) plus what these tests demand on top: one producer, the
 * expected length, and no gap at all (EventSink allows forward jumps, which
 * are drops in a benchmark run). Tests compare the checksum with the
 * independent BigInt reference (helpers/reference.ts).
 */
import { EventSink } from '../../src/consumer/event-sink.js';
import { buildPacket, MAX_PRODUCERS, type Checksum } from '../../src/shared/event.js';
import { expectedSamples, range, referenceChecksum } from './reference.js';

export class EventCheck {
  private readonly sink: EventSink;
  private wrongLength: string | undefined;

  constructor(
    readonly eventSize: number,
    readonly producer = 0,
    readonly firstSeq = 0,
  ) {
    const start = new Array<number>(MAX_PRODUCERS).fill(0);
    start[producer] = firstSeq;
    // 'all': these tests check the whole payload against the reference, not only the producer/sequence field.
    this.sink = new EventSink(start, 'all');
  }

  /** One sample at byte `offset` (a multiple of 8) of `words` / `bytes`. */
  add(words: Int32Array, bytes: Uint8Array, offset: number, length: number): void {
    if (length !== this.eventSize) this.wrongLength ??= `event ${this.count}: length ${length}, expected ${this.eventSize}`;
    this.sink.accept(words, bytes, offset, length);
  }

  get count(): number {
    return this.sink.events;
  }

  get checksum(): Checksum {
    return this.sink.checksum;
  }

  /** The first thing wrong with the stream, or undefined when it is exactly firstSeq, firstSeq + 1, ... of one producer. */
  get problem(): string | undefined {
    const { sink, producer } = this;
    if (this.wrongLength || sink.firstAnomaly) return this.wrongLength ?? sink.firstAnomaly;
    if (sink.perProducer[producer] !== sink.events) return `${sink.events - sink.perProducer[producer]} events from another producer`;
    if (sink.expectedSeq[producer] !== this.firstSeq + sink.events) return `a gap: ${sink.events} events up to sequence ${sink.expectedSeq[producer] - 1}`;
    return undefined;
  }

  /** The checksum the reference computes for the events this check expects to have seen. */
  expectedChecksum(): string {
    const packet = buildPacket(this.producer, this.eventSize);
    return referenceChecksum(expectedSamples(packet, this.eventSize, this.producer, range(this.firstSeq, this.firstSeq + this.count)));
  }
}
