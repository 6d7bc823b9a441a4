/**
 * Typed face of the native addon (native/src). The addon is thin: it loads the
 * BPF object, runs it, maps the ring and waits on it. Everything that knows the
 * record format lives in TypeScript (ring-layout.ts, perf-layout.ts) or, for
 * the native reference consumers, in native/src (native_consumer.cc,
 * native_perf_consumer.cc).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BUSY_BIT, DISCARD_BIT, RECORD_HEADER_SIZE } from './ring-layout.js';
import { PERF_LAYOUT_CONTRACT } from './perf-layout.js';

/** Which BPF buffer the program writes to. */
export type BufferKind = 'ringbuf' | 'perfbuf';
/** How an event enters the ring buffer: reserve + submit in place, or bpf_ringbuf_output() from the BPF stack. */
export type SubmitMode = 'reserve' | 'output';
/** What runs the program: BPF_PROG_TEST_RUN of the tc program, or a hook at the entry of the trigger syscall (getpgid). */
export type Trigger = 'test-run' | 'syscall';
/** The syscall trigger's hooks, in the order the addon tries them by default. */
export const SYSCALL_HOOKS = ['fentry', 'tp_btf', 'raw_tp'] as const;
export type SyscallHook = (typeof SYSCALL_HOOKS)[number];

export interface BpfObjectOptions {
  /** Whole sample in bytes, event header included. */
  eventSize: number;
  /** Ring size in bytes: a power of two and a multiple of the page size. Unused with buffer 'perfbuf' (the ring map is kept at one page). */
  ringSize: number;
  /** bpf_ringbuf_submit() flags: 0, BPF_RB_NO_WAKEUP (1) or BPF_RB_FORCE_WAKEUP (2). Ring buffer only. */
  submitFlags?: number;
  /** Discard every K-th event instead of submitting it (0: never). For tests of the discard bit; ring buffer with reserve only. */
  discardEvery?: number;
  /** Default 'ringbuf'. With 'perfbuf', wake-ups are set on the PerfBuffer instead (PerfBufferOptions). */
  buffer?: BufferKind;
  /** Default 'reserve'. 'output' allows events up to OUTPUT_MAX_EVENT_SIZE (src/shared/event.ts). Ring buffer only. */
  submit?: SubmitMode;
  /**
   * Sampled wake-ups (ring buffer): submit with BPF_RB_FORCE_WAKEUP once at least this many bytes wait
   * (bpf_ringbuf_query(BPF_RB_AVAIL_DATA)), else BPF_RB_NO_WAKEUP. Replaces submitFlags. 0/undefined: off.
   */
  wakeupThreshold?: number;
  /** Default 'test-run'. */
  trigger?: Trigger;
  /** Syscall trigger: the hooks to try, in order (default SYSCALL_HOOKS). The first that loads and attaches is kept. */
  hooks?: SyscallHook[];
}

export interface BpfObject {
  /** The loaded program: the tc program (test-run) or the attached syscall hook's. */
  readonly progFd: number;
  readonly ringFd: number;
  readonly stateFd: number;
  /** The BPF_MAP_TYPE_PERF_EVENT_ARRAY: key = cpu, value = that CPU's perf event fd (set by PerfBuffer). */
  readonly perfMapFd: number;
  /** Syscall trigger: tid -> producer id (registerSyscallProducer). */
  readonly producerThreadsFd: number;
  /** Per producer: payload template (syscall trigger) and perf buffer scratch. */
  readonly producerEventsFd: number;
  /** What runs the program: "test-run (tc, BPF_PROG_TEST_RUN)", or the attached hook, e.g. "tp_btf/sys_enter". */
  readonly hook: string;
  /** Syscall trigger: each hook tried before the attached one, with why it failed ("fentry/__x64_sys_getpgid: bpf_object__load: ... (EPERM)"). */
  readonly hookFailures: string[];
  /** Detaches the hook and closes the program and maps now; existing mappings stay valid until unmapped. */
  close(): void;
}

