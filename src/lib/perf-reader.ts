/**
 * Consumers of the perf buffer, in the style of ring-reader.ts (and of
 * libbpf's perf_event_read_simple() and cilium/ebpf's perf reader): a local
 * tail position, an explicit commit, EMPTY when there is nothing to read.
 *
 *  - PerfReader reads one CPU's ring (perf-layout.ts);
 *  - PerfBufferReader drains every CPU's ring, one after the other.
 *
 * Two ways to read a sample, as with RingReader:
 *  - readInto(dst): copies the sample into a caller-owned, reused buffer and
 *    consumes it;
 *  - peek() + consume(): the sample stays in place; read it through `words` /
 *    `bytes` at `sampleOffset`, then consume. Unlike the BPF ring buffer, the
 *    perf ring is mapped once, so a sample that runs past the end of the data
 *    area is first copied into a scratch buffer (as libbpf does): `words` and
 *    `bytes` then view the scratch buffer. They can change at every peek(), so
 *    read them after each peek(), never once before a loop.
 *
 * And a run at a time (--batch K > 1), as RingReader's peekRun / readRunInto:
 *  - peekRun() + consumeRun(): up to `batch` samples of the loaded data_head
 *    snapshot, in place (sample i at runOffsets[i] of `words` / `bytes`,
 *    runLengths[i] bytes), data_tail published once by consumeRun(). A sample
 *    that wraps the end of the data area is not contiguous in place: it ends
 *    the run before it, and is then a run of its own, from the scratch copy;
 *  - readRunInto(dst): the run's records copied out with one set() (two when
 *    the run passes the end of the data area), consumed and published; the
 *    samples at runOffsets[i] of dst. A wrapped sample is contiguous in the copy.
 *
 * Lengths: a sample's raw size is padded (perf-layout.ts) and its pad bytes
 * are stale ring contents. With `sampleLength` (the producer's fixed event
 * size) peek() and readInto() report min(raw size, sampleLength), so a checksum
 * covers the event's own bytes; without it, the raw size.
 *
 * PERF_RECORD_LOST records are consumed on the way and their counts summed in
 * `lost`: samples the kernel could not write because the ring was full, which
 * the BPF program counted as drops. Other record types are skipped.
 *
 * Memory ordering, as include/uapi/linux/perf_event.h documents data_head and
 * data_tail and kernel/events/ring_buffer.c's perf_output_put_handle() pairs
 * the barriers:
 *     kernel                          user
 *     if (LOAD ->data_tail) {         LOAD ->data_head
 *             (A)                     smp_rmb()       (C)
 *       STORE $data                   LOAD $data
 *       smp_wmb()     (B)             smp_mb()        (D)
 *       STORE ->data_head             STORE ->data_tail
 *     }
 *  (C) data_head is read with Atomics.load, an acquire load, before any record
 *      it covers; the records are then plain reads (headers too, unlike the
 *      ring buffer's, whose every header is an acquire load: here one load
 *      covers a whole snapshot). The kernel publishes data_head only past
 *      complete records (perf_output_put_handle() waits for nested writers),
 *      so there is no busy state to check.
 *  (D) data_tail is published with Atomics.store, sequentially consistent, so
 *      every read of a record is done before the kernel can see its space free
 *      (libbpf uses smp_store_release() here: a release store is enough to
 *      order the reads before the store; Atomics.store is at least that).
 *
 * data_head is a u64. The reader loads only its low 32 bits, with one 32-bit
 * Atomics.load: the distance head - tail never exceeds data_size (< 2^32), so
 * the low halves alone give it (mod 2^32), exactly as RingReader reads the
 * producer position. A 32-bit load cannot tear, and no 64-bit value is ever
 * assembled from two loads, so a torn head (low half from one store, high half
 * from another) cannot arise; it also avoids a BigInt per load. data_tail is
 * published the same way as RingReader's consumer position: the low half with
 * one 32-bit store, the whole u64 in one store when the high half changes, so
 * whoever reads it as a u64 (libbpf compares it with data_head in full) never
 * sees a torn or truncated value.
 */
