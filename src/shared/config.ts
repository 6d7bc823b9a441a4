/**
 * What each runner needs to know, and nothing more: the runners
 * (src/runners) take these configs and a StopSignal; the CLI (src/cli) builds
 * them from flags, sweep and stress build them from their own plans.
 */
import { onlineCpus } from '../lib/perf-layout.js';
import type { SubmitMode, SyscallHook, Trigger } from '../lib/addon.js';
import type { Touch } from './event.js';
import { readsBuffer, type ModeName } from './types.js';

export const POLL_CHOICES = ['spin', 'epoll'] as const;
/** How the pipeline's consumer waits for data: re-read at once, or epoll_wait for at most the read timeout. */
export type PollStrategy = (typeof POLL_CHOICES)[number];

/** The fixed wake-up modes; `threshold:BYTES` (sampled wake-ups) is the other kind. */
export const WAKEUP_CHOICES = ['adaptive', 'none', 'force'] as const;
/**
 * When the consumer is woken. Ring buffer: the program's bpf_ringbuf_submit()
 * flag - adaptive (0: the kernel wakes a waiting consumer when it has caught
 * up), none (BPF_RB_NO_WAKEUP), force (BPF_RB_FORCE_WAKEUP, every event) - or
 * `threshold:BYTES`, sampled as the kernel's ringbuf bench does: force a
 * wake-up once bpf_ringbuf_query(BPF_RB_AVAIL_DATA) >= BYTES, else none.
 * Perf buffer: the perf event's wakeup_events / wakeup_watermark
 * (sessionOptionsFor in session.ts).
 */
export type WakeupMode = (typeof WAKEUP_CHOICES)[number] | `threshold:${number}`;
/** bpf_ringbuf_submit() flags for each fixed wake-up mode (BPF_RB_NO_WAKEUP = 1, BPF_RB_FORCE_WAKEUP = 2). */
export const SUBMIT_FLAGS: Record<(typeof WAKEUP_CHOICES)[number], number> = { adaptive: 0, none: 1, force: 2 };

/** The sampled wake-up's threshold in bytes, or undefined for the fixed modes. */
export function wakeupThreshold(mode: WakeupMode): number | undefined {
  return mode.startsWith('threshold:') ? Number(mode.slice('threshold:'.length)) : undefined;
}

/** What runs the BPF program (src/shared/trigger.ts): BPF_PROG_TEST_RUN, or producer threads making a syscall at whose entry it is attached. */
export const TRIGGER_CHOICES: readonly Trigger[] = ['test-run', 'syscall'];
/** How an event enters the ring buffer: bpf_ringbuf_reserve() + submit, or bpf_ringbuf_output() from the program's stack. */
export const SUBMIT_CHOICES: readonly SubmitMode[] = ['reserve', 'output'];

/** The loaded program and ring every pattern needs. */
export interface RingConfig {
  /** Whole sample in bytes, event header included. */
  eventSize: number;
  /** Ring size in bytes: a power of two, a multiple of the page size. */
  ringSize: number;
  /** Publish the consumer position every `batch` records; the JavaScript modes read runs of `batch` records when it is above 1. */
  batch: number;
  /** How much of each sample every consumer reads (src/shared/event.ts Touch). */
  touch: Touch;
  /**
   * The perf buffer modes: each CPU's perf ring (its data area) in bytes, a
   * power of two and a multiple of the page size. Default: perfRingSizeFor().
   */
  perfRingSize?: number;
  /** What runs the program; default test-run. */
  trigger?: Trigger;
  /** Syscall trigger: the hooks to try, in order (default: every one, SYSCALL_HOOKS). Not a flag: tests pick one. */
  hooks?: SyscallHook[];
  /** Ring buffer: reserve + submit (default) or bpf_ringbuf_output(). */
  submit?: SubmitMode;
}

/** Smallest and largest --perf-ring-size: a page, and what one ring's SharedArrayBuffer (metadata page + data) allows with room to spare. */
export const MIN_PERF_RING_SIZE = 4096;
export const MAX_PERF_RING_SIZE = 1024 ** 3;

/**
 * Each CPU's perf ring: --perf-ring-size, or by default as much memory in all
 * as the ring buffer's (--ring-size over the online CPUs, rounded down to a
 * power of two, at least a page). The perf buffer has a ring per CPU, so
 * giving each CPU --ring-size would multiply the memory by the CPU count (64
 * GiB on a 128-CPU machine with the default 512 MiB).
 */
export function perfRingSizeFor(config: Pick<RingConfig, 'ringSize' | 'perfRingSize'>, cpus = onlineCpus().length): number {
  if (config.perfRingSize !== undefined) return config.perfRingSize;
  const share = Math.floor(config.ringSize / Math.max(1, cpus));
  return Math.max(MIN_PERF_RING_SIZE, 2 ** Math.floor(Math.log2(Math.max(1, share))));
}

/** Each CPU's perf ring as a run of these modes uses it (perfRingSizeFor), or undefined when no mode reads the perf buffer. */
export function perfRingsInUse(config: Pick<RingConfig, 'ringSize' | 'perfRingSize'> & { modes: readonly ModeName[] }): number | undefined {
  return readsBuffer(config.modes, 'perfbuf') ? perfRingSizeFor(config) : undefined;
}

/** The prefill pattern: fill the ring with `events`, then time one mode draining it, round after round. */
export interface PrefillConfig extends RingConfig {
  events: number;
  /** perfRingSize is the default raised so that `events` fit one CPU's perf ring (the header says so). */
  perfRingSizeRaised?: boolean;
  modes: ModeName[];
  /** Measured rounds; each round runs every mode once, interleaved. */
  runs: number;
  /** Unmeasured rounds first. */
  warmup: number;
}

/** The concurrent pipeline: producer threads and one consumer thread at the same time. */
export interface PipelineConfig extends RingConfig {
  modes: ModeName[];
  /** Measured rounds; each round runs every mode once, interleaved, as the prefill does. */
  runs: number;
  /** Unmeasured rounds first. */
  warmup: number;
  producers: number;
  /** Events per BPF_PROG_TEST_RUN. */
  chunk: number;
  /** Total events over all producers; undefined: until durationMs ends. */
  events: number | undefined;
  durationMs: number | undefined;
  /** durationMs is the default (neither -n nor --duration was given), which the report says. */
  durationIsDefault?: boolean;
  /** Total events per second over all producers, paced open-loop; undefined: flat out. */
  rate: number | undefined;
  poll: PollStrategy;
  wakeup: WakeupMode;
  /** Longest single wait for data, ms. */
  readTimeoutMs: number;
  consumerCpu: number | undefined;
  producerCpus: number[] | undefined;
  /** Render each run's latency distribution as .hgrm text (PipelineRun.hgrm); it takes a while for long runs, so only when asked. */
  histogram?: boolean;
  /**
   * --report-interval: sample produced, consumed and dropped events every
   * this many ms of each run (PipelineModeResult.intervals); undefined: no
   * per-interval report.
   */
  reportIntervalMs?: number;
}

/** Stress: short verified steps cycling sizes, modes, rings, batches, wake-ups and pacing for durationMs. */
export interface StressConfig {
  durationMs: number;
  producers: number;
  chunk: number;
  readTimeoutMs: number;
  consumerCpu: number | undefined;
  producerCpus: number[] | undefined;
}
