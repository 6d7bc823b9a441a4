/**
 * A BPF ring buffer that some program (this process's or another's) fills:
 * open it by fd, bpffs pin or map id, read it with the same RingReader the
 * benchmark measures, wait for it on a worker (epoll) or on the event loop
 * (libuv), and close it, releasing the kernel's map at once.
 *
 *     const ring = openRing({ pinned: '/sys/fs/bpf/events' });
 *     for await (const record of ring.events({ signal })) use(record.view, record.offset, record.length);
 *     ring.close();
 *
 * Ordering. The reader follows kernel/bpf/ringbuf.c: the producer advances
 * producer_pos at reserve (smp_store_release) and clears the record's BUSY
 * bit at submit (xchg), so each header is read with an acquire load before
 * the sample, records are returned strictly in reservation order, and a
 * record still BUSY stops the reader even when later ones are complete
 * (ring-reader.ts). The consumer position is published with a sequentially
 * consistent store before any wait, so a producer that submits after the
 * reader saw EMPTY either sees the caught-up position and wakes it, or the
 * reader's own check sees the new record (docs/library.md).
 */
import { addon, type RingMapping } from './addon.js';
import { BPF_MAP_TYPE_RINGBUF, BPF_MAP_TYPE_USER_RINGBUF, mapTypeName, openMapFd, OpenRingError, type MapInfo, type MapSource, type OpenedMap } from './bpf-map.js';
import { MAX_RING_SIZE, type RingMemory } from './ring-layout.js';
import { BUSY, RingReader } from './ring-reader.js';
import { FdReadiness } from './ring-readiness.js';

/** How openRing() sets up the reader and the mapping. */
export interface OpenRingOptions {
  /**
   * Publish the consumer position every `batch` records instead of after each
   * one (RingReader's option; default 1, like libbpf). The position is always
   * published before the reader waits, at the end of each events()/onData()
   * slice, and by close().
   */
  batch?: number;
  /** Pre-fault the whole mapping now (madvise MADV_POPULATE_READ), so the first pass over the ring pays no page faults. Default false. */
  populate?: boolean;
}

/** Options of the non-blocking wait. */
export interface RingWaitOptions {
  /** Rejects the wait with `signal.reason` when aborted. */
  signal?: AbortSignal;
  /** Resolve false after this many milliseconds. Default: no limit. */
  timeoutMs?: number;
  /** Whether the pending wait keeps the process alive. Default true. */
  keepAlive?: boolean;
}

/** Options of the event-loop readers, events() and onData(). */
export interface RingConsumeOptions {
  /** Stops the reader: events() throws and onData() rejects with `signal.reason`. */
  signal?: AbortSignal;
  /**
   * 'view' (default): the record points into the ring itself (zero-copy) and
   * is consumed after your code is done with it. 'copy': the record is copied
   * into a buffer the reader reuses and consumed at once, before your code
   * sees it, so the producer gets the space back sooner.
   */
  mode?: 'view' | 'copy';
  /**
   * Longest stretch of reading, in milliseconds, before the reader lets the
   * event loop run (timers, I/O) and then carries on. Default 4.
   */
  sliceMs?: number;
  /**
   * While waiting, look at the ring every this many milliseconds even if no
   * wake-up came. A producer that submits with BPF_RB_NO_WAKEUP never wakes a
   * waiter, so with such rings this is how (and how late) records are seen.
   * Default 1000; Infinity: rely on wake-ups alone.
   */
  fallbackPollMs?: number;
  /** Whether the reader keeps the process alive while it waits for records. Default true. */
  keepAlive?: boolean;
}

/**
 * One record as events() yields it and onData() passes it. The object is
 * reused: it is valid until the iteration moves on (or the handler returns).
 * Keep the bytes with copy() if you need them longer.
 *
 * In view mode `bytes`, `words` and `view` cover the whole ring mapping and
 * the sample starts at `offset`; the kernel may overwrite it as soon as the
 * record is consumed. In copy mode they cover the reader's own buffer and
 * `offset` is 0.
 */