import { COPY_BY_WORDS_MAX, EMPTY } from './ring-reader.js';
import {
  DATA_HEAD_OFFSET,
  DATA_TAIL_OFFSET,
  LOST_COUNT_OFFSET,
  MAX_RECORD_SIZE,
  PERF_HEADER_SIZE,
  PERF_RECORD_LOST,
  PERF_RECORD_SAMPLE,
  RECORD_SIZE_SHIFT,
  SAMPLE_DATA_OFFSET,
  SAMPLE_RAW_SIZE_OFFSET,
  perfRingGeometry,
  type PerfRingMemory,
} from './perf-layout.js';

export { EMPTY };

export interface PerfReaderOptions {
  /**
   * Publish data_tail every `batch` records (1 = after each record), and always before reporting EMPTY;
   * also the longest run peekRun() / readRunInto() return.
   */
  batch?: number;
  /** The producer's fixed sample length: reported instead of the padded raw size (never more than it). */
  sampleLength?: number;
}

const DATA_HEAD_WORD = DATA_HEAD_OFFSET >>> 2;

/** Where every sample in a perf ring mapping starts, modulo 8: 12 bytes into an 8-aligned record. */
export const SAMPLE_ALIGNMENT = SAMPLE_DATA_OFFSET % 8;

/**
 * A buffer for readInto() that V8 can copy into quickly. V8 copies out of a
 * SharedArrayBuffer with relaxed atomic moves (base::Relaxed_Memcpy), 8 bytes
 * at a time only when source and destination agree modulo 8, else byte by
 * byte; a perf sample starts at 4 modulo 8 (SAMPLE_ALIGNMENT), so a buffer
 * that starts at 0 modulo 8 is copied into byte by byte (measured here: a
 * 2 KiB set() ~4x slower). This one starts 4 bytes into an ArrayBuffer, so it
 * matches. View it as words with new Int32Array(b.buffer, b.byteOffset, b.byteLength >> 2).
 */
export function perfCopyBuffer(maxSampleLength: number): Uint8Array {
  const length = (maxSampleLength + 3) & ~3;
  return new Uint8Array(new ArrayBuffer(SAMPLE_ALIGNMENT + length + ((8 - SAMPLE_ALIGNMENT) % 8)), SAMPLE_ALIGNMENT, length);
}

export class PerfReader {
  /** The CPU whose ring this is. */
  readonly cpu: number;
  /** Where the sample peek() last returned is: the ring mapping, or the scratch buffer for a sample that wrapped. */
  words: Int32Array;
  bytes: Uint8Array;
  /** Byte offset, in `words` / `bytes`, of the sample peek() last returned (a multiple of 4). */
  sampleOffset = 0;
  /** Samples the kernel reported lost (sum of PERF_RECORD_LOST counts read so far). */
  lost = 0;
  lostRecords = 0;
  /** Records of other types, skipped. */
  otherRecords = 0;
  /** After peekRun() / readRunInto(): sample i of the run is at runOffsets[i] of `words` / `bytes` (or of dst), runLengths[i] bytes long. */
  readonly runOffsets: Int32Array;
  readonly runLengths: Int32Array;

