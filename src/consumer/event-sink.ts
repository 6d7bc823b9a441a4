/**
 * What a consumer does with each event it reads, whichever way it read it:
 * adds it to the checksum at the run's touch level (src/shared/event.ts Touch:
 * the producer/sequence field only, or every word) and checks that its
 * producer's sequence only grows. A forward jump (a dropped or discarded
 * event) is allowed here; whether the program's drop and discard counters
 * explain every skipped number exactly is decided at the end of a run from
 * the counts (src/shared/verify.ts).
 *
 * The native consumers do the same in C++ (native/src/event_sink.h Accept).
 *
 * The perf buffer's consumers keep the sequence check per CPU ring (a
 * producer's events are in order within one CPU's ring, not across rings, and
 * a producer thread may migrate between CPUs): they switch the sink to that
 * ring's sequence lane (useLane) whenever the ring changes, and totals()
 * merges the lanes. The checksum and the event count are the stream's, whatever
 * the lane: the checksum does not depend on the order of events.
 */
import { Checksum, EVENT_HEADER_SIZE, fieldA, fieldB, MAX_PRODUCERS, TOUCH_END_WORD, type Touch } from '../shared/event.js';

export class EventSink {
  readonly checksum = new Checksum();
  events = 0;
  /** Next expected sequence number per producer (in the current lane: useLane()). */
  expectedSeq = new Float64Array(MAX_PRODUCERS);
  /** Events seen per producer (in the current lane). */
  perProducer = new Float64Array(MAX_PRODUCERS);
  /** Events that arrived out of order, repeated, or from an unknown producer. */
  anomalies = 0;
  firstAnomaly: string | undefined;
  /** touch === 'all', as a field the hot path tests (one predictable branch per event; compared with === true, a pointer compare). */
  private readonly allWords: boolean;
  /** Per-CPU sequence lanes (perf buffer consumers), indexed by CPU; lane 0 is the one the sink starts with. */
  private lanes: { expectedSeq: Float64Array<ArrayBuffer>; perProducer: Float64Array<ArrayBuffer> }[] | undefined;

  /** Each producer's next sequence number when the run began. */
  private readonly startSeq = new Float64Array(MAX_PRODUCERS);

  /** startSeq: each producer's next sequence number when the run began (from the program's counters). */
  constructor(
    startSeq?: ArrayLike<number>,
    readonly touch: Touch = 'field',
  ) {
    if (startSeq) for (let p = 0; p < MAX_PRODUCERS; p++) this.expectedSeq[p] = this.startSeq[p] = startSeq[p];
    this.allWords = touch === 'all';
  }

  /**
   * Perf buffer: the events that follow come from CPU `cpu`'s ring; check
   * their sequences against that ring's lane (made on first use, starting
   * where the run began). Call it when the ring changes, not per event.
   */
  useLane(cpu: number): void {
    const lanes = (this.lanes ??= [{ expectedSeq: this.expectedSeq, perProducer: this.perProducer }]);
    let lane = lanes[cpu];
    if (!lane) lane = lanes[cpu] = { expectedSeq: this.startSeq.slice(), perProducer: new Float64Array(MAX_PRODUCERS) };
    this.expectedSeq = lane.expectedSeq;
    this.perProducer = lane.perProducer;
  }

  /**
   * Per producer over every lane: events seen, and the sequence number after
   * the latest one seen (the start where none was). Without lanes, the sink's
   * own arrays.
   */
  totals(): { perProducer: Float64Array<ArrayBuffer>; expectedSeq: Float64Array<ArrayBuffer> } {
    if (!this.lanes) return { perProducer: this.perProducer, expectedSeq: this.expectedSeq };
    const perProducer = new Float64Array(MAX_PRODUCERS);
    const expectedSeq = Float64Array.from(this.startSeq);
    for (const lane of this.lanes) {
      if (!lane) continue;
      for (let p = 0; p < MAX_PRODUCERS; p++) {
        if (!lane.perProducer[p]) continue;
        perProducer[p] += lane.perProducer[p];
        expectedSeq[p] = Math.max(expectedSeq[p], lane.expectedSeq[p]);
      }
    }
    return { perProducer, expectedSeq };
  }