export class RingRecord {
  /** Sample length in bytes (the 8-byte record header not included). */
  length = 0;
  /** Byte offset of the sample in `bytes` / `words` / `view`; a multiple of 8. */
  offset = 0;

  /** @internal */
  constructor(
    /** The buffer the sample is in, as bytes. */
    public bytes: Uint8Array,
    /** The same buffer as 32-bit words (offset / 4 is the sample's first word). */
    public words: Int32Array,
    /** The same buffer as a DataView, for fields of any width: view.getBigUint64(offset, true). */
    public view: DataView,
  ) {}

  /** The sample as a Uint8Array view (no copy): valid as long as the record is. */
  sample(): Uint8Array {
    return this.bytes.subarray(this.offset, this.offset + this.length);
  }

  /** A copy of the sample that stays valid. */
  copy(): Uint8Array {
    return this.bytes.slice(this.offset, this.offset + this.length);
  }
}

/** The parts openRing() assembles. @internal */
export interface RingParts {
  opened: OpenedMap;
  info: MapInfo;
  mapping: RingMapping;
  options: OpenRingOptions;
}

const STOPPED = -100;
const MORE = -101;

/** What a Ring must give back besides its mapping (whose buffers unmap themselves when collected). */
interface Resources {
  /** The map fd if the Ring owns it, else -1. */
  ownedFd: number;
  epfd: number;
  readiness: FdReadiness | undefined;
}

function freeResources(res: Resources): void {
  const native = addon();
  // The watcher leaves libuv's epoll set before its fd can close.
  res.readiness?.close();
  if (res.epfd >= 0) native.closeFd(res.epfd);
  if (res.ownedFd >= 0) native.closeFd(res.ownedFd);
  res.readiness = undefined;
  res.epfd = res.ownedFd = -1;
}

/** A Ring collected without close() still gives back its fds and watcher. */
const unclosed = new FinalizationRegistry<Resources>(freeResources);

/**
 * An open ring buffer map. Read it through the forwarded RingReader calls
 * (peek/consume, readInto, commit) or `reader` itself; wait with wait() on a
 * worker or waitAsync() on the main thread; or let events() / onData() do both
 * in bounded slices on the event loop. One thread reads a ring at a time.
 *
 * After close() every method and accessor throws `Error('ring is closed')`.
 */
export class Ring implements AsyncIterable<RingRecord> {
  /** The map as the kernel describes it (id, name, max_entries = ring size, ...). */
  readonly info: MapInfo;
  /** Data area size in bytes (the map's max_entries): a power of two. */
  readonly size: number;

  private readonly opened: OpenedMap;
  private readonly mapping: RingMapping;
  private readonly ringMemory: RingMemory;
  private readonly ringReader: RingReader;
  private readonly producerPos: BigUint64Array;
  private readonly consumerPos: BigUint64Array;
  private readonly res: Resources;
  private isClosed = false;
  private consumer: string | undefined;
  /** A view-mode record is in the user's hands (yielded / in the handler), consumed when they are done with it. */
  private handedOut = false;

  /** @internal Use openRing(). */
  constructor({ opened, info, mapping, options }: RingParts) {
    this.opened = opened;
    this.info = info;
    this.size = info.maxEntries;
    this.mapping = mapping;
    this.ringMemory = { consumer: mapping.consumer, producer: mapping.producer, size: this.size, pageSize: mapping.pageSize };
    this.ringReader = new RingReader(this.ringMemory, { batch: options.batch });
    this.producerPos = new BigUint64Array(mapping.producer, 0, 1);
    this.consumerPos = new BigUint64Array(mapping.consumer, 0, 1);
    this.res = { ownedFd: opened.owned ? opened.fd : -1, epfd: -1, readiness: undefined };
    unclosed.register(this, this.res, this);
  }

  /** True after close(). */
  get closed(): boolean {
    return this.isClosed;
  }