  private readonly mapWords: Int32Array;
  private readonly mapBytes: Uint8Array;
  private readonly tailLow: Int32Array;
  private readonly tailWhole: BigUint64Array;
  private readonly dataStart: number;
  private readonly dataSize: number;
  private readonly mask: number;
  /** Records per published data_tail, and the longest run. */
  readonly batch: number;
  private readonly sampleLength: number;
  /** Local tail position as two 32-bit halves (low unsigned), like RingReader's consumer position. */
  private low: number;
  private high: number;
  private committedHigh: number;
  /** data_head's low half, as last loaded. */
  private headLow: number;
  private recordBytes = 0;
  private uncommitted = 0;
  private scratch: { bytes: Uint8Array; words: Int32Array } | undefined;
  /** The run walked last: its bytes, where it ends (low half), and the lost and other records in it. */
  private runBytes = 0;
  private runEnd = 0;
  private runLost = 0;
  private runLostRecords = 0;
  private runOther = 0;
  private dstBytes: Uint8Array | undefined;
  private dstWords: Int32Array<ArrayBufferLike> = new Int32Array(0);

  constructor(ring: PerfRingMemory, options: PerfReaderOptions = {}) {
    const { dataOffset, dataSize } = perfRingGeometry(ring);
    this.cpu = ring.cpu;
    this.mapWords = this.words = new Int32Array(ring.buffer);
    this.mapBytes = this.bytes = new Uint8Array(ring.buffer);
    this.tailLow = new Int32Array(ring.buffer, DATA_TAIL_OFFSET, 1);
    this.tailWhole = new BigUint64Array(ring.buffer, DATA_TAIL_OFFSET, 1);
    this.dataStart = dataOffset;
    this.dataSize = dataSize;
    this.mask = dataSize - 1;
    this.batch = Math.max(1, options.batch ?? 1);
    this.sampleLength = options.sampleLength ?? Infinity;
    this.runOffsets = new Int32Array(this.batch);
    this.runLengths = new Int32Array(this.batch);
    // Start where the last consumer stopped (libbpf and this reader take turns through data_tail).
    const start = Atomics.load(this.tailWhole, 0);
    this.low = Number(start & 0xffffffffn);
    this.high = Number(start >> 32n);
    this.committedHigh = this.high;
    this.headLow = this.low;
  }

  /** The local tail position (it may be ahead of the published data_tail until commit()). */
  get position(): number {
    return this.high * 2 ** 32 + this.low;
  }

  /**
   * Finds the next sample and returns its length, leaving it at `sampleOffset`
   * of `words` / `bytes`; or EMPTY. Lost-sample and other records are consumed
   * on the way. Before reporting EMPTY it publishes data_tail.
   */
  peek(): number {
    return this.next(true);
  }

  /**
   * peek() without loading data_head again: EMPTY once the records published at
   * the last load are read. PerfBufferReader uses it to leave a ring whose
   * snapshot is done, so a busy CPU cannot starve the others.
   */
  peekLoaded(): number {
    return this.next(false);
  }

  private next(reload: boolean): number {
    for (;;) {
      if (this.low === this.headLow) {
        if (!reload) return this.idle();
        // (C): the acquire load before reading any record it covers. Only the
        // low half: head - tail <= data_size < 2^32.
        this.headLow = Atomics.load(this.mapWords, DATA_HEAD_WORD) >>> 0;
        if (this.low === this.headLow) return this.idle();
      }
      const offset = this.low & this.mask;
      const at = this.dataStart + offset;
      const type = this.mapWords[at >>> 2];
      const size = this.mapWords[(at >>> 2) + 1] >>> RECORD_SIZE_SHIFT;
      if (size < PERF_HEADER_SIZE || size & 7 || size > MAX_RECORD_SIZE) throw this.corrupt(type, size);
      this.recordBytes = size;
      if (type === PERF_RECORD_SAMPLE) {
        const raw = this.mapWords[(this.dataStart + ((offset + SAMPLE_RAW_SIZE_OFFSET) & this.mask)) >>> 2] >>> 0;
        if (raw > size - SAMPLE_DATA_OFFSET) throw this.corrupt(type, size);
        const length = raw < this.sampleLength ? raw : this.sampleLength;
        const start = (offset + SAMPLE_DATA_OFFSET) & this.mask;
        if (start + length <= this.dataSize) {
          this.words = this.mapWords;
          this.bytes = this.mapBytes;
          this.sampleOffset = this.dataStart + start;
        } else {
          this.copyWrapped(start, length);
        }
        return length;
      }
      if (type === PERF_RECORD_LOST) {
        this.lost += this.u64At(offset + LOST_COUNT_OFFSET);
        this.lostRecords++;
      } else {
        this.otherRecords++;
      }
      this.consume();
    }
  }

