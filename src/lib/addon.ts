/**
 * Typed face of the native addon (native/src). The addon is thin: it loads the
 * BPF object, runs it, maps the ring and waits on it. Everything that knows the
 * record format lives in TypeScript (ring-layout.ts) or, for the native
 * reference consumer, in native/src/native_consumer.cc.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BUSY_BIT, DISCARD_BIT, RECORD_HEADER_SIZE } from './ring-layout.js';

export interface BpfObjectOptions {
  /** Whole sample in bytes, event header included. */
  eventSize: number;
  /** Ring size in bytes: a power of two and a multiple of the page size. */
  ringSize: number;
  /** bpf_ringbuf_submit() flags: 0, BPF_RB_NO_WAKEUP (1) or BPF_RB_FORCE_WAKEUP (2). */
  submitFlags?: number;
  /** Discard every K-th event instead of submitting it (0: never). For tests of the discard bit. */
  discardEvery?: number;
}

export interface BpfObject {
  readonly progFd: number;
  readonly ringFd: number;
  readonly stateFd: number;
  /** Closes the program and maps now; existing ring mappings stay valid until unmapped. */
  close(): void;
}

export interface RingMapping {
  /** One page, read-write: the consumer position (u64 at offset 0). */
  consumer: SharedArrayBuffer;
  /** Read-only: the producer position page, then the data area mapped twice. */
  producer: SharedArrayBuffer;
  pageSize: number;
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
  perProducer: ArrayLike<number>;
  expectedSeq: ArrayLike<number>;
  anomalies: number;
  firstAnomaly?: string;
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
  /** Resets checksum and counters; startSeq: each producer's next sequence number. */
  begin(startSeq: ArrayLike<number>): void;
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

export interface Addon {
  /** touch: src/shared/event.ts Touch; recordLatency: the pipeline's latency recording, maxSampleLength then being the event size. */
  NativeConsumer: new (ringFd: number, maxSampleLength: number, variant: NativeVariant, touch: 'field' | 'all', recordLatency?: boolean) => NativeConsumer;
  BpfObject: new (objectPath: string, options: BpfObjectOptions) => BpfObject;
  readState(stateFd: number): ProducerState;
  /** Zeroes the per-producer counters; call only while no producer runs. */
  resetState(stateFd: number): void;
  maxProducers: number;
  /** The native latency recorder's bucket index of each value (native/src/latency_sink.h), for the test that checks it against LatencyBuckets. */
  latencyCountsIndex(values: Float64Array): Float64Array;
  /** Constants compiled in from the C headers (native/src/addon.cc Contract), checked against TypeScript's at load. */
  contract: Record<string, number>;
  mapRing(ringFd: number, ringSize: number, populate: boolean): RingMapping;
  testRun(progFd: number, packet: Uint8Array, repeat: number): { retval: number; durationNs: number };
  epollOpen(ringFd: number): number;
  epollWait(epfd: number, timeoutMs: number): number;
  closeFd(fd: number): void;
  setAffinity(cpu: number): void;
  pageSize(): number;
  /**
   * The process's SIGINT/SIGTERM words (int32: count, last signal, grace ms); with graceMs, installs
   * the native handlers once (main thread). See native/src/signals.cc and src/cli/interrupt.ts.
   */
  interruptFlags(graceMs?: number): SharedArrayBuffer;
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
