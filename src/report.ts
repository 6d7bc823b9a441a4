/**
 * Turns runs into what the user reads: the seed's one line per mode, the
 * spread over rounds, the ratios between modes, or one JSON object.
 */
import { human } from './cli/arg-parsers.js';
import type { PrefillConfig, PrefillRun } from './runners/prefill.js';
import { max, median, min, ratios } from './shared/stats.js';
import { MODE_LABELS, type ModeName, type ModeResult } from './shared/types.js';

export interface ModeSummary extends ModeResult {
  runs_mevents_per_s: number[];
  median_mevents_per_s: number;
}

export interface Summary {
  results: ModeSummary[];
  ratios: Record<string, number>;
  failures: string[];
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
  const checksums = new Set(runs.map((r) => r.result.checksum));
  if (checksums.size > 1) failures.push(`checksums disagree between runs: ${[...checksums].join(', ')}`);
  const out: Record<string, number> = {};
  for (const [key, [a, b]] of Object.entries(RATIOS)) {
    const top = rates[a];
    const bottom = rates[b];
    if (top && bottom) out[key] = median(ratios(top, bottom));
  }
  return { results, ratios: out, failures };
}

/**
 * The ratios reported, each the median of per-round ratios, like for like:
 * `view/native` compares the two in-place readers, `copy/native` the two
 * copying ones (JS copy ÷ native-copy, libbpf plus a memcpy per record).
 */
export const RATIOS: Record<string, [ModeName, ModeName]> = {
  'view/copy': ['view', 'copy'],
  'view/native': ['view', 'native'],
  'copy/native': ['copy', 'native-copy'],
  'native-copy/native': ['native-copy', 'native'],
};

export function formatText(config: PrefillConfig, summary: Summary): string {
  const lines: string[] = [];
  const commit = config.batch === 1 ? 'consumer position published after every record' : `consumer position published every ${config.batch} records`;
  lines.push(
    `prefill: ${config.events} events of ${config.eventSize} B per run, ring ${human(config.ringSize)}, ${commit}; ` +
      `mapping pre-faulted (MAP_POPULATE), ${config.warmup} warm-up round(s), ${config.runs} measured round(s), modes interleaved`,
  );
  const width = Math.max(...summary.results.map((r) => MODE_LABELS[r.mode].length)) + 1;
  if (summary.results.some((r) => r.mode.startsWith('native')))
    lines.push('native modes: libbpf ring_buffer__consume, which publishes the consumer position after every record whatever --batch says');
  for (const r of summary.results) {
    const vsNative = r.mode === 'view' ? summary.ratios['view/native'] : r.mode === 'copy' ? summary.ratios['copy/native'] : undefined;
    lines.push(
      `${(MODE_LABELS[r.mode] + ':').padEnd(width + 1)}${r.events} events in ${formatSeconds(r.seconds)} (${r.mevents_per_s.toFixed(2)} Mevents/s), checksum=${r.checksum}` +
        (vsNative === undefined ? '' : `, ${vsNative.toFixed(2)}x ${r.mode === 'copy' ? 'native-copy' : 'native'}`),
    );
    if (r.runs_mevents_per_s.length > 1)
      lines.push(
        `${''.padEnd(width + 1)}${r.runs_mevents_per_s.length} runs: min ${min(r.runs_mevents_per_s).toFixed(2)}, median ${r.median_mevents_per_s.toFixed(2)}, max ${max(r.runs_mevents_per_s).toFixed(2)} Mevents/s`,
      );
  }
  // The seed's line, kept verbatim for anyone comparing with the Go benchmark.
  const viewCopy = summary.ratios['view/copy'];
  if (viewCopy !== undefined) lines.push(`view/copy speedup: ${viewCopy.toFixed(2)}x (median of per-round ratios)`);
  const shown = Object.entries(summary.ratios).filter(([key]) => key !== 'view/copy');
  if (shown.length) {
    lines.push('ratios (median of per-round ratios; copy/native = JS copy ÷ native-copy, view/native = JS view ÷ native in place):');
    for (const [key, value] of shown) lines.push(`  ${key.padEnd(19)}${value.toFixed(3)}`);
  }
  return lines.join('\n');
}

export function formatJson(summary: Summary): string {
  return JSON.stringify({ results: summary.results, ratios: summary.ratios, failures: summary.failures }, null, 2);
}

function formatSeconds(s: number): string {
  return s >= 1 ? `${s.toFixed(3)}s` : `${(s * 1e3).toFixed(3)}ms`;
}