  /** Moves past the record peek() returned; publishes data_tail every `batch` records. */
  consume(): void {
    const next = (this.low + this.recordBytes) >>> 0;
    if (next < this.low) this.high++;
    this.low = next;
    if (++this.uncommitted >= this.batch) this.commit();
  }

  /**
   * Copies the next sample into `dst` (which must hold it; perfCopyBuffer()
   * makes one that copies fast) and consumes it. Returns the sample length, or EMPTY.
   */
  readInto(dst: Uint8Array): number {
    const length = this.peek();
    if (length < 0) return length;
    this.copySample(dst, length);
    this.consume();
    return length;
  }

  /**
   * Copies the sample peek() returned into `dst` (4-byte aligned and sized).
   * Small samples with a word loop, larger ones with set(), as RingReader does.
   */
  copySample(dst: Uint8Array, length: number): void {
    const from = this.sampleOffset;
    if (length <= COPY_BY_WORDS_MAX) {
      const src = this.words;
      const dstWords = this.wordsOf(dst);
      for (let i = 0, at = from >>> 2, n = (length + 3) >> 2; i < n; i++) dstWords[i] = src[at + i];
    } else {
      dst.set(this.bytes.subarray(from, from + length));
    }
  }

  /**
   * Up to `batch` samples of the data_head snapshot, in place: sample i at
   * runOffsets[i] of `words` / `bytes`, runLengths[i] bytes long (a sample
   * that wraps the end of the data area comes alone, from the scratch copy).
   * Lost-sample and other records among them are counted when the run is
   * consumed. Returns the number of samples, or EMPTY (after publishing
   * data_tail). Call consumeRun() once they are processed.
   */
  peekRun(): number {
    return this.run(true);
  }

  /** peekRun() without loading data_head again (see peekLoaded()). */
  peekRunLoaded(): number {
    return this.run(false);
  }

  /** Consumes the run peekRun() returned and publishes data_tail: one store per run. */
  consumeRun(): void {
    this.endRun();
    this.commit();
  }

  /**
   * Copies a run of up to `batch` samples of the data_head snapshot (as many
   * whole records as fit in `dst`, headers and lost records included) out of
   * the ring with one set(), or two when the run passes the end of the data
   * area, consumes it and publishes data_tail; sample i is then at
   * runOffsets[i] of `dst`, runLengths[i] bytes long. For a fast copy, `dst`
   * should start at 0 modulo 8, as records do. Returns the number of samples,
   * or EMPTY. Throws a RangeError if the first record does not fit in `dst`.
   */
  readRunInto(dst: Uint8Array): number {
    return this.copyRun(dst, true);
  }

  /** readRunInto() without loading data_head again (see peekLoaded()). */
  readRunIntoLoaded(dst: Uint8Array): number {
    return this.copyRun(dst, false);
  }

  private run(reload: boolean): number {
    for (;;) {
      if (!this.loaded(reload)) return this.idle();
      this.words = this.mapWords;
      this.bytes = this.mapBytes;
      const count = this.walk(this.dataSize, true);
      if (count > 0) return count;
      this.endRun(); // only lost or other records: consumed, look further
    }
  }

