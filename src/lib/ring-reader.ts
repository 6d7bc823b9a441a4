/**
 * A consumer of one BPF ring buffer, in the style of libbpf's ringbuf.c and
 * cilium/ebpf's ringbuf reader: a local consumer position, an explicit commit,
 * and the busy and discard bits handled in one place (peek()).
 *
 * Two ways to read a record:
 *  - readInto(dst): copies the sample into a caller-owned, reused buffer and
 *    consumes it (like cilium's Reader.ReadInto);
 *  - peek() + consume(): the sample stays in place in the ring mapping; read it
 *    through `words` / `bytes` at `sampleOffset`, then consume (zero-copy).
 *
 * Memory ordering (kernel/bpf/ringbuf.c): the kernel advances producer_pos at
 * reserve time and clears the header's busy bit with a release store
 * (xchg) at submit, so the header is read with an acquire load (Atomics.load)
 * before the sample. The consumer position is published with Atomics.store, a
 * sequentially consistent store, as libbpf does since it stopped losing epoll
 * wake-ups: the kernel must see the record consumed before the consumer waits.
 */
import { BUSY_BIT, DISCARD_BIT, LENGTH_MASK, RECORD_HEADER_SIZE, type RingMemory } from './ring-layout.js';

/** peek()/readInto(): no record between the consumer and producer positions. */
export const EMPTY = -1;
/** peek()/readInto(): the next record is reserved but not yet submitted. Retry later, never skip it. */
export const BUSY = -2;

/**
 * readInto() copies samples up to this size with a 32-bit word loop and larger
 * ones with TypedArray.prototype.set (memmove): measured on Node 20, the loop
 * wins below a few hundred bytes, where set()'s subarray() view costs more
 * than the copy itself.
 */
export const COPY_BY_WORDS_MAX = 256;

export interface RingReaderOptions {
  /** Publish the consumer position every `batch` records (1 = after each record, like libbpf). */
  batch?: number;
}

export class RingReader {
  /** The producer mapping as 32-bit words: word 0 is the producer position's low half. */
  readonly words: Int32Array;
  /** The producer mapping as bytes. */
  readonly bytes: Uint8Array;
  /** Byte offset, in `words` / `bytes`, of the sample peek() last returned. */
  sampleOffset = 0;

  private readonly consumerLow: Int32Array;
  private readonly consumerPosition: BigUint64Array;
  private readonly dataStart: number;
  private readonly mask: number;
  private readonly batch: number;
  /**
   * Local consumer position, kept as two 32-bit halves so the hot path stays in
   * small-integer arithmetic. `low` is an unsigned 32-bit value.
   */
  private low: number;
  private high: number;
  private committedHigh: number;
  /** Producer position's low half, as last loaded. */
  private producerLow: number;
  private recordBytes = 0;
  private uncommitted = 0;
  private dstBytes: Uint8Array | undefined;
  private dstWords: Int32Array<ArrayBufferLike> = new Int32Array(0);

  constructor(ring: RingMemory, options: RingReaderOptions = {}) {
    this.words = new Int32Array(ring.producer);
    this.bytes = new Uint8Array(ring.producer);
    this.consumerLow = new Int32Array(ring.consumer, 0, 1);
    this.consumerPosition = new BigUint64Array(ring.consumer, 0, 1);
    this.dataStart = ring.pageSize;
    this.mask = ring.size - 1;
    this.batch = Math.max(1, options.batch ?? 1);
    const start = Atomics.load(this.consumerPosition, 0);
    this.low = Number(start & 0xffffffffn);
    this.high = Number(start >> 32n);
    this.committedHigh = this.high;
    this.producerLow = this.low;
  }

  /** The local consumer position (it may be ahead of the published one until commit()). */
  get position(): number {
    return this.high * 2 ** 32 + this.low;
  }