  /** The map fd: the Ring's own for pinned / mapId sources (closed by close()), the caller's for { fd }. */
  get fd(): number {
    this.assertOpen();
    return this.opened.fd;
  }

  /**
   * The reader the benchmark measures, for hot loops (its methods skip the
   * closed check the forwarded ones make). Do not use it after close(): the
   * mapping it reads is gone (it then reads an empty, zeroed ring; it never
   * crashes).
   */
  get reader(): RingReader {
    this.assertOpen();
    return this.ringReader;
  }

  /**
   * The two SharedArrayBuffers and the geometry, e.g. to post to a worker that
   * builds its own RingReader. After close() they read a frozen, zeroed ring.
   * This Ring's waits and event-loop readers follow `reader`'s position: a
   * RingReader of your own over these buffers must do its own waiting.
   */
  get memory(): RingMemory {
    this.assertOpen();
    return this.ringMemory;
  }

  /** See RingReader.peek(): the next sample's length (left at `sampleOffset`), or EMPTY / BUSY. */
  peek(): number {
    this.assertOpen();
    return this.ringReader.peek();
  }

  /** See RingReader.consume(): moves past the record peek() returned. */
  consume(): void {
    this.assertOpen();
    this.ringReader.consume();
  }

  /** See RingReader.readInto(): copies the next sample into dst and consumes it; its length, or EMPTY / BUSY. */
  readInto(dst: Uint8Array): number {
    this.assertOpen();
    return this.ringReader.readInto(dst);
  }

  /** See RingReader.commit(): publishes the consumer position to the kernel now. */
  commit(): void {
    this.assertOpen();
    this.ringReader.commit();
  }

  /** Byte offset in `bytes` / `words` of the sample peek() last returned. */
  get sampleOffset(): number {
    this.assertOpen();
    return this.ringReader.sampleOffset;
  }

  /** The producer mapping (position page + data area twice) as bytes. */
  get bytes(): Uint8Array {
    this.assertOpen();
    return this.ringReader.bytes;
  }

  /** The producer mapping as 32-bit words. */
  get words(): Int32Array {
    this.assertOpen();
    return this.ringReader.words;
  }

  /** The reader's consumer position (bytes consumed since the map was created; may be ahead of the published one). */
  get position(): number {
    this.assertOpen();
    return this.ringReader.position;
  }

  /** The kernel's producer position: bytes reserved since the map was created. */
  get producerPosition(): number {
    this.assertOpen();
    return Number(Atomics.load(this.producerPos, 0));
  }

  /** The consumer position as published to the kernel. */
  get consumerPosition(): number {
    this.assertOpen();
    return Number(Atomics.load(this.consumerPos, 0));
  }

  /** Bytes reserved by producers and not yet consumed by this reader: how far behind it is. At most size - 1. */
  get backlog(): number {
    return this.producerPosition - this.position;
  }

  /**
   * Blocks this thread until the ring may have records (true) or timeoutMs
   * passes (false); -1 or Infinity waits without limit. For worker threads:
   * on the main thread it stalls the event loop, use waitAsync() or events().
   * Publishes the reader's position first, so the kernel's adaptive wake-up
   * sees a consumer that has caught up. A producer using BPF_RB_NO_WAKEUP
   * never ends the wait early: pass a timeout.
   */
  wait(timeoutMs: number): boolean {
    this.assertOpen();
    const timeout = timeoutMs === Infinity ? -1 : timeoutMs;
    if (!Number.isInteger(timeout) || timeout < -1 || timeout > 0x7fffffff) throw new RangeError(`wait: timeoutMs must be -1, Infinity or an integer in 0..2147483647, not ${timeoutMs}`);
    this.publish();
    if (this.available()) return true;
    const native = addon();
    if (this.res.epfd < 0) this.res.epfd = native.epollOpen(this.opened.fd);
    return native.epollWait(this.res.epfd, timeout) > 0 || this.available();
  }

