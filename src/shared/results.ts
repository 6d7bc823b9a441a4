/**
 * What every runner returns and every report reads: one result shape per
 * measured run, the summaries over repeated rounds, the ratios between modes,
 * and the one check that modes which consumed identical events agree on their
 * checksum. Keys of the result objects are the --json contract (snake_case).
 */
import { median, ratios } from './stats.js';
import type { Touch } from './event.js';
import type { IntervalSample } from './intervals.js';
import type { LatencySummary, ModeName } from './types.js';

/** One measured drain. */
export interface ModeResult {
  mode: ModeName;
  producers: number;
  event_size: number;
  /** The per-event work (src/shared/event.ts Touch). */
  touch: Touch;
  /** --batch: records per published position, and per run for the JavaScript modes. */
  batch: number;
  events: number;
  drops: number;
  seconds: number;
  mevents_per_s: number;
  checksum: string;
  latency_ns: LatencySummary | null;
  /**
   * Perf buffer modes: samples the kernel reported lost (PERF_RECORD_LOST)
   * during this run. The kernel reports a drop with the next sample that fits
   * in that CPU's ring, so the last drops of the run before are reported here.
   */
  lost?: number;
  /** Perf buffer, pipeline: drops of earlier runs on the session not yet reported lost when this run began (some of `lost` may be theirs). */
  lost_pending_before?: number;
}

/** One measured run of one mode in one round; warm-up rounds come first and are not summarized. */
export interface RoundRun<R extends ModeResult = ModeResult> {
  round: number;
  warmup: boolean;
  result: R;
  failures: string[];
  /**
   * A stop's wind-down budget ran out during the drain, which was terminated:
   * nothing of this run was measured or verified (result counts are 0), and
   * it takes no part in summaries or accounting.
   */
  drainCut?: boolean;
}

/** One prefill run (a fill, then one mode's timed drain). */
export type PrefillRun = RoundRun;

/** One pipeline run: ModeResult plus what producers and consumer ran into. */
export interface PipelineModeResult extends ModeResult {
  /** Events the producers made (consumed + dropped + discarded when verified). */
  produced: number;
  discards: number;
  poll: string;
  wakeup: string;
  chunk: number;
  /** The asked rate, events/s over all producers; null: flat out. */
  rate: number | null;
  /** Produced events per second, from the release to the last producer's end. */
  produced_per_s: number;
  producer_seconds: number;
  /** With a rate: the latest a chunk started after its scheduled time, ns. */
  max_lateness_ns: number;
  epoll_waits: number;
  epoll_timeouts: number;
  latency_clock: string;
  /** The stall watchdog's finding (a wait that broke --read-timeout), or null: a verdict of its own, not an integrity failure. */
  stall: string | null;
  /** Events a stop's cut left in the ring, counted but not read (0 unless interrupted with a backlog). */
  unread: number;
  /** What ran the program: test-run or syscall. */
  trigger: string;
  /** Where: "test-run (tc, BPF_PROG_TEST_RUN)" or the syscall hook attached, e.g. "tp_btf/sys_enter". */
  hook: string;
  /** Ring buffer: reserve (+ submit) or output; perf buffer: perf_event_output, whatever --submit says. */
  submit: string;
  /** With --report-interval: the run's intervals (they add up to produced, events and drops). */
  intervals?: IntervalSample[];
}

export interface PipelineRun extends RoundRun<PipelineModeResult> {
  /** The latency distribution in .hgrm text (ns); empty when nothing was consumed or PipelineConfig.histogram was not set. */
  hgrm: string;
}

/**
 * A mode over repeated rounds: its representative run (the one whose rate is
 * closest to the median) with the median time and rate, plus every run's
 * rate; with latency (the pipeline), every run's p99 and their median too.
 */
export type ModeSummary<R extends ModeResult = ModeResult> = R & {
  runs_mevents_per_s: number[];
  median_mevents_per_s: number;
  runs_p99_ns?: number[];
  median_p99_ns?: number;
};

export interface Summary<R extends ModeResult = ModeResult> {
  results: ModeSummary<R>[];
  ratios: Record<string, number>;
  failures: string[];
  /** Each mode's representative run, as the runner returned it (results[i] is built from representatives[i]). */
  representatives: R[];
}

/**
 * The ratios reported, each the median of per-round ratios, like for like:
 * `view/native` compares the two in-place readers, `copy/native` the two
 * copying ones (JS copy ÷ native-copy, libbpf plus a memcpy per record);
 * `view/callback` and `copy/callback` what this reader gains over the usual
 * Node binding (a JavaScript callback per event through N-API). For the perf
 * buffer: each perf mode ÷ its ring buffer counterpart (`perf-view/view`, ...:
 * the same reading and per-event work from the other buffer), and the
 * JavaScript perf readers ÷ libbpf's perf_buffer__consume, like for like.
 */