  private copyRun(dst: Uint8Array, reload: boolean): number {
    for (;;) {
      if (!this.loaded(reload)) return this.idle();
      const count = this.walk(dst.byteLength, false);
      if (count > 0) {
        // The records are plain reads after the acquire load of data_head (C): any copy order is fine.
        const from = this.low & this.mask;
        const first = Math.min(this.runBytes, this.dataSize - from);
        dst.set(this.mapBytes.subarray(this.dataStart + from, this.dataStart + from + first));
        if (first < this.runBytes) dst.set(this.mapBytes.subarray(this.dataStart, this.dataStart + this.runBytes - first), first);
      }
      this.endRun();
      if (count > 0) {
        this.commit();
        return count;
      }
    }
  }

  /** True when records wait between the local tail and data_head, loading data_head (C) if the snapshot is read and `reload`. */
  private loaded(reload: boolean): boolean {
    if (this.low !== this.headLow) return true;
    if (!reload) return false;
    this.headLow = Atomics.load(this.mapWords, DATA_HEAD_WORD) >>> 0;
    return this.low !== this.headLow;
  }

  /**
   * The record walk behind runs: from the local tail towards the loaded
   * data_head, up to `batch` samples and at most `byteLimit` bytes of records.
   * `inPlace`: offsets into the mapping, and a sample that wraps the end of
   * the data area ends the run before it (or, first, is copied to the scratch
   * buffer and makes a run of one); otherwise offsets from the run's first
   * byte (in the caller's copy). Consumes nothing; returns the sample count.
   */
  private walk(byteLimit: number, inPlace: boolean): number {
    const words = this.mapWords;
    const offsets = this.runOffsets;
    const lengths = this.runLengths;
    const dataStart = this.dataStart;
    const dataSize = this.dataSize;
    const mask = this.mask;
    const sampleLength = this.sampleLength;
    const max = this.batch;
    const start = this.low;
    const head = this.headLow;
    let bytes = 0;
    let count = 0;
    this.runLost = this.runLostRecords = this.runOther = 0;
    while (count < max) {
      const pos = (start + bytes) >>> 0;
      if (pos === head) break;
      const offset = pos & mask;
      const at = (dataStart + offset) >>> 2;
      const type = words[at];
      const size = words[at + 1] >>> RECORD_SIZE_SHIFT;
      if (size < PERF_HEADER_SIZE || size & 7 || size > MAX_RECORD_SIZE) throw this.corrupt(type, size, bytes);
      if (bytes + size > byteLimit) {
        if (bytes > 0) break;
        throw new RangeError(`readRunInto: a ${size}-byte record does not fit the ${byteLimit}-byte buffer`);
      }
      if (type === PERF_RECORD_SAMPLE) {
        const raw = words[(dataStart + ((offset + SAMPLE_RAW_SIZE_OFFSET) & mask)) >>> 2] >>> 0;
        if (raw > size - SAMPLE_DATA_OFFSET) throw this.corrupt(type, size, bytes);
        const length = raw < sampleLength ? raw : sampleLength;
        const sampleStart = (offset + SAMPLE_DATA_OFFSET) & mask;
        if (!inPlace) {
          offsets[count] = bytes + SAMPLE_DATA_OFFSET;
        } else if (sampleStart + length <= dataSize) {
          offsets[count] = dataStart + sampleStart;
        } else {
          // Not contiguous in place: alone in its run, from the scratch copy.
          if (count > 0) break;
          this.copyWrapped(sampleStart, length);
          offsets[0] = 0;
          lengths[0] = length;
          bytes += size;
          count = 1;
          break;
        }
        lengths[count] = length;
        count++;
      } else if (type === PERF_RECORD_LOST) {
        this.runLost += this.u64At(offset + LOST_COUNT_OFFSET);
        this.runLostRecords++;
      } else {
        this.runOther++;
      }
      bytes += size;
    }
    this.runBytes = bytes;
    this.runEnd = (start + bytes) >>> 0;
    return count;
  }

  /** Moves the local tail past the run walked last, counting its lost and other records. */
  private endRun(): void {
    if (this.runEnd < this.low) this.high++;
    this.low = this.runEnd;
    this.runBytes = 0;
    this.lost += this.runLost;
    this.lostRecords += this.runLostRecords;
    this.otherRecords += this.runOther;
    this.runLost = this.runLostRecords = this.runOther = 0;
    this.uncommitted++;
  }