  /**
   * Finds the next submitted record and returns its sample length, leaving the
   * sample at `sampleOffset`; or EMPTY / BUSY. Discarded records are consumed
   * on the way. Before reporting EMPTY or BUSY it publishes the position, so a
   * consumer that is about to wait never holds back space the producers need.
   */
  peek(): number {
    for (;;) {
      if (this.low === this.producerLow) {
        // The producer is never more than the ring size (< 2^32) ahead of us, so
        // the low halves alone tell the distance: no 64-bit (BigInt) load needed.
        this.producerLow = Atomics.load(this.words, 0) >>> 0;
        if (this.low === this.producerLow) return this.idle(EMPTY);
      }
      const headerOffset = this.dataStart + (this.low & this.mask);
      const header = Atomics.load(this.words, headerOffset >>> 2);
      if (header & BUSY_BIT) return this.idle(BUSY);
      const length = header & LENGTH_MASK;
      this.recordBytes = (length + RECORD_HEADER_SIZE + 7) & ~7;
      if (header & DISCARD_BIT) {
        this.consume();
        continue;
      }
      this.sampleOffset = headerOffset + RECORD_HEADER_SIZE;
      return length;
    }
  }

  /** Moves past the record peek() returned; publishes the position every `batch` records. */
  consume(): void {
    const next = (this.low + this.recordBytes) >>> 0;
    if (next < this.low) this.high++;
    this.low = next;
    if (++this.uncommitted >= this.batch) this.commit();
  }

  /**
   * Copies the next sample into `dst` (which must hold it) and consumes it.
   * Returns the sample length, or EMPTY / BUSY.
   */
  readInto(dst: Uint8Array): number {
    const length = this.peek();
    if (length < 0) return length;
    this.copySample(dst, length);
    this.consume();
    return length;
  }

  /** Kept out of readInto() so that TurboFan's inlining budget reaches the caller's per-event work. */
  private copySample(dst: Uint8Array, length: number): void {
    const from = this.sampleOffset;
    if (length <= COPY_BY_WORDS_MAX) {
      // Small samples: a word loop, no allocation. Both offsets are multiples of 8.
      const src = this.words;
      const dstWords = this.wordsOf(dst);
      for (let i = 0, at = (from / 4) | 0, n = (length + 3) >> 2; i < n; i++) dstWords[i] = src[at + i];
    } else {
      // Larger samples: TypedArray.prototype.set between Uint8Arrays is a memmove
      // in V8; the subarray() view it needs is the one allocation per record.
      dst.set(this.bytes.subarray(from, from + length));
    }
  }

  /** The Int32Array view of a copy buffer, cached for the buffer last used. */
  private wordsOf(dst: Uint8Array): Int32Array {
    if (this.dstBytes !== dst) {
      if (dst.byteOffset & 3 || dst.byteLength & 3) throw new RangeError('readInto: the buffer must be 4-byte aligned and sized');
      this.dstBytes = dst;
      this.dstWords = new Int32Array(dst.buffer, dst.byteOffset, dst.byteLength >> 2);
    }
    return this.dstWords;
  }

  /**
   * Publishes the local position to the kernel. Only the low 32 bits change
   * until the position crosses a 4 GiB boundary; then the whole u64 is stored
   * at once, so the kernel never sees a torn value (a consumer that writes back
   * only 32 bits makes the kernel think the ring is full after 4 GiB).
   */
  commit(): void {
    if (this.high === this.committedHigh) Atomics.store(this.consumerLow, 0, this.low | 0);
    else this.commitWide();
    this.uncommitted = 0;
  }

  /** Once per 4 GiB of traffic: the whole u64 in one store (a BigInt, so kept out of the hot path). */
  private commitWide(): void {
    Atomics.store(this.consumerPosition, 0, (BigInt(this.high) << 32n) | BigInt(this.low));
    this.committedHigh = this.high;
  }

  private idle(status: number): number {
    if (this.uncommitted) this.commit();
    return status;
  }
}
