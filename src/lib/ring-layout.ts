/**
 * The BPF ring buffer's layout as the kernel exposes it to user space
 * (kernel/bpf/ringbuf.c, include/uapi/linux/bpf.h). This file is the one place
 * that knows it; the readers in src/consumer build on these definitions.
 *
 *   consumer page (read-write)   u64 consumer position at offset 0
 *   producer page (read-only)    u64 producer position at offset 0
 *   data area (read-only)        `size` bytes, mapped twice back to back, right
 *                                after the producer page
 *
 * A record is an 8-byte header followed by the sample, the whole rounded up to
 * 8 bytes. Header word 0 (u32) holds the sample length in its low 30 bits plus
 * two flags; word 1 is the kernel's page offset, of no use to user space.
 * Positions are 64-bit byte counters that grow forever; a record starts at
 * data offset `position & (size - 1)`.
 */

/** BPF_RINGBUF_HDR_SZ */
export const RECORD_HEADER_SIZE = 8;
/** BPF_RINGBUF_BUSY_BIT: reserved but not yet submitted or discarded. Stop here and retry later. */
export const BUSY_BIT = 1 << 31;
/** BPF_RINGBUF_DISCARD_BIT: discarded by the producer. Skip it, but advance past it. */
export const DISCARD_BIT = 1 << 30;
export const LENGTH_MASK = DISCARD_BIT - 1;

/** Bytes a record of `sampleLength` bytes occupies in the ring. */
export function recordSize(sampleLength: number): number {
  return (sampleLength + RECORD_HEADER_SIZE + 7) & ~7;
}

/**
 * How many records of `sampleLength` bytes an empty ring of `size` bytes takes
 * before a reserve fails. The kernel keeps the producer less than `size` bytes
 * ahead of the consumer (kernel/bpf/ringbuf.c, __bpf_ringbuf_reserve():
 * "new_prod_pos - cons_pos > rb->mask" fails the reserve), so a ring that is an
 * exact multiple of the record size holds one record less than size / record.
 */
export function recordsThatFit(size: number, sampleLength: number): number {
  return Math.floor((size - 1) / recordSize(sampleLength));
}

/** The two mappings of one ring, as the addon's RingMapping holds them. */
export interface RingMemory {
  consumer: SharedArrayBuffer;
  producer: SharedArrayBuffer;
  /** Data area size in bytes (the map's max_entries). */
  size: number;
  pageSize: number;
}

/** Largest ring one SharedArrayBuffer can hold: page + 2 * size <= 2^32 bytes. */
export const MAX_RING_SIZE = 2 ** 30;

/**
 * Builds a ring in ordinary SharedArrayBuffers with the kernel's layout, for
 * tests and simulations: `producer` has the position page and a data area of
 * 2 * size bytes whose halves a simulated producer keeps identical.
 */
export function simulatedRing(size: number, pageSize = 4096): RingMemory {
  return {
    consumer: new SharedArrayBuffer(pageSize),
    producer: new SharedArrayBuffer(pageSize + 2 * size),
    size,
    pageSize,
  };
}
