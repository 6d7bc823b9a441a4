/**
 * The JavaScript consumer loops. Each reads records until `idle` says to stop,
 * and hands every sample to the sink. They differ only in where the sink reads
 * the sample — from a reused copy, or in place in the ring — and in whether
 * they take records one at a time or a run at a time (--batch K > 1).
 */
import { EventSink } from './event-sink.js';
import { RingReader } from '../lib/ring-reader.js';
import { recordSize } from '../lib/ring-layout.js';
import { perfRecordSize } from '../lib/perf-layout.js';
import { perfCopyBuffer, type PerfBufferReader } from '../lib/perf-reader.js';

/**
 * Called when the reader finds no record (EMPTY) or an unsubmitted one (BUSY).
 * Return true after waiting (the loop tries again), false to end the drain.
 */
export type IdleHandler = (status: number) => boolean;

/** A reused buffer for copied samples (or runs of records), viewed as bytes and as 32-bit words. */
export class CopyBuffer {
  readonly bytes: Uint8Array;
  readonly words: Int32Array;
  /** A new buffer of byteLength (rounded up to 8) bytes, or a view of `bytes` (4-byte aligned and sized). */
  constructor(size: number | Uint8Array) {
    this.bytes = typeof size === 'number' ? new Uint8Array(new ArrayBuffer((size + 7) & ~7)) : size;
    this.words = new Int32Array(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength >> 2);
  }

  /** Room for one sample of up to maxSampleLength bytes (readInto). */
  static forSample(maxSampleLength: number): CopyBuffer {
    return new CopyBuffer(maxSampleLength);
  }

  /** Room for a run of `records` whole records of up to maxSampleLength bytes, headers included (readRunInto). */
  static forRun(maxSampleLength: number, records: number): CopyBuffer {
    return new CopyBuffer(records * recordSize(maxSampleLength));
  }

  /**
   * Room for one perf sample (PerfReader.readInto), starting where samples
   * start in the perf ring modulo 8, so V8 copies it 8 bytes at a time
   * (perfCopyBuffer()); `words` views the same bytes.
   */
  static forPerfSample(maxSampleLength: number): CopyBuffer {
    return new CopyBuffer(perfCopyBuffer(maxSampleLength));
  }

  /** Room for a run of `records` perf records (PerfReader.readRunInto); it starts at 0 mod 8, as records do. */
  static forPerfRun(maxSampleLength: number, records: number): CopyBuffer {
    return new CopyBuffer(records * perfRecordSize(maxSampleLength));
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

/*
 * The perf buffer's loops: the same sinks, the same per-event work, over every
 * CPU's ring (PerfBufferReader). Two differences from the ring buffer's: the
 * sink checks sequences per CPU (EventSink.useLane, called when the ring
 * changes), and in place `words` / `bytes` follow the ring of each sample or
 * run (or the scratch copy of a sample that wrapped the ring's end), so they
 * are read from the reader every time rather than once before the loop.
 */

/** perf-copy, one record at a time: each sample copied out, consumed, then processed from the copy. */
export function drainPerfCopy(reader: PerfBufferReader, sink: EventSink, idle: IdleHandler, copy: CopyBuffer): void {
  const { bytes, words } = copy;
  let cpu = -1;
  for (;;) {
    const length = reader.readInto(bytes);
    if (length < 0) {
      if (idle(length)) continue;
      return;
    }
    if (reader.cpu !== cpu) sink.useLane((cpu = reader.cpu));
    sink.accept(words, bytes, 0, length);
  }
}

/** perf-view, one record at a time: each sample processed in place (or from the scratch copy if it wrapped), then consumed. */
export function drainPerfView(reader: PerfBufferReader, sink: EventSink, idle: IdleHandler): void {
  let cpu = -1;
  for (;;) {
    const length = reader.peek();
    if (length < 0) {
      if (idle(length)) continue;
      return;
    }
    if (reader.cpu !== cpu) sink.useLane((cpu = reader.cpu));
    sink.accept(reader.words, reader.bytes, reader.sampleOffset, length);
    reader.consume();
  }
}

/** perf-copy, a run at a time: each run of one ring copied out with one set() (two if it wraps) and consumed, then processed from the copy. */
export function drainPerfCopyRuns(reader: PerfBufferReader, sink: EventSink, idle: IdleHandler, copy: CopyBuffer): void {
  const { bytes, words } = copy;
  let cpu = -1;
  for (;;) {
    const count = reader.readRunInto(bytes);
    if (count < 0) {
      if (idle(count)) continue;
      return;
    }
    if (reader.cpu !== cpu) sink.useLane((cpu = reader.cpu));
    sink.acceptRun(words, bytes, reader.runOffsets, reader.runLengths, count);
  }
}

/** perf-view, a run at a time: each run of one ring processed in place, then consumed (data_tail published once). */
export function drainPerfViewRuns(reader: PerfBufferReader, sink: EventSink, idle: IdleHandler): void {
  let cpu = -1;
  for (;;) {
    const count = reader.peekRun();
    if (count < 0) {
      if (idle(count)) continue;
      return;
    }
    if (reader.cpu !== cpu) sink.useLane((cpu = reader.cpu));
    sink.acceptRun(reader.words, reader.bytes, reader.runOffsets, reader.runLengths, count);
    reader.consumeRun();
  }
}