/**
 * When none of the syscall hooks works, the BpfObject constructor throws an Error with `code` (EPERM when
 * every hook was refused for privileges) and, per hook tried, one of these.
 */
export interface HookFailure {
  hook: string;
  /** The step that failed: bpf_object__load, bpf_program__attach, ... */
  syscall: string;
  errno: number;
  code?: string;
  /** "<hook>: <step>: <strerror> (<code>)" */
  message: string;
  libbpfLog?: string;
}

/** One ring's two mappings (native/src/ring_mapping.cc). */
export interface RingMapping {
  /** One page, read-write: the consumer position (u64 at offset 0). */
  readonly consumer: SharedArrayBuffer;
  /** Read-only: the producer position page, then the data area mapped twice. */
  readonly producer: SharedArrayBuffer;
  readonly pageSize: number;
  /**
   * Unmaps the ring now instead of when the buffers are collected: both ranges
   * become anonymous memory at the same addresses, so the BPF map is no longer
   * referenced, while views still held read a frozen, empty ring (positions
   * equal to the last consumer position, data all zeros) instead of crashing.
   * Idempotent.
   */
  release(): void;
  /** True once release() ran (or both buffers were collected). */
  readonly released: boolean;
}

/** The kernel's description of a map (bpf_obj_get_info_by_fd, struct bpf_map_info). */
export interface NativeMapInfo {
  /** enum bpf_map_type, e.g. 27 = BPF_MAP_TYPE_RINGBUF. */
  type: number;
  /** libbpf's name for the type ("ringbuf", "array", ...), or the number for types libbpf does not know. */
  typeName: string;
  id: number;
  name: string;
  maxEntries: number;
  keySize: number;
  valueSize: number;
  mapFlags: number;
}

/** Readiness of an fd on this thread's libuv loop (native/src/fd_watcher.cc); level-triggered. */
export interface FdWatcher {
  /** Calls the callback on every loop turn while the fd is readable. Idempotent. */
  start(): void;
  /** Idempotent. A stopped watcher never keeps the process alive. */
  stop(): void;
  /** Stops and frees the libuv handle; the fd stays open. Idempotent; later start/stop throw. */
  close(): void;
  /** Whether a started watcher keeps the process alive (the default) or not. */
  ref(): void;
  unref(): void;
  readonly active: boolean;
}

export interface ProducerState {
  nextSeq: number[];
  drops: number[];
  discards: number[];
}

/** What a drain saw: events, checksum and per-producer sequence accounting (EventSink's fields). */
export interface NativeDrainResult {
  events: number;
  checksum: string;
  /** Per producer: events consumed. */
  perProducer: ArrayLike<number>;
  /** Per producer: the sequence number after the last one consumed. */
  expectedSeq: ArrayLike<number>;
  /** Events that arrived out of order, repeated, or from an unknown producer. */
  anomalies: number;
  firstAnomaly?: string;
}

/** What a native perf buffer drain saw: NativeDrainResult plus the kernel's lost-sample records. */
export interface NativePerfDrainResult extends NativeDrainResult {
  /** Samples the kernel could not write (sum of PERF_RECORD_LOST counts): the program counted each as a drop. */
  lost: number;
  lostRecords: number;
  /** Records of any other type (none expected from a PERF_COUNT_SW_BPF_OUTPUT event). */
  otherRecords: number;
}

/** What the native consumer's pipeline variant recorded (native/src/latency_sink.h, the twin of LatencySink). */
export interface NativeLatency {
  /** Per-bucket counts, indexed as LatencyBuckets indexes them. */
  counts: Float64Array;
  total: number;
  min: number;
  max: number;
  /** Sums (mod 2^32, as int32) of every event's sequence low half and of its producer << 16 | high half. */
  seqLowSum: number;
  seqHighSum: number;
  wrongLength: number;
  /** CLOCK_MONOTONIC ns at the last batch that held events. */
  lastEventNs: number;
}

