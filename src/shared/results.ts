/**
 * What every runner returns and every report reads: one result shape per
 * measured run, the summaries over repeated rounds, the ratios between modes,
 * and the one check that modes which consumed identical events agree on their
 * checksum. Keys of the result objects are the --json contract (snake_case).
 */
import { median, ratios } from './stats.js';
import type { Touch } from './event.js';
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
}

/** One prefill run (a fill, then one mode's timed drain). */
export interface PrefillRun {
  round: number;
  warmup: boolean;
  result: ModeResult;
  failures: string[];
}

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
}

export interface PipelineRun {
  result: PipelineModeResult;
  failures: string[];
  /** The latency distribution in .hgrm text (ns); empty when nothing was consumed. */
  hgrm: string;
}

/** A mode over repeated rounds: its representative run plus every run's rate. */
export interface ModeSummary extends ModeResult {
  runs_mevents_per_s: number[];
  median_mevents_per_s: number;
}

export interface Summary {
  results: ModeSummary[];
  ratios: Record<string, number>;
  failures: string[];
}

/**
 * The ratios reported, each the median of per-round ratios, like for like:
 * `view/native` compares the two in-place readers, `copy/native` the two
 * copying ones (JS copy ÷ native-copy, libbpf plus a memcpy per record);
 * `view/callback` and `copy/callback` what this reader gains over the usual
 * Node binding (a JavaScript callback per event through N-API).
 */
export const RATIOS: Record<string, [ModeName, ModeName]> = {
  'view/copy': ['view', 'copy'],
  'view/native': ['view', 'native'],
  'copy/native': ['copy', 'native-copy'],
  'native-copy/native': ['native-copy', 'native'],
  'view/callback': ['view', 'callback'],
  'copy/callback': ['copy', 'callback'],
};

/**
 * Runs that consumed identical events must report one checksum. Returns the
 * failure to report, or undefined when they agree (or there is one or none).
 */
export function checksumDisagreement(checksums: Iterable<string>, between: string): string | undefined {
  const distinct = [...new Set(checksums)];
  return distinct.length > 1 ? `checksums disagree between ${between}: ${distinct.join(', ')}` : undefined;
}

/** Medians over the measured (non-warm-up) runs of each mode, and the per-round ratios. */
export function summarize(modes: ModeName[], runs: PrefillRun[]): Summary {
  const measured = runs.filter((r) => !r.warmup);
  const failures = runs.flatMap((r) => r.failures.map((f) => `${r.result.mode}, round ${r.round}: ${f}`));
  const rates: Partial<Record<ModeName, number[]>> = {};
  const results = modes.map((mode): ModeSummary => {
    const mine = measured.filter((r) => r.result.mode === mode).map((r) => r.result);
    const perRun = mine.map((r) => r.mevents_per_s);
    rates[mode] = perRun;
    const mid = median(perRun);
    // The representative run: the one whose rate is closest to the median.
    const rep = mine.reduce((best, r) => (Math.abs(r.mevents_per_s - mid) < Math.abs(best.mevents_per_s - mid) ? r : best));
    return { ...rep, seconds: median(mine.map((r) => r.seconds)), mevents_per_s: mid, runs_mevents_per_s: perRun, median_mevents_per_s: mid };
  });
  const disagreement = checksumDisagreement(
    runs.map((r) => r.result.checksum),
    'runs',
  );
  if (disagreement) failures.push(disagreement);
  const out: Record<string, number> = {};
  for (const [key, [a, b]] of Object.entries(RATIOS)) {
    const top = rates[a];
    const bottom = rates[b];
    if (top && bottom) out[key] = median(ratios(top, bottom));
  }
  return { results, ratios: out, failures };
}