  /**
   * Resolves true when the ring may have records, false when timeoutMs passed
   * or the ring was closed meanwhile; never blocks the event loop (a libuv
   * watcher on the map fd). Rejects with signal.reason when aborted.
   */
  async waitAsync(options: RingWaitOptions = {}): Promise<boolean> {
    this.assertOpen();
    this.publish();
    if (this.available()) return true;
    return (await this.fdReadiness().wait(options)) === 'readable';
  }

  /**
   * Reads every record, waiting on the event loop when the ring is empty:
   *
   *     for await (const r of ring.events({ signal })) total += r.view.getUint32(r.offset, true);
   *
   * Yields one reused RingRecord per record, valid until the loop moves on. A
   * record counts as consumed when the loop moves on or leaves (break, return,
   * throw), as with libbpf's callback. After reading for `sliceMs` it lets the
   * event loop run before carrying on, so timers and I/O on this thread keep
   * going while records stream in. Ends when the ring is closed; throws
   * signal.reason when aborted. One events() / onData() per ring at a time.
   */
  async *events(options: RingConsumeOptions = {}): AsyncGenerator<RingRecord, void, undefined> {
    const o = consumeOptions(options);
    this.beginConsumer('events()');
    const unwatch = watchAbort(o);
    try {
      const reader = this.ringReader;
      const record = this.newRecord(o.copy);
      let deadline = performance.now() + o.sliceMs;
      for (let n = 1; ; n++) {
        if (this.isClosed) return;
        if (o.aborted) throw o.signal?.reason;
        const length = o.copy ? this.copyNext(record) : reader.peek();
        if (length < 0) {
          await this.idle(length, o);
          deadline = performance.now() + o.sliceMs;
          continue;
        }
        if (!o.copy) {
          record.length = length;
          record.offset = reader.sampleOffset;
        }
        this.handedOut = !o.copy;
        try {
          yield record;
        } finally {
          this.finishRecord();
        }
        if ((n & 31) === 0 && performance.now() >= deadline) {
          this.publish();
          await nextTurn();
          deadline = performance.now() + o.sliceMs;
        }
      }
    } finally {
      unwatch();
      this.endConsumer();
    }
  }

  /** events() with default options: `for await (const record of ring)`. */
  [Symbol.asyncIterator](): AsyncGenerator<RingRecord, void, undefined> {
    return this.events();
  }

  /**
   * Calls `handler` for every record, synchronously and in order, in slices of
   * at most `sliceMs` between which the event loop runs; waits on the event
   * loop when the ring is empty. The record is the same reused object as
   * events() yields, valid only during the call. Faster than events() (no
   * promise per record). Resolves when the ring is closed; rejects with
   * signal.reason when aborted, or with the handler's error (that record
   * counts as consumed). Handlers start after onData() has returned.
   */
  async onData(handler: (record: RingRecord) => void, options: RingConsumeOptions = {}): Promise<void> {
    const o = consumeOptions(options);
    if (typeof handler !== 'function') throw new TypeError('onData: handler must be a function');
    this.beginConsumer('onData()');
    const unwatch = watchAbort(o);
    try {
      await null; // handlers never run inside the onData() call itself
      const record = this.newRecord(o.copy);
      for (;;) {
        if (this.isClosed) return;
        if (o.aborted) throw o.signal?.reason;
        const status = this.drainSlice(handler, record, o);
        if (status === MORE) {
          this.publish();
          await nextTurn();
        } else if (status !== STOPPED) {
          await this.idle(status, o);
        }
      }
    } finally {
      unwatch();
      this.endConsumer();
    }
  }

