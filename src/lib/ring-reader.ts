/**
 * A consumer of one BPF ring buffer, in the style of libbpf's ringbuf.c and
 * cilium/ebpf's ringbuf reader: a local consumer position, an explicit commit,
 * and the busy and discard bits handled in one place (peek()).
 *
 * Two ways to read a record, one at a time:
 *  - readInto(dst): copies the sample into a caller-owned, reused buffer and
 *    consumes it (like cilium's Reader.ReadInto);
 *  - peek() + consume(): the sample stays in place in the ring mapping; read it
 *    through `words` / `bytes` at `sampleOffset`, then consume (zero-copy).
 * and the same two a run of records at a time, with one commit per run:
 *  - readRunInto(dst): copies a run of up to `batch` records out of the ring
 *    with one TypedArray.prototype.set (a memmove) and consumes it, so the
 *    ring space is free before any of them is processed;
 *  - peekRun() + consumeRun(): walks a run in place (zero-copy), then
 *    consumes it.
 * After either, sample i of the run is at runOffsets[i] (in the destination,
 * or in `words` / `bytes`) with length runLengths[i].
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
  /**
   * Publish the consumer position every `batch` records (1 = after each
   * record, like libbpf); also the default number of records in a run
   * (peekRun, readRunInto), which publish once per run.
   */
  batch?: number;
}

/**
 * Whether moving the low half from `from` to `to` (both int32 bits, less than
 * 2^32 apart) crossed a multiple of 2^32: `to` is below `from` as unsigned
 * numbers. Compared with the sign bit flipped, so the comparison stays in
 * int32 arithmetic (an unsigned `>>> 0` comparison deoptimises the first time
 * a position passes 2^31).
 */
function crossed(from: number, to: number): boolean {
  return (to ^ SIGN_BIT) < (from ^ SIGN_BIT);
}
const SIGN_BIT = -0x80000000;

/** No byte limit on a run read in place: a run never exceeds the ring size (< 2^31). */
const IN_PLACE = 0x7fffffff;

export class RingReader {
  /** The producer mapping as 32-bit words: word 0 is the producer position's low half. */
  readonly words: Int32Array;
  /** The producer mapping as bytes. */
  readonly bytes: Uint8Array;
  /** Byte offset, in `words` / `bytes`, of the sample peek() last returned. */
  sampleOffset = 0;
  /** Records per published position, and the default run length. */
  readonly batch: number;
  /**
   * The last run's samples: byte offsets (in `words` / `bytes` after peekRun,
   * in the destination after readRunInto) and lengths. Read them after each
   * call: a longer run than any before replaces the arrays.
   */
  runOffsets: Int32Array;
  runLengths: Int32Array;

  private readonly consumerLow: Int32Array;
  private readonly consumerPosition: BigUint64Array;
  private readonly dataStart: number;
  private readonly mask: number;
  /**
   * Local consumer position, kept as two 32-bit halves so the hot path stays in
   * small-integer arithmetic: `low` holds the low half's bits as a signed int32
   * (never a heap number, also past 2^31 of traffic), `high` the high half.
   */
  private low: number;
  private high: number;
  private committedHigh: number;
  /** Producer position's low half (int32 bits, as `low`), as last loaded. */
  private producerLow: number;
  private recordBytes = 0;
  private uncommitted = 0;
  private dstBytes: Uint8Array | undefined;
  private dstWords: Int32Array<ArrayBufferLike> = new Int32Array(0);
  /** The walked run: where it starts in `bytes`, its length, and the low position after it (int32 bits). */
  private runStart = 0;
  private runBytes = 0;
  private runEnd = 0;

  constructor(ring: RingMemory, options: RingReaderOptions = {}) {
    this.words = new Int32Array(ring.producer);
    this.bytes = new Uint8Array(ring.producer);
    this.consumerLow = new Int32Array(ring.consumer, 0, 1);
    this.consumerPosition = new BigUint64Array(ring.consumer, 0, 1);
    this.dataStart = ring.pageSize;
    this.mask = ring.size - 1;
    this.batch = Math.max(1, options.batch ?? 1);
    this.runOffsets = new Int32Array(this.batch);
    this.runLengths = new Int32Array(this.batch);
    const start = Atomics.load(this.consumerPosition, 0);
    // `| 0`: a small integer, never the heap number Number(bigint) may give, so
    // the fields keep TurboFan's small-integer representation from the start.
    this.low = Number(BigInt.asIntN(32, start)) | 0;
    this.high = Number(start >> 32n) | 0;
    this.committedHigh = this.high;
    this.producerLow = this.low;
  }