/**
 * How a native consumer reads each sample: in place where libbpf hands it
 * over, memcpy()ed into a reused buffer first, or handed to a JavaScript
 * function as a copied Buffer through N-API (the usual Node binding).
 */
export type NativeVariant = 'in-place' | 'copy' | 'callback';

/** The native reference consumer (native/src/native_consumer.cc): libbpf's ring_buffer__consume. */
export interface NativeConsumer {
  /**
   * Resets checksum and counters; startSeq: each producer's next sequence number. `progress` (a consumer
   * made with recordLatency only): an Int32Array over a SharedArrayBuffer where every clock reading
   * publishes the events handled so far, mod 2^32 (LatencySink.progress).
   */
  begin(startSeq: ArrayLike<number>, progress?: Int32Array): void;
  /**
   * Drains until the ring is empty (returns EMPTY) or the next record is busy
   * (BUSY). The callback variant calls onSample once per event with a fresh
   * copy of the sample; an exception it throws ends the drain and is rethrown.
   */
  consume(onSample?: (sample: Uint8Array) => void): number;
  /** Events seen since begin(). */
  eventCount(): number;
  result(): NativeDrainResult;
  /** Only for a consumer made with recordLatency. */
  latency(): NativeLatency;
  /** Frees libbpf's ring_buffer and its mappings now. */
  close(): void;
}

/**
 * Perf buffer wake-ups (perf_event_attr), what makes a ring's fd readable. `events: N`: one wake-up per
 * N samples (wakeup_events; libbpf's default is 1). `bytes: B`: one per B more bytes written to that
 * CPU's ring (watermark + wakeup_watermark), the analogue of the ring buffer's wakeupThreshold.
 */
export type PerfWakeup = { events: number } | { bytes: number };

export interface PerfBufferOptions {
  /** Data pages per CPU ring: a power of two. Each ring is one metadata page plus these. */
  pagesPerCpu: number;
  /** One wake-up per N samples (default 1). */
  wakeupEvents?: number;
  /** One wake-up per B more bytes written (attr.watermark); give this or wakeupEvents. */
  wakeupBytes?: number;
  /** Pre-fault JavaScript's mappings (MADV_POPULATE_READ, stopping early once SIGINT/SIGTERM arrives). */
  populate?: boolean;
}

/** One CPU's perf ring as JavaScript sees it: the metadata page and the data area, read-write. */
export interface PerfRingMapping {
  cpu: number;
  /** The perf event's fd (in the program's perf map at key `cpu`); closed by PerfBuffer.close(). */
  fd: number;
  buffer: SharedArrayBuffer;
}

/**
 * The perf buffer (native/src/perf_buffer.cc): one PERF_COUNT_SW_BPF_OUTPUT event and ring per online
 * CPU, created by libbpf's perf_buffer__new_raw() and put in the program's perf map; each ring also
 * mapped for JavaScript. The JavaScript readers and NativePerfConsumer read the same rings and take
 * turns through data_tail.
 */
export interface PerfBuffer {
  readonly rings: PerfRingMapping[];
  /** An epoll fd over every ring's fd (EPOLLIN on a wake-up), owned by this object: do not close it. */
  readonly epollFd: number;
  /**
   * A number a NativePerfConsumer on any thread can be made with, reading these rings (a worker
   * thread gets numbers, not this object); it no longer works once this PerfBuffer is closed.
   */
  readonly shareId: number;
  /** Clears the perf map, closes the events and libbpf's mappings, and lets go of `rings` (then []); JavaScript's mappings stay valid until collected. */
  close(): void;
}

