/**
 * The JavaScript consumer loops. Each reads records until `idle` says to stop,
 * and hands every sample to the sink. They differ only in where the sink reads
 * the sample — from a reused copy, or in place in the ring — and in whether
 * they take records one at a time or a run at a time (--batch K > 1).
 */
import { EventSink } from './event-sink.js';
import { RingReader } from '../lib/ring-reader.js';
import { recordSize } from '../lib/ring-layout.js';

/**
 * Called when the reader finds no record (EMPTY) or an unsubmitted one (BUSY).
 * Return true after waiting (the loop tries again), false to end the drain.
 */
export type IdleHandler = (status: number) => boolean;

/** A reused buffer for copied samples (or runs of records), viewed as bytes and as 32-bit words. */
export class CopyBuffer {
  readonly bytes: Uint8Array;
  readonly words: Int32Array;
  constructor(byteLength: number) {
    const buffer = new ArrayBuffer((byteLength + 7) & ~7);
    this.bytes = new Uint8Array(buffer);
    this.words = new Int32Array(buffer);
  }

  /** Room for one sample of up to maxSampleLength bytes (readInto). */
  static forSample(maxSampleLength: number): CopyBuffer {
    return new CopyBuffer(maxSampleLength);
  }

  /** Room for a run of `records` whole records of up to maxSampleLength bytes, headers included (readRunInto). */
  static forRun(maxSampleLength: number, records: number): CopyBuffer {
    return new CopyBuffer(records * recordSize(maxSampleLength));
  }
}

/** copy mode, one record at a time: every sample is copied out of the ring, consumed, then processed from the copy. */
export function drainCopy(reader: RingReader, sink: EventSink, idle: IdleHandler, copy: CopyBuffer): void {
  const { bytes, words } = copy;
  for (;;) {
    const length = reader.readInto(bytes);
    if (length < 0) {
      if (idle(length)) continue;
      return;
    }
    sink.accept(words, bytes, 0, length);
  }
}

/** view mode (zero-copy), one record at a time: every sample is processed in place in the ring mapping, then consumed. */
export function drainView(reader: RingReader, sink: EventSink, idle: IdleHandler): void {
  const { bytes, words } = reader;
  for (;;) {
    const length = reader.peek();
    if (length < 0) {
      if (idle(length)) continue;
      return;
    }
    sink.accept(words, bytes, reader.sampleOffset, length);
    reader.consume();
  }
}

/**
 * copy mode, a run at a time (--batch K > 1): each run of up to K records is
 * copied out with one set() and consumed (the position published), then its
 * events are processed from the copy.
 */
export function drainCopyRuns(reader: RingReader, sink: EventSink, idle: IdleHandler, copy: CopyBuffer): void {
  const { bytes, words } = copy;
  for (;;) {
    const count = reader.readRunInto(bytes);
    if (count < 0) {
      if (idle(count)) continue;
      return;
    }
    sink.acceptRun(words, bytes, reader.runOffsets, reader.runLengths, count);
  }
}

/**
 * view mode (zero-copy), a run at a time (--batch K > 1): each run of up to K
 * records is walked, its events processed in place, then the run is consumed
 * (the position published once).
 */
export function drainViewRuns(reader: RingReader, sink: EventSink, idle: IdleHandler): void {
  const { bytes, words } = reader;
  for (;;) {
    const count = reader.peekRun();
    if (count < 0) {
      if (idle(count)) continue;
      return;
    }
    sink.acceptRun(words, bytes, reader.runOffsets, reader.runLengths, count);
    reader.consumeRun();
  }
}