  /** One sample at byteOffset (a multiple of 8) of `words` / `bytes`. */
  accept(words: Int32Array, bytes: Uint8Array, byteOffset: number, length: number): void {
    this.acceptOne(words, bytes, byteOffset, length);
  }

  /** accept()'s work; what acceptRun() falls back on, whatever a subclass adds to accept(). */
  private acceptOne(words: Int32Array, bytes: Uint8Array, byteOffset: number, length: number): void {
    this.events++;
    if (length < EVENT_HEADER_SIZE) {
      this.shortSample(words, bytes, byteOffset, length);
      return;
    }
    const w = byteOffset >>> 2;
    const seqLow = words[w + 2];
    const seqHigh = words[w + 3];
    if (this.allWords === true) this.checksum.add(words, bytes, byteOffset, length);
    else this.checksum.addField(length, seqLow, seqHigh);
    const producer = seqHigh >>> 16;
    const seq = (seqHigh & 0xffff) * 2 ** 32 + (seqLow >>> 0);
    if (producer < MAX_PRODUCERS && seq === this.expectedSeq[producer]) {
      this.expectedSeq[producer] = seq + 1;
      this.perProducer[producer]++;
    } else {
      this.sequenceBreak(producer, seq);
    }
  }

  /**
   * accept() for each sample of a run (offsets[i] and lengths[i], i < count,
   * as RingReader.peekRun / readRunInto leave them). The same work per event;
   * at touch `field` the checksum and the event count stay in locals for the
   * run. The inner loop makes no call (a sequence break or a short sample
   * leaves it, is handled, and the loop resumes), so TurboFan checks the
   * arrays' shapes once per run instead of once per event.
   */
  acceptRun(words: Int32Array, bytes: Uint8Array, offsets: Int32Array, lengths: Int32Array, count: number): void {
    if (this.allWords === true) {
      // The word loop dominates at this level: event by event.
      for (let i = 0; i < count; i++) this.acceptOne(words, bytes, offsets[i], lengths[i]);
      return;
    }
    // Locals, not imports: TurboFan reloads (and re-checks) a module's exports on every use.
    const minLength = EVENT_HEADER_SIZE;
    const maxProducers = MAX_PRODUCERS;
    const sumA = fieldA;
    const sumB = fieldB;
    const checksum = this.checksum;
    const expectedSeq = this.expectedSeq;
    const perProducer = this.perProducer;
    let i = 0;
    while (i < count) {
      let a = checksum.a;
      let b = checksum.b;
      const first = i;
      for (; i < count; i++) {
        const length = lengths[i];
        if (length < minLength) break;
        const w = offsets[i] >>> 2;
        const seqLow = words[w + 2];
        const seqHigh = words[w + 3];
        const producer = seqHigh >>> 16;
        const seq = (seqHigh & 0xffff) * 2 ** 32 + (seqLow >>> 0);
        if (producer >= maxProducers || seq !== expectedSeq[producer]) break;
        a = sumA(a, length, seqLow, seqHigh);
        b = sumB(b, seqLow, seqHigh);
        expectedSeq[producer] = seq + 1;
        perProducer[producer]++;
      }
      checksum.a = a;
      checksum.b = b;
      this.events += i - first;
      // A sequence break or a sample shorter than the event header: the per-event path.
      if (i < count) this.acceptOne(words, bytes, offsets[i++], lengths[i - 1]);
    }
  }

  /** The program never writes a sample without the event header; counted as an anomaly, as the C++ sink does. */
  private shortSample(words: Int32Array, bytes: Uint8Array, byteOffset: number, length: number): void {
    this.checksum.add(words, bytes, byteOffset, length, TOUCH_END_WORD[this.touch]);
    this.sequenceBreak(2 ** 32 - 1, 0);
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
