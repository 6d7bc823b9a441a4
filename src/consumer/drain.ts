/**
 * The two JavaScript consumer loops. Each reads records until `idle` says to
 * stop, and hands every sample to the sink. They differ only in where the sink
 * reads the sample: from a reused copy buffer, or in place in the ring.
 */
import { EventSink } from './event-sink.js';
import { RingReader } from '../lib/ring-reader.js';

/**
 * Called when the reader finds no record (EMPTY) or an unsubmitted one (BUSY).
 * Return true after waiting (the loop tries again), false to end the drain.
 */
export type IdleHandler = (status: number) => boolean;

/** A reused buffer for copied samples, viewed as bytes and as 32-bit words. */
export class CopyBuffer {
  readonly bytes: Uint8Array;
  readonly words: Int32Array;
  constructor(maxSampleLength: number) {
    const buffer = new ArrayBuffer((maxSampleLength + 7) & ~7);
    this.bytes = new Uint8Array(buffer);
    this.words = new Int32Array(buffer);
  }
}

/** copy mode: every sample is copied out of the ring, consumed, then processed from the copy. */
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

/** view mode (zero-copy): every sample is processed in place in the ring mapping, then consumed. */
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
