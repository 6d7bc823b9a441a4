/**
 * A producer for a simulated ring (an ordinary SharedArrayBuffer laid out like
 * the kernel's), following kernel/bpf/ringbuf.c: reserve writes a BUSY header
 * and advances the producer position; submit or discard rewrites the header.
 * The data area is "mapped twice" by writing every byte to both halves.
 */
import { BUSY_BIT, DISCARD_BIT, RECORD_HEADER_SIZE, recordSize, type RingMemory } from '../../src/lib/ring-layout.js';

export interface Reservation {
  position: number;
  length: number;
}

export class SimProducer {
  private readonly data: Uint8Array;
  private readonly producerWords: BigUint64Array;
  private readonly consumerWords: BigUint64Array;
  position: number;

  constructor(readonly ring: RingMemory, start = 0) {
    this.data = new Uint8Array(ring.producer, ring.pageSize, 2 * ring.size);
    this.producerWords = new BigUint64Array(ring.producer, 0, 1);
    this.consumerWords = new BigUint64Array(ring.consumer, 0, 1);
    this.position = start;
    this.producerWords[0] = BigInt(start);
    this.consumerWords[0] = BigInt(start);
  }

  get consumerPosition(): number {
    return Number(Atomics.load(this.consumerWords, 0));
  }

  /** Like __bpf_ringbuf_reserve(): the producer may run at most size - 1 bytes ahead (new_prod_pos - cons_pos > mask fails). */
  hasRoom(length: number): boolean {
    return this.position + recordSize(length) - this.consumerPosition <= this.ring.size - 1;
  }

  /** Returns undefined when the ring has no room (the kernel's reserve returns NULL). */
  reserve(length: number): Reservation | undefined {
    const total = recordSize(length);
    if (!this.hasRoom(length)) return undefined;
    const r = { position: this.position, length };
    this.writeHeader(r.position, (length | BUSY_BIT) >>> 0);
    this.position += total;
    Atomics.store(this.producerWords, 0, BigInt(this.position));
    return r;
  }

  /** Writes the sample bytes (at most r.length) into the reserved record. */
  fill(r: Reservation, sample: Uint8Array): void {
    this.writeBytes(r.position + RECORD_HEADER_SIZE, sample.subarray(0, r.length));
  }

  submit(r: Reservation): void {
    this.writeHeader(r.position, r.length);
  }

  discard(r: Reservation): void {
    this.writeHeader(r.position, (r.length | DISCARD_BIT) >>> 0);
  }

  /** reserve + fill + submit in one go. */
  write(sample: Uint8Array): Reservation {
    const r = this.reserve(sample.length);
    if (!r) throw new Error('simulated ring full');
    this.fill(r, sample);
    this.submit(r);
    return r;
  }

  private writeHeader(position: number, header: number): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setUint32(0, header, true);
    this.writeBytes(position, b);
  }

  private writeBytes(position: number, bytes: Uint8Array): void {
    const size = this.ring.size;
    for (let i = 0; i < bytes.length; i++) {
      const at = (position + i) % size;
      this.data[at] = bytes[i];
      this.data[at + size] = bytes[i];
    }
  }
}