  /**
   * (D): publishes the local tail. Only the low 32 bits change until the
   * position crosses a 4 GiB boundary; then the whole u64 in one store.
   */
  commit(): void {
    if (this.high === this.committedHigh) Atomics.store(this.tailLow, 0, this.low | 0);
    else this.commitWide();
    this.uncommitted = 0;
  }

  private commitWide(): void {
    Atomics.store(this.tailWhole, 0, (BigInt(this.high) << 32n) | BigInt(this.low));
    this.committedHigh = this.high;
  }

  private idle(): number {
    if (this.uncommitted) this.commit();
    return EMPTY;
  }

  /**
   * A sample that runs past the end of the data area: its two parts copied into
   * the scratch buffer, which `words` / `bytes` then view (as libbpf's
   * perf_event_read_simple() copies a wrapped record). `start` is the sample's
   * data offset. The split falls on a word boundary: records and the area's
   * size are multiples of 8 and a sample starts 12 bytes into its record.
   */
  private copyWrapped(start: number, length: number): void {
    this.scratch ??= (() => {
      const buffer = new ArrayBuffer(MAX_RECORD_SIZE);
      return { bytes: new Uint8Array(buffer), words: new Int32Array(buffer) };
    })();
    const { bytes, words } = this.scratch;
    const first = this.dataSize - start;
    bytes.set(this.mapBytes.subarray(this.dataStart + start, this.dataStart + this.dataSize), 0);
    bytes.set(this.mapBytes.subarray(this.dataStart, this.dataStart + length - first), first);
    this.words = words;
    this.bytes = bytes;
    this.sampleOffset = 0;
  }

  /** A little-endian u64 at data offset `offset` (8-aligned, so it never straddles the end). */
  private u64At(offset: number): number {
    const w = (this.dataStart + (offset & this.mask)) >>> 2;
    return (this.mapWords[w + 1] >>> 0) * 2 ** 32 + (this.mapWords[w] >>> 0);
  }

  private wordsOf(dst: Uint8Array): Int32Array {
    if (this.dstBytes !== dst) {
      if (dst.byteOffset & 3 || dst.byteLength & 3) throw new RangeError('readInto: the buffer must be 4-byte aligned and sized');
      this.dstBytes = dst;
      this.dstWords = new Int32Array(dst.buffer, dst.byteOffset, dst.byteLength >> 2);
    }
    return this.dstWords;
  }

  /** `ahead`: bytes past the local tail (a run's walk). */
  private corrupt(type: number, size: number, ahead = 0): Error {
    return new Error(`perf ring of cpu ${this.cpu}: record at position ${this.position + ahead} has type ${type} and size ${size}, not a valid record`);
  }
}

/**
 * Every CPU's ring of one perf buffer, read as one stream with the same API as
 * PerfReader (and RingReader): peek/consume, readInto, commit, EMPTY.
 *
 * Like libbpf's perf_buffer__consume(), it drains one ring at a time: the
 * current ring up to the data_head it loaded on arriving there, then the next
 * ring (loading its data_head), so a CPU that keeps producing cannot starve
 * the others. Leaving a ring publishes its data_tail. EMPTY means every ring
 * was found empty in one pass.
 *
 * Order: records of one CPU are in the order they were written; there is no
 * order between CPUs. A producer that migrates between CPUs leaves its events
 * in several rings, so a per-producer sequence check must be kept per CPU
 * (`cpu` tells which ring the current sample came from), or the producers
 * pinned to CPUs.
 */
