/**
 * Stress mode (--stress --duration D --producers N): for D, run short steps
 * one after another, each on a freshly loaded program and ring, cycling
 *   event sizes   16 B .. 3072 B, odd sizes included (partial checksum words)
 *   modes         copy, view, native and their perf buffer twins (perf-copy, perf-view,
 *                 perf-native) in the pipeline; all nine in prefill steps (both buffers,
 *                 native-copy, perf-native-copy and callback too)
 *   touch         field and all (the per-event work)
 *   wake-ups      adaptive, none, force, sampled (threshold: an eighth of the
 *                 ring); waiting by epoll, sometimes spin
 *   triggers      test runs, and the syscall trigger (producer threads making
 *                 getpgid() at an attached hook), prefill fills included
 *   submit        reserve + submit, and bpf_ringbuf_output() where the event
 *                 fits the program's stack
 *   rings         16 KiB (overflow guaranteed) .. 64 MiB; the perf buffer's rings
 *                 get the same size per CPU
 *   batches       1, 8, 64 records per published position
 *   pacing        flat out, or a paced rate that leaves the consumer idle (its waits watched)
 * and verify every step exactly as a normal run does: sequences, drops against
 * the program's counters, checksums, the epoll stall watchdog. Between steps a
 * full GC unmaps the closed rings; the status line shows RSS and how many ring
 * mappings (ring buffer and perf rings) are alive, and the run fails if any
 * survives the final GC. A perf step's drops must also agree with the kernel's
 * lost-sample records (verifyLost, in the runners).
 *
 * Every `statusEveryMs` a status line; at the end a summary: events consumed,
 * dropped, produced, failures. Any failure (or a step that throws) makes the
 * exit code 1. Ctrl-C ends it after the current step, marked interrupted.
 */
import * as fs from 'node:fs';
import type { PipelineConfig, PollStrategy, StressConfig, WakeupMode } from '../shared/config.js';
import type { SubmitMode, Trigger } from '../lib/addon.js';
import { OUTPUT_MAX_EVENT_SIZE } from '../shared/event.js';
import { collectGarbage } from '../shared/gc.js';
import { recordSize, recordsThatFit } from '../lib/ring-layout.js';
import { perfRecordsThatFit } from '../lib/perf-layout.js';
import { checksumDisagreement } from '../shared/results.js';
import { NEVER_STOP, type StopSignal } from '../shared/stop.js';
import { readsBuffer, PERFBUF_MODES, RINGBUF_MODES, type ModeName } from '../shared/types.js';
import { formatClock, human } from '../shared/units.js';
import { runPipeline } from './pipeline.js';
import { runPrefill } from './prefill.js';
import { PIPELINE_MODES } from '../consumer/consumer-task.js';
import { TOUCH_CHOICES, type Touch } from '../shared/event.js';

export const STRESS_SIZES = [16, 17, 64, 100, 128, 255, 256, 1000, 2048, 3072] as const;
const RINGS = [16 * 1024, 1024 ** 2, 16 * 1024 ** 2, 64 * 1024 ** 2] as const;
export const STRESS_MAX_RING = Math.max(...RINGS);
const BATCHES = [1, 8, 64] as const;
/** 'threshold' stands for a sampled wake-up at an eighth of the step's ring (stressWakeup). */
const WAKEUPS = ['adaptive', 'none', 'force', 'threshold'] as const;
/** The triggers the cycle runs (bench.ts asks for the privileges of both before a stress run). */
export const STRESS_TRIGGERS: readonly Trigger[] = ['test-run', 'syscall'];
const PREFILL_MODES: ModeName[] = [...RINGBUF_MODES, ...PERFBUF_MODES];
/** Every PREFILL_EVERY-th step is a prefill (all nine modes, identical events, checksums compared across both buffers). */
const PREFILL_EVERY = 7;

export interface StressStep {
  index: number;
  pattern: 'pipeline' | 'prefill';
  eventSize: number;
  ringSize: number;
  batch: number;
  touch: Touch;
  modes: ModeName[];
  wakeup: WakeupMode;
  poll: PollStrategy;
  trigger: Trigger;
  submit: SubmitMode;
  /** Total events/s over the producers; undefined: flat out. */
  rate: number | undefined;
}

/**
 * Step i of the cycle. Sizes advance every step; the mode and the ring shift
 * once per pass over the sizes (their list lengths share factors with it, so
 * plain i % n would pair each size with one mode and half the rings); the
 * touch level flips every step and skips a beat every fourth, so every size
 * and mode meets both.
 */
