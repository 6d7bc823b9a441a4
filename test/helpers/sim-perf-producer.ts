/**
 * A producer for a simulated perf ring (an ordinary SharedArrayBuffer laid out
 * like the kernel's, src/lib/perf-layout.ts), following
 * kernel/events/ring_buffer.c and kernel/events/core.c:
 *  - an output needs CIRC_SPACE(head, data_tail, size) >= the record's size
 *    (ring_buffer_has_space()); otherwise the sample is lost and counted;
 *  - the next output that fits first writes a PERF_RECORD_LOST with that count
 *    (__perf_output_begin(): the lost record goes in the same reservation);
 *  - a sample is header + u32 raw size + data, the raw size padded to keep the
 *    record 8-byte aligned, the pad bytes NOT written (stale ring contents
 *    stay, as with the kernel's __output_skip());
 *  - the data area is mapped once: bytes past the end continue at its start;
 *  - data_head is stored as one u64 after the record is complete.
 */
import {
  DATA_HEAD_OFFSET,
  DATA_TAIL_OFFSET,
  LOST_RECORD_SIZE,
  PERF_RECORD_LOST,
  PERF_RECORD_SAMPLE,
  perfRawSize,
  perfRingGeometry,
  type PerfRingMemory,
} from '../../src/lib/perf-layout.js';

export class SimPerfProducer {
  readonly dataSize: number;
  private readonly data: Uint8Array;
  private readonly head: BigUint64Array;
  private readonly tail: BigUint64Array;
  /** The producer's head position (exact as a number below 2^53). */
  position: number;
  /** Samples lost and not yet reported in a PERF_RECORD_LOST. */
  pendingLost = 0;
  /** Every sample lost so far. */
  totalLost = 0;

  constructor(readonly ring: PerfRingMemory, start = 0) {
    const { dataOffset, dataSize } = perfRingGeometry(ring);
    this.dataSize = dataSize;
    this.data = new Uint8Array(ring.buffer, dataOffset, dataSize);
    this.head = new BigUint64Array(ring.buffer, DATA_HEAD_OFFSET, 1);
    this.tail = new BigUint64Array(ring.buffer, DATA_TAIL_OFFSET, 1);
    this.position = start;
    this.head[0] = BigInt(start);
    this.tail[0] = BigInt(start);
  }

  get tailPosition(): number {
    return Number(Atomics.load(this.tail, 0));
  }

  /** Like perf_event_output() of a raw sample; false (and one more lost sample) when it does not fit. */
  output(sample: Uint8Array): boolean {
    const raw = perfRawSize(sample.length);
    const size = 8 + 4 + raw;
    const total = size + (this.pendingLost ? LOST_RECORD_SIZE : 0);
    const space = (this.tailPosition - (this.position + 1)) & (this.dataSize - 1);
    if (space < total) {
      this.pendingLost++;
      this.totalLost++;
      return false;
    }
    if (this.pendingLost) {
      const lost = new DataView(new ArrayBuffer(LOST_RECORD_SIZE));
      lost.setUint32(0, PERF_RECORD_LOST, true);
      lost.setUint16(6, LOST_RECORD_SIZE, true);
      lost.setBigUint64(8, 77n, true); // the event id: not read
      lost.setBigUint64(16, BigInt(this.pendingLost), true);
      this.writeBytes(this.position, new Uint8Array(lost.buffer));
      this.position += LOST_RECORD_SIZE;
      this.pendingLost = 0;
    }
    const header = new DataView(new ArrayBuffer(12));
    header.setUint32(0, PERF_RECORD_SAMPLE, true);
    header.setUint16(6, size, true);
    header.setUint32(8, raw, true);
    this.writeBytes(this.position, new Uint8Array(header.buffer));
    this.writeBytes(this.position + 12, sample);
    this.position += size;
    this.publish();
    return true;
  }

  /** A record of another type (`bodyLength` bytes after the header), which readers skip. */
  other(type: number, bodyLength: number): void {
    const header = new DataView(new ArrayBuffer(8));
    header.setUint32(0, type, true);
    header.setUint16(6, 8 + bodyLength, true);
    this.writeBytes(this.position, new Uint8Array(header.buffer));
    this.position += 8 + bodyLength;
    this.publish();
  }

  /** Fills the whole data area with `byte`, to make stale pad bytes visible. */
  scribble(byte: number): void {
    this.data.fill(byte);
  }

  /** Stores data_head whole (the kernel's one 64-bit store). */
  publish(): void {
    Atomics.store(this.head, 0, BigInt(this.position));
  }

  private writeBytes(position: number, bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) this.data[(position + i) % this.dataSize] = bytes[i];
  }
}