  /**
   * Releases the ring now: stops any waiting, publishes the reader's position
   * (so the next reader of a pinned ring starts after what this one consumed),
   * unmaps the ring and closes the fd if the Ring opened it (a { fd } stays
   * the caller's). Once the last fd and mapping are gone the kernel frees the
   * map, its id and its memory, unless a pin or a program still holds it.
   * Views taken earlier (memory, reader, bytes) stay safe to touch: they read
   * an empty ring of zeros. Pending events() loops end and onData() resolves.
   * A record being read when close() is called (from a loop body or a
   * handler) counts as consumed. Idempotent.
   */
  close(): void {
    if (this.isClosed) return;
    this.finishRecord(); // closed from inside a loop body or handler: that record was read
    this.publish();
    this.isClosed = true;
    unclosed.unregister(this);
    try {
      this.mapping.release();
    } finally {
      freeResources(this.res);
    }
  }

  /** Consumes the view-mode record the user's code had, once. */
  private finishRecord(): void {
    if (!this.handedOut) return;
    this.handedOut = false;
    this.ringReader.consume();
  }

  private assertOpen(): void {
    if (this.isClosed) throw new Error('ring is closed');
  }

  /**
   * Publishes the reader's position if it is ahead of the published one (and
   * never moves it back: someone else may have read further with their own
   * RingReader over `memory`).
   */
  private publish(): void {
    if (this.ringReader.position > Number(Atomics.load(this.consumerPos, 0))) this.ringReader.commit();
  }

  /** Whether the producer is ahead of the reader: a record (maybe still BUSY) is there. */
  private available(): boolean {
    return Number(Atomics.load(this.producerPos, 0)) !== this.ringReader.position;
  }

  private fdReadiness(): FdReadiness {
    this.res.readiness ??= new FdReadiness(this.opened.fd);
    return this.res.readiness;
  }

  /** After EMPTY: wait for a wake-up (or the fallback poll). After BUSY: let one loop turn pass and look again. */
  private async idle(status: number, o: ConsumeSettings): Promise<void> {
    // A BUSY record is reserved but not yet submitted: the kernel's poll
    // already reports the fd readable, so a wait would return at once.
    // Submission follows within the producer's program run.
    if (status === BUSY) return nextTurn();
    await this.fdReadiness().wait({ signal: o.signal, timeoutMs: o.fallbackPollMs, keepAlive: o.keepAlive });
  }

  private drainSlice(handler: (record: RingRecord) => void, record: RingRecord, o: ConsumeSettings): number {
    const reader = this.ringReader;
    const deadline = performance.now() + o.sliceMs;
    for (let n = 1; ; n++) {
      const length = o.copy ? this.copyNext(record) : reader.peek();
      if (length < 0) return length;
      if (!o.copy) {
        record.length = length;
        record.offset = reader.sampleOffset;
      }
      this.handedOut = !o.copy;
      try {
        handler(record);
      } finally {
        this.finishRecord();
      }
      if (this.isClosed || o.aborted) return STOPPED; // a flag: the AbortSignal.aborted getter cost as much as a whole record
      if ((n & 31) === 0 && performance.now() >= deadline) return MORE;
    }
  }

  /** Copy mode: the next sample into the record's own buffer (grown as needed), consumed. */
  private copyNext(record: RingRecord): number {
    const reader = this.ringReader;
    const length = reader.peek();
    if (length < 0) return length;
    if (length > record.bytes.length) {
      const buffer = new ArrayBuffer((length + 7) & ~7);
      record.bytes = new Uint8Array(buffer);
      record.words = new Int32Array(buffer);
      record.view = new DataView(buffer);
    }
    reader.readInto(record.bytes);
    record.length = length;
    return length;
  }

  private newRecord(copy: boolean): RingRecord {
    if (copy) return new RingRecord(new Uint8Array(0), new Int32Array(0), new DataView(new ArrayBuffer(0)));
    return new RingRecord(this.ringReader.bytes, this.ringReader.words, new DataView(this.mapping.producer));
  }

  private beginConsumer(what: string): void {
    this.assertOpen();
    if (this.consumer) throw new Error(`${what}: this ring is already being read by ${this.consumer}; one reader at a time`);
    this.consumer = what;
  }