/** The perf buffer's native reference consumer (native/src/native_perf_consumer.cc): libbpf's perf_buffer__consume. */
export interface NativePerfConsumer {
  /**
   * Resets checksum and counters; startSeq: each producer's next sequence
   * number. progress (recordLatency only): where the events handled so far
   * are published at every clock reading, as NativeConsumer's.
   */
  begin(startSeq: ArrayLike<number>, progress?: Int32Array): void;
  /** Drains every CPU's ring up to its data_head; returns EMPTY (the perf buffer has no busy records), or CUT. */
  consume(): number;
  /** Events seen since begin(), over every CPU. */
  eventCount(): number;
  result(): NativePerfDrainResult;
  /** Only for a consumer made with recordLatency. */
  latency(): NativeLatency;
  /** Lets go of the PerfBuffer. */
  close(): void;
}

export interface Addon {
  /** touch: src/shared/event.ts Touch; recordLatency: the pipeline's latency recording, maxSampleLength then being the event size. */
  NativeConsumer: new (ringFd: number, maxSampleLength: number, variant: NativeVariant, touch: 'field' | 'all', recordLatency?: boolean) => NativeConsumer;
  PerfBuffer: new (perfMapFd: number, options: PerfBufferOptions) => PerfBuffer;
  /**
   * perf: the PerfBuffer, or its shareId (from another thread); sampleLength: the events' own length (a sample's raw size is
   * padded); copy: memcpy each sample first; touch and recordLatency as NativeConsumer's.
   */
  NativePerfConsumer: new (perf: PerfBuffer | number, sampleLength: number, copy: boolean, touch: 'field' | 'all', recordLatency?: boolean) => NativePerfConsumer;
  /**
   * Syscall trigger: makes the calling thread producer `producer` (its tid in producer_threads) and
   * writes its payload template from `packet` (buildPacket()). Returns the tid.
   */
  registerSyscallProducer(producerThreadsFd: number, producerEventsFd: number, producer: number, packet: Uint8Array): number;
  /** The calling thread's syscalls make no more events. */
  unregisterSyscallProducer(producerThreadsFd: number): void;
  /**
   * Makes the trigger syscall (getpgid) up to n times on the calling thread, in a native loop, and
   * returns how many calls it made: n, or fewer when it stopped early. Every 256 calls it stops if the
   * process has received SIGINT/SIGTERM, if `stop[0]` (a word of a SharedArrayBuffer, e.g. the
   * control block's STOP) is non-zero, or if CLOCK_MONOTONIC has reached `deadlineNs`
   * (process.hrtime's clock); a signal cannot end a getpgid loop by itself.
   */
  syscallLoop(n: number, stop?: Int32Array, deadlineNs?: number): number;
  /** The calling thread's id (gettid()). */
  gettid(): number;
  BpfObject: new (objectPath: string, options: BpfObjectOptions) => BpfObject;
  readState(stateFd: number): ProducerState;
  /** Zeroes the per-producer counters; call only while no producer runs. */
  resetState(stateFd: number): void;
  maxProducers: number;
  /** The native latency recorder's bucket index of each value (native/src/latency_sink.h), for the test that checks it against LatencyBuckets. */
  latencyCountsIndex(values: Float64Array): Float64Array;
  /** Constants compiled in from the C headers (native/src/addon.cc Contract), checked against TypeScript's at load. */
  contract: Record<string, number>;
  /** mmap()s a ring map; populate pre-faults every page (MADV_POPULATE_READ, stopping early once SIGINT/SIGTERM arrives). */
  RingMapping: new (ringFd: number, ringSize: number, populate: boolean) => RingMapping;
  /** BPF_OBJ_GET: an fd (close-on-exec) for the object pinned at a bpffs path; any kind of object. */
  mapOpenPinned(path: string): number;
  /** BPF_MAP_GET_FD_BY_ID: an fd (close-on-exec) for a map id; the kernel requires CAP_SYS_ADMIN. */
  mapOpenById(mapId: number): number;
  /** bpf_obj_get_info_by_fd; the fd must be a map's. */
  mapInfo(fd: number): NativeMapInfo;
  /** BPF_OBJ_PIN: pins the object behind fd at a bpffs path. */
  objectPin(fd: number, path: string): void;
  /** callback(error, events) runs on this thread's event loop; error set when libuv reports POLLERR (the watcher is then stopped). */
  FdWatcher: new (fd: number, callback: (error: Error | null, events: number) => void) => FdWatcher;
  testRun(progFd: number, packet: Uint8Array, repeat: number): { retval: number; durationNs: number };
  /** An epoll set holding the ring fd, which epollWait reports as tag 1 (src/lib/waker.ts RING_TAG). */
  epollOpen(ringFd: number): number;
  /** Adds fd (a waker) to the set, edge-triggered: epollWait reports `tag` (a bit, 2 .. 2^30) once per wake-up. */
  epollAdd(epfd: number, fd: number, tag: number): void;
  /** Waits at most timeoutMs; returns the OR of the ready fds' tags (the ring's is 1): 0 when it timed out or a signal arrived. */
  epollWait(epfd: number, timeoutMs: number): number;
  /** An eventfd that wake() makes every epoll set holding it return, from any thread (native/src/waker.cc). */
  wakerOpen(): number;
  wake(fd: number): void;
  closeFd(fd: number): void;
  setAffinity(cpu: number): void;
  pageSize(): number;
  /**
   * The process's SIGINT/SIGTERM words (int32: count, last signal, grace ms, stop waker fd, wind-down
   * ms, cut); with graceMs, installs the native handlers once (main thread). See
   * native/src/signals.cc and src/cli/interrupt.ts.
   */
  interruptFlags(graceMs?: number, windDownMs?: number): SharedArrayBuffer;
  /** Runs fn; false if an interrupted run's wind-down budget ran out and fn was terminated (its work is partial). */
  runInterruptibly(fn: () => void): boolean;
  /** The calling thread's kernel id, for interruptThreads. */
  threadId(): number;
  /** Ends the test run (BPF_PROG_TEST_RUN returns EINTR) each of these threads of this process is in. */
  interruptThreads(tids: ArrayLike<number>): void;
}