export const RATIOS: Record<string, [ModeName, ModeName]> = {
  'view/copy': ['view', 'copy'],
  'view/native': ['view', 'native'],
  'copy/native': ['copy', 'native-copy'],
  'native-copy/native': ['native-copy', 'native'],
  'view/callback': ['view', 'callback'],
  'copy/callback': ['copy', 'callback'],
  'perf-copy/copy': ['perf-copy', 'copy'],
  'perf-view/view': ['perf-view', 'view'],
  'perf-native/native': ['perf-native', 'native'],
  'perf-native-copy/native-copy': ['perf-native-copy', 'native-copy'],
  'perf-view/perf-copy': ['perf-view', 'perf-copy'],
  'perf-view/perf-native': ['perf-view', 'perf-native'],
  'perf-copy/perf-native-copy': ['perf-copy', 'perf-native-copy'],
  'perf-native-copy/perf-native': ['perf-native-copy', 'perf-native'],
};

/**
 * Latency ratios in the pipeline, each the median of per-round ratios of p99
 * latency (lower is better): a JavaScript consumer's p99 ÷ the native one's,
 * under the same paced load, on either buffer; and each perf buffer mode's ÷
 * its ring buffer counterpart's.
 */
export const P99_RATIOS: Record<string, [ModeName, ModeName]> = {
  'view/native p99': ['view', 'native'],
  'copy/native p99': ['copy', 'native'],
  'perf-view/perf-native p99': ['perf-view', 'perf-native'],
  'perf-copy/perf-native p99': ['perf-copy', 'perf-native'],
  'perf-copy/copy p99': ['perf-copy', 'copy'],
  'perf-view/view p99': ['perf-view', 'view'],
  'perf-native/native p99': ['perf-native', 'native'],
};

/**
 * Runs that consumed identical events must report one checksum. Returns the
 * failure to report, or undefined when they agree (or there is one or none).
 */
export function checksumDisagreement(checksums: Iterable<string>, between: string): string | undefined {
  const distinct = [...new Set(checksums)];
  return distinct.length > 1 ? `checksums disagree between ${between}: ${distinct.join(', ')}` : undefined;
}

/**
 * Medians over the measured (non-warm-up) runs of each mode, and the per-round
 * ratios. `sameEvents`: every run drained identical events (the prefill; the
 * pipeline with -n and no drops), so their checksums must agree.
 */
export function summarize<R extends ModeResult>(modes: ModeName[], runs: RoundRun<R>[], sameEvents = true): Summary<R> {
  const measured = runs.filter((r) => !r.warmup);
  const failures = runs.flatMap((r) => r.failures.map((f) => `${r.result.mode}, round ${r.round}: ${f}`));
  const rates: Partial<Record<ModeName, number[]>> = {};
  const p99s: Partial<Record<ModeName, number[]>> = {};
  const representatives: R[] = [];
  const results = modes.map((mode): ModeSummary<R> => {
    const mine = measured.filter((r) => r.result.mode === mode).map((r) => r.result);
    const perRun = mine.map((r) => r.mevents_per_s);
    rates[mode] = perRun;
    const mid = median(perRun);
    // The representative run: the one whose rate is closest to the median.
    const rep = mine.reduce((best, r) => (Math.abs(r.mevents_per_s - mid) < Math.abs(best.mevents_per_s - mid) ? r : best));
    representatives.push(rep);
    const summary: ModeSummary<R> = { ...rep, seconds: median(mine.map((r) => r.seconds)), mevents_per_s: mid, runs_mevents_per_s: perRun, median_mevents_per_s: mid };
    if (mine.some((r) => r.latency_ns)) {
      const perRunP99 = mine.map((r) => r.latency_ns?.p99 ?? NaN);
      p99s[mode] = perRunP99;
      summary.runs_p99_ns = perRunP99;
      summary.median_p99_ns = median(perRunP99.filter((v) => !Number.isNaN(v)));
    }
    return summary;
  });
  if (sameEvents) {
    const disagreement = checksumDisagreement(
      runs.map((r) => r.result.checksum),
      'runs',
    );
    if (disagreement) failures.push(disagreement);
  }
  const out: Record<string, number> = {};
  for (const [table, values] of [
    [RATIOS, rates],
    [P99_RATIOS, p99s],
  ] as const)
    for (const [key, [a, b]] of Object.entries(table)) {
      const top = values[a];
      const bottom = values[b];
      if (top && bottom) out[key] = median(ratios(top, bottom));
    }
  return { results, ratios: out, failures, representatives };
}