  private endConsumer(): void {
    this.consumer = undefined;
    if (!this.isClosed) this.publish();
  }
}

interface ConsumeSettings {
  signal: AbortSignal | undefined;
  /** signal.aborted, kept up to date by watchAbort(). */
  aborted: boolean;
  copy: boolean;
  sliceMs: number;
  fallbackPollMs: number;
  keepAlive: boolean;
}

function consumeOptions(options: RingConsumeOptions): ConsumeSettings {
  const { signal, mode = 'view', sliceMs = 4, fallbackPollMs = 1000, keepAlive = true } = options;
  if (mode !== 'view' && mode !== 'copy') throw new RangeError(`mode must be 'view' or 'copy', not ${String(mode)}`);
  if (!(sliceMs > 0 && Number.isFinite(sliceMs))) throw new RangeError(`sliceMs must be a positive number of milliseconds, not ${sliceMs}`);
  if (!(fallbackPollMs > 0)) throw new RangeError(`fallbackPollMs must be a positive number of milliseconds or Infinity, not ${fallbackPollMs}`);
  return { signal, aborted: signal?.aborted ?? false, copy: mode === 'copy', sliceMs, fallbackPollMs, keepAlive };
}

/** Keeps o.aborted in step with o.signal; returns the function that stops doing so. */
function watchAbort(o: ConsumeSettings): () => void {
  const signal = o.signal;
  if (!signal || o.aborted) return () => {};
  const onAbort = (): void => void (o.aborted = true);
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

/** One turn of the event loop: timers, I/O and immediates queued before this one run first. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Opens a BPF ring buffer map for reading.
 *
 *  - `{ pinned: '/sys/fs/bpf/name' }`: BPF_OBJ_GET on a bpffs pin. Needs read
 *    and write permission on the pin file (the consumer position is written
 *    through a mapping); no capability on kernels since 6.5.
 *  - `{ mapId: 42 }`: BPF_MAP_GET_FD_BY_ID; needs CAP_SYS_ADMIN.
 *  - `{ fd }`: a map fd you already hold. It stays yours: close() does not
 *    close it, and you must not close it before close(). Note that waiting on
 *    the event loop sets O_NONBLOCK on it (harmless for a map fd).
 *
 * Checks the map is a BPF_MAP_TYPE_RINGBUF, takes its size from the kernel
 * (max_entries) and maps it. The reader starts at the consumer position the
 * kernel holds, i.e. after whatever earlier readers consumed. Throws an
 * OpenRingError with a one-line message (and `code`) when the source is
 * missing, is not a BPF map, is another map type, or cannot be opened.
 */
export function openRing(source: MapSource, options: OpenRingOptions = {}): Ring {
  const native = addon();
  const opened = openMapFd(source);
  try {
    const info = native.mapInfo(opened.fd);
    if (info.type !== BPF_MAP_TYPE_RINGBUF) {
      const hint = info.type === BPF_MAP_TYPE_USER_RINGBUF ? ' (user space produces into a user ring buffer; this reader consumes a BPF_MAP_TYPE_RINGBUF)' : '';
      throw new OpenRingError(`${opened.label} is a ${mapTypeName(info)} (map "${info.name}", id ${info.id}), not a BPF_MAP_TYPE_RINGBUF${hint}`, 'WRONG_MAP_TYPE');
    }
    if (info.maxEntries > MAX_RING_SIZE)
      throw new OpenRingError(
        `${opened.label} is a ${info.maxEntries / 2 ** 20} MiB ring; the largest this reader maps is ${MAX_RING_SIZE / 2 ** 20} MiB (one SharedArrayBuffer holds a page + 2 x size, at most 4 GiB)`,
        'RING_TOO_LARGE',
      );
    const mapping = new native.RingMapping(opened.fd, info.maxEntries, options.populate ?? false);
    return new Ring({ opened, info, mapping, options });
  } catch (err) {
    if (opened.owned) native.closeFd(opened.fd);
    throw err;
  }
}