/**
 * The package's root: the nearest folder above this file holding our
 * package.json. The compiled code runs from dist/lib (the product), from
 * build/src/lib (tests and bench drivers, compiled from the same sources) or
 * from node_modules/<package>/dist/lib once installed.
 */
export const repoRoot = findPackageRoot(__dirname);

export const bpfObjectPath = path.join(repoRoot, 'bpf', 'ringbuf_bench.bpf.o');

let loaded: Addon | undefined;

/** Loads the addon on first use, so argument parsing never needs it. */
export function addon(): Addon {
  if (!loaded) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const native = require(path.join(repoRoot, 'native', 'build', 'Release', 'ringbuf_bench.node')) as Addon;
    checkContract(native, 'the ring layout (src/lib/ring-layout.ts)', {
      ringbufHeaderSize: RECORD_HEADER_SIZE,
      ringbufBusyBit: BUSY_BIT >>> 0,
      ringbufDiscardBit: DISCARD_BIT,
    });
    checkContract(native, 'the perf ring layout (src/lib/perf-layout.ts)', PERF_LAYOUT_CONTRACT);
    loaded = native;
  }
  return loaded;
}

/**
 * Fails loudly when a constant TypeScript relies on differs from the one the C
 * headers compiled into the addon: a stale build or a header edited on one side
 * only would otherwise misread every record.
 */
export function checkContract(native: Pick<Addon, 'contract'>, what: string, expected: Record<string, number>): void {
  for (const [name, value] of Object.entries(expected)) {
    const actual = native.contract[name];
    if (actual !== value)
      throw new Error(`${what} disagrees with the C headers built into the addon: ${name} is ${value} in TypeScript but ${actual} in C; rebuild (npm run build) or fix the header`);
  }
}

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'bpf-ringbuf-bench') return dir;
    } catch {
      // no package.json here: keep going up
    }
    if (path.dirname(dir) === dir) throw new Error(`bpf-ringbuf-bench: no package.json above ${from}`);
  }
}