  /** The local consumer position (it may be ahead of the published one until commit()). */
  get position(): number {
    return this.high * 2 ** 32 + (this.low >>> 0);
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
        this.producerLow = Atomics.load(this.words, 0);
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
    const next = (this.low + this.recordBytes) | 0;
    if (crossed(this.low, next)) this.high++;
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
   * Walks a run of up to `max` submitted records from the consumer position,
   * in place, without consuming them: sample i is at runOffsets[i] of `words`
   * / `bytes`, runLengths[i] bytes long. Discarded records are skipped (and
   * consumed with the run); a busy record ends the run. Returns the number of
   * samples, or EMPTY / BUSY when there is none (after publishing the
   * position, as peek() does). Call consumeRun() once they are processed.
   */
  peekRun(max = this.batch): number {
    this.reserveRun(max);
    // In place, a run's offsets count from its first byte in the mapping: the
    // double mapping keeps a run that wraps past the end contiguous.
    const count = this.walk(max, IN_PLACE, this.dataStart + (this.low & this.mask));
    if (count > 0) return count;
    this.advanceTo(this.runEnd); // discarded records, if any
    return this.idle(count);
  }

  /** Consumes the run peekRun() returned and publishes the position: one commit per run. */
  consumeRun(): void {
    this.advanceTo(this.runEnd);
    this.commit();
  }

  /**
   * Copies a run of up to `max` submitted records (as many whole records as
   * fit in `dst`) out of the ring with one TypedArray.prototype.set, consumes
   * them and publishes the position, so their ring space is free before the
   * caller processes any of them. Sample i is then at runOffsets[i] of `dst`,
   * runLengths[i] bytes long (offsets are multiples of 8 from dst's start).
   * Discarded records are skipped; a busy record ends the run, and the
   * double mapping keeps a run that wraps past the end contiguous. Returns the
   * number of samples, or EMPTY / BUSY when there is none. Throws a
   * RangeError if the first record does not fit in `dst`.
   */
  readRunInto(dst: Uint8Array, max = this.batch): number {
    this.reserveRun(max);
    const count = this.walk(max, dst.byteLength, 0);
    // Every header of the run was read with an acquire load before this copy
    // of the bytes they guard: the copy may read them in any order.
    if (count > 0) dst.set(this.bytes.subarray(this.runStart, this.runStart + this.runBytes));
    this.advanceTo(this.runEnd);
    if (count < 0) return this.idle(count);
    this.commit();
    return count;
  }

  /**
   * The header walk behind peekRun() and readRunInto(): from the consumer
   * position, each header is read with Atomics.load (acquire: the kernel's
   * submit clears BUSY with a release xchg, kernel/bpf/ringbuf.c
   * bpf_ringbuf_commit(), after writing the sample) before the sample it
   * guards may be read or copied. Stops after `max` samples, before the run
   * would pass `limit` bytes, at the producer position (EMPTY) or at a busy
   * record (BUSY). Records each sample's offset (`base` + its offset from the
   * run's first byte) and length, where the run starts and how long it is;
   * consumes nothing. Returns the sample count, or EMPTY / BUSY when it found
   * no sample.
   */
  private walk(maxRecords: number, byteLimit: number, offsetBase: number): number {
    // Parameters as int32 locals: checked once here, not on every iteration
    // (the Atomics.load call in the loop makes TurboFan re-check tagged values).
    const max = maxRecords | 0;
    const limit = byteLimit | 0;
    const base = offsetBase | 0;
    const words = this.words;
    const offsets = this.runOffsets;
    const lengths = this.runLengths;
    const dataStart = this.dataStart;
    const mask = this.mask;
    // Locals, not the imported constants: TurboFan reloads a module's exports on every use.
    const lengthMask = LENGTH_MASK;
    const discardBit = DISCARD_BIT;
    let start = this.low;
    let producer = this.producerLow;
    let bytes = 0;
    let count = 0;
    let status = EMPTY;
    while (count < max) {
      const pos = (start + bytes) | 0;
      if (pos === producer) {
        // The producer is never more than the ring size ahead: low halves suffice (see peek()).
        producer = Atomics.load(words, 0);
        if (pos === producer) break;
      }
      const at = dataStart + (pos & mask);
      const header = Atomics.load(words, at >>> 2);
      if (header < 0) {
        // BUSY_BIT is bit 31, the sign bit.
        status = BUSY;
        break;
      }
      const length = header & lengthMask;
      const size = (length + 15) & ~7; // recordSize(): 8-byte header, rounded up to 8
      if (bytes + size > limit) {
        if (bytes > 0) break;
        if ((header & discardBit) === 0) throw new RangeError(`readRunInto: a ${length}-byte sample does not fit the ${limit}-byte buffer`);
        // A discarded record too large for the buffer, first in the run: consumed, never copied.
        start = (start + size) | 0;
        continue;
      }
      if ((header & discardBit) === 0) {
        offsets[count] = base + bytes + RECORD_HEADER_SIZE;
        lengths[count] = length;
        count++;
      }
      bytes += size;
    }
    this.producerLow = producer;
    this.runStart = dataStart + (start & mask);
    this.runBytes = bytes;
    this.runEnd = (start + bytes) | 0;
    return count > 0 ? count : status;
  }

  /** Room for runs of `max` samples. */
  private reserveRun(max: number): void {
    if (max > this.runOffsets.length) {
      this.runOffsets = new Int32Array(max);
      this.runLengths = new Int32Array(max);
    }
  }

  /** Moves the local position to `low` (at most one ring size ahead), counting one uncommitted step. */
  private advanceTo(low: number): void {
    if (low === this.low) return;
    if (crossed(this.low, low)) this.high++;
    this.low = low;
    this.uncommitted++;
  }

  /**
   * Publishes the local position to the kernel. Only the low 32 bits change
   * until the position crosses a 4 GiB boundary; then the whole u64 is stored
   * at once, so the kernel never sees a torn value (a consumer that writes back
   * only 32 bits makes the kernel think the ring is full after 4 GiB).
   */
  commit(): void {
    if (this.high === this.committedHigh) Atomics.store(this.consumerLow, 0, this.low);
    else this.commitWide();
    this.uncommitted = 0;
  }

  /** Once per 4 GiB of traffic: the whole u64 in one store (a BigInt, so kept out of the hot path). */
  private commitWide(): void {
    Atomics.store(this.consumerPosition, 0, (BigInt(this.high) << 32n) | BigInt(this.low >>> 0));
    this.committedHigh = this.high;
  }

  private idle(status: number): number {
    if (this.uncommitted) this.commit();
    return status;
  }
}