export function stressStep(index: number): StressStep {
  const eventSize = STRESS_SIZES[index % STRESS_SIZES.length];
  const ringSize = RINGS[(index + Math.floor(index / STRESS_SIZES.length)) % RINGS.length];
  const prefill = index % PREFILL_EVERY === PREFILL_EVERY - 1;
  const modes = prefill ? PREFILL_MODES : [PIPELINE_MODES[(index + Math.floor(index / STRESS_SIZES.length)) % PIPELINE_MODES.length]];
  return {
    index,
    pattern: prefill ? 'prefill' : 'pipeline',
    eventSize,
    ringSize,
    batch: BATCHES[index % BATCHES.length],
    touch: TOUCH_CHOICES[(index + Math.floor(index / 4)) % TOUCH_CHOICES.length],
    modes,
    wakeup: stressWakeup(WAKEUPS[Math.floor(index / 2) % WAKEUPS.length], ringSize, eventSize),
    poll: index % 5 === 4 ? 'spin' : 'epoll',
    // Flips every step, and its pairing with the sizes flips every pass over them.
    trigger: STRESS_TRIGGERS[(index + Math.floor(index / STRESS_SIZES.length)) % STRESS_TRIGGERS.length],
    // Output where the event fits the program's stack, half of the time (a three-step beat, against the
    // trigger's two), and only where a ring buffer mode runs (the perf buffer's program always outputs).
    submit: eventSize <= OUTPUT_MAX_EVENT_SIZE && Math.floor(index / 3) % 2 === 1 && readsBuffer(modes, 'ringbuf') ? 'output' : 'reserve',
    // Every third step paced well below what a consumer drains, so it really waits in epoll.
    rate: index % 3 === 2 ? 300_000 : undefined,
  };
}

/** A sampled wake-up at an eighth of the ring (at least one record, so it is a threshold the CLI would take too). */
function stressWakeup(wakeup: (typeof WAKEUPS)[number], ringSize: number, eventSize: number): WakeupMode {
  if (wakeup !== 'threshold') return wakeup;
  return `threshold:${Math.max(recordSize(eventSize), ringSize / 8)}`;
}

export function describeStep(s: StressStep): string {
  const base = `#${s.index} ${s.pattern} ${s.modes.join('+')} ${s.eventSize} B ring ${human(s.ringSize)} batch ${s.batch} touch ${s.touch} ${s.trigger}${s.submit === 'output' ? ' output' : ''}`;
  if (s.pattern === 'prefill') return base;
  return `${base} ${s.poll}/${s.wakeup} ${s.rate === undefined ? 'flat out' : `${s.rate / 1000}k/s`}`;
}

/** What a step sets in either pattern's config: one run of its modes, its sizes (perf rings as large as the ring), trigger and submit mode. */
function stepConfig(step: StressStep) {
  return {
    modes: step.modes,
    eventSize: step.eventSize,
    ringSize: step.ringSize,
    perfRingSize: step.ringSize,
    batch: step.batch,
    touch: step.touch,
    runs: 1,
    warmup: 0,
    trigger: step.trigger,
    submit: step.submit,
  };
}

export interface StressTotals {
  steps: number;
  consumed: number;
  dropped: number;
  produced: number;
  /** Events a stop's cut left unread in the ring (counted): consumed + dropped + unread == produced. */
  unread: number;
  failures: string[];
  /** The stall watchdog's findings: verified data, a broken --read-timeout bound (exit code 3, not 1). */
  stalls: string[];
  bySize: Map<number, { steps: number; consumed: number }>;
}

export function newTotals(): StressTotals {
  return { steps: 0, consumed: 0, dropped: 0, produced: 0, unread: 0, failures: [], stalls: [], bySize: new Map() };
}

/** Runs one step and adds what it saw to `totals`. A step that throws is a failure too. */
export async function runStep(config: StressConfig, step: StressStep, stepMs: number, totals: StressTotals, stop: StopSignal = NEVER_STOP): Promise<void> {
  const name = describeStep(step);
  let consumed = 0;
  try {
    if (step.pattern === 'prefill') {
      // The fill may run on one CPU: it must fit one CPU's perf ring too.
      const events = Math.min(200_000, recordsThatFit(step.ringSize, step.eventSize), perfRecordsThatFit(step.ringSize, step.eventSize));
      // A drain a stop cut short measured nothing and is left out of the accounting.
      const runs = runPrefill({ ...stepConfig(step), events }, stop).filter((r) => !r.drainCut);
      for (const r of runs) {
        consumed += r.result.events;
        totals.dropped += r.result.drops;
        totals.produced += r.result.events + r.result.drops;
        for (const f of r.failures) totals.failures.push(`${name}: ${r.result.mode}: ${f}`);
      }
      // Complete runs drained identical events: their checksums must agree across modes.
      const complete = runs.filter((r) => r.result.events + r.result.drops === events);
      const disagreement = checksumDisagreement(
        complete.map((r) => r.result.checksum),
        'modes',
      );
      if (disagreement) totals.failures.push(`${name}: ${disagreement}`);
    } else {
      const pipeline: PipelineConfig = {
        ...config,
        ...stepConfig(step),
        events: undefined,
        durationMs: stepMs,
        rate: step.rate,
        poll: step.poll,
        wakeup: step.wakeup,
      };
      const runs = await runPipeline(pipeline, stop);
      for (const r of runs) {
        consumed += r.result.events;
        totals.dropped += r.result.drops;
        totals.produced += r.result.produced;
        totals.unread += r.result.unread;
        for (const f of r.failures) totals.failures.push(`${name}: ${f}`);
        if (r.result.stall) totals.stalls.push(`${name}: ${r.result.stall}`);
      }
    }
  } catch (err) {
    totals.failures.push(`${name}: ${(err as Error).message}`);
  }
  totals.steps++;
  totals.consumed += consumed;
  const size = totals.bySize.get(step.eventSize) ?? { steps: 0, consumed: 0 };
  size.steps++;
  size.consumed += consumed;
  totals.bySize.set(step.eventSize, size);
}