export class PerfBufferReader {
  readonly readers: PerfReader[];
  /** Records per published data_tail (per ring), and the longest run. */
  readonly batch: number;
  /** Where the sample peek() last returned is (see PerfReader). */
  words: Int32Array;
  bytes: Uint8Array;
  sampleOffset = 0;
  /** The CPU of the ring the sample peek() (or the run peekRun() / readRunInto()) last returned came from. */
  cpu: number;
  /** After peekRun() / readRunInto(): that ring's run (see PerfReader); read them after each run. */
  runOffsets: Int32Array;
  runLengths: Int32Array;
  /** The ring being drained. It starts at the last, whose snapshot is empty, so the first peek() begins at ring 0. */
  private current: number;

  constructor(rings: PerfRingMemory[], options: PerfReaderOptions = {}) {
    if (rings.length === 0) throw new RangeError('PerfBufferReader: no rings');
    this.readers = rings.map((ring) => new PerfReader(ring, options));
    this.batch = this.readers[0].batch;
    this.current = this.readers.length - 1;
    this.words = this.readers[0].words;
    this.bytes = this.readers[0].bytes;
    this.cpu = this.readers[0].cpu;
    this.runOffsets = this.readers[0].runOffsets;
    this.runLengths = this.readers[0].runLengths;
  }

  /** Samples the kernel reported lost, over every ring. */
  get lost(): number {
    let lost = 0;
    for (const r of this.readers) lost += r.lost;
    return lost;
  }

  get lostRecords(): number {
    let n = 0;
    for (const r of this.readers) n += r.lostRecords;
    return n;
  }

  peek(): number {
    let reader = this.readers[this.current];
    let length = reader.peekLoaded();
    // This ring's snapshot is read: look at every ring once, starting with the next
    // one and ending with this one again, each with a fresh data_head.
    for (let i = 0; length < 0 && i < this.readers.length; i++) {
      this.current = this.current + 1 === this.readers.length ? 0 : this.current + 1;
      reader = this.readers[this.current];
      length = reader.peek();
    }
    if (length < 0) return EMPTY;
    this.words = reader.words;
    this.bytes = reader.bytes;
    this.sampleOffset = reader.sampleOffset;
    this.cpu = reader.cpu;
    return length;
  }

  consume(): void {
    this.readers[this.current].consume();
  }

  readInto(dst: Uint8Array): number {
    const length = this.peek();
    if (length < 0) return length;
    const reader = this.readers[this.current];
    reader.copySample(dst, length);
    reader.consume();
    return length;
  }

  /** A run of one ring's snapshot, in place (PerfReader.peekRun), the rings taken in turn as peek() takes them. */
  peekRun(): number {
    let reader = this.readers[this.current];
    let count = reader.peekRunLoaded();
    for (let i = 0; count < 0 && i < this.readers.length; i++) {
      this.current = this.current + 1 === this.readers.length ? 0 : this.current + 1;
      reader = this.readers[this.current];
      count = reader.peekRun();
    }
    if (count < 0) return EMPTY;
    this.words = reader.words;
    this.bytes = reader.bytes;
    this.tookRun(reader);
    return count;
  }

  consumeRun(): void {
    this.readers[this.current].consumeRun();
  }

  /** A run of one ring's snapshot, copied into `dst` and consumed (PerfReader.readRunInto). */
  readRunInto(dst: Uint8Array): number {
    let reader = this.readers[this.current];
    let count = reader.readRunIntoLoaded(dst);
    for (let i = 0; count < 0 && i < this.readers.length; i++) {
      this.current = this.current + 1 === this.readers.length ? 0 : this.current + 1;
      reader = this.readers[this.current];
      count = reader.readRunInto(dst);
    }
    if (count < 0) return EMPTY;
    this.tookRun(reader);
    return count;
  }

  private tookRun(reader: PerfReader): void {
    this.runOffsets = reader.runOffsets;
    this.runLengths = reader.runLengths;
    this.cpu = reader.cpu;
  }

  /** Publishes every ring's data_tail. */
  commit(): void {
    for (const r of this.readers) r.commit();
  }
}