/**
 * Ring mappings alive in this process: the ring buffer's (two per open or
 * not-yet-collected ring) and the perf buffer's (one per CPU ring, libbpf's
 * and JavaScript's), as /proc/self/maps names them.
 */
export function ringMappings(): number {
  return fs
    .readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((l) => l.includes('anon_inode:bpf-map') || l.includes('[perf_event]')).length;
}

/**
 * Ring mappings left once everything is closed and collected. A worker
 * thread's isolate is torn down a little after the worker reports it has
 * exited, and its references to the ring's buffers go only then; so collect,
 * look, and give it up to 2 s before calling what is left a leak.
 */
export async function settledRingMappings(): Promise<number> {
  const deadline = performance.now() + 2000;
  for (;;) {
    collectGarbage();
    const n = ringMappings();
    if (n === 0 || performance.now() > deadline) return n;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function rssBytes(): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

export interface StressOutcome {
  totals: StressTotals;
  seconds: number;
  rssStart: number;
  rssEnd: number;
  interrupted: boolean;
}

/** The whole stress run. Status lines go to `status` (stdout, or stderr with --json). */
export async function runStress(config: StressConfig, stop: StopSignal = NEVER_STOP, status: (line: string) => void = () => {}): Promise<StressOutcome> {
  const { durationMs } = config;
  const stepMs = Math.min(3000, Math.max(250, durationMs / 20));
  const statusEveryMs = Math.min(10_000, Math.max(1000, durationMs / 10));
  const totals = newTotals();
  const started = performance.now();
  collectGarbage();
  const rssStart = rssBytes();
  let lastStatus = started;
  const line = (tag: string, step: StressStep | undefined): string => {
    const s = (performance.now() - started) / 1e3;
    return (
      `stress ${tag} ${formatClock(s)}/${formatClock(durationMs / 1e3)}: ${totals.steps} steps, ${totals.consumed.toLocaleString('en-US')} events consumed ` +
      `(${(totals.consumed / s / 1e6).toFixed(2)} M/s), ${totals.dropped.toLocaleString('en-US')} dropped, ${totals.failures.length} failures; ` +
      `RSS ${(rssBytes() / 2 ** 20).toFixed(0)} MiB, ${ringMappings()} ring mappings` + (step ? `; last ${describeStep(step)}` : '')
    );
  };
  // At least one step, however short the duration: a stress run that ran nothing has shown nothing.
  for (let i = 0; (i === 0 || performance.now() - started < durationMs) && !stop.requested(); i++) {
    const left = durationMs - (performance.now() - started);
    const step = stressStep(i);
    const failuresBefore = totals.failures.length;
    const stallsBefore = totals.stalls.length;
    await runStep(config, step, Math.max(100, Math.min(stepMs, left)), totals, stop);
    // Failures are reported when they happen, not only in the summary hours later.
    const elapsed = formatClock((performance.now() - started) / 1e3);
    for (const f of totals.failures.slice(failuresBefore)) status(`stress FAILED at ${elapsed}: ${f}`);
    for (const f of totals.stalls.slice(stallsBefore)) status(`stress STALLED at ${elapsed}: ${f}`);
    // Unmap the closed ring now rather than whenever V8 feels like it (src/shared/gc.ts).
    collectGarbage();
    if (performance.now() - lastStatus >= statusEveryMs) {
      lastStatus = performance.now();
      status(line('status', step));
    }
  }
  if (totals.steps === 0 && !stop.requested()) totals.failures.push('no step ran');
  const leftover = await settledRingMappings();
  if (leftover) totals.failures.push(`${leftover} ring mappings still alive after every session was closed and collected`);
  return { totals, seconds: (performance.now() - started) / 1e3, rssStart, rssEnd: rssBytes(), interrupted: stop.requested() };
}
