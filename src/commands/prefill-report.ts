/**
 * The prefill pattern's report: the seed's one line per mode, the spread over
 * rounds, the ratios between modes; or one JSON object.
 */
import type { PrefillConfig } from '../shared/config.js';
import { type Summary } from '../shared/results.js';
import { max, min } from '../shared/stats.js';
import { MODE_LABELS } from '../shared/types.js';
import { formatSeconds, human } from '../shared/units.js';
import type { LoadedHook } from '../shared/session.js';
import { workLines } from './run-header.js';

/** `loaded`: where the program ran (the header names the syscall hook when the fill used the syscall trigger). */
export function formatPrefillText(config: PrefillConfig, summary: Summary, loaded?: LoadedHook): string {
  const lines: string[] = [];
  const commit = config.batch === 1 ? 'consumer position published after every record' : `JS modes read runs of up to ${config.batch} records, one published position per run`;
  // The fill is not timed: trigger and submit change how the ring is filled, not what a drain reads.
  const fill = [
    config.trigger === 'syscall' ? `filled by getpgid() calls on this thread (trigger syscall: the program runs at ${loaded?.hook ?? 'a syscall hook'})` : '',
    config.submit === 'output' ? 'submit output (bpf_ringbuf_output from the stack)' : '',
  ].filter(Boolean);
  lines.push(
    `prefill: ${config.events} events of ${config.eventSize} B per run, ring ${human(config.ringSize)}${fill.length ? `, ${fill.join(', ')}` : ''}, touch ${config.touch}, batch ${config.batch} (${commit}); ` +
      `mapping pre-faulted (MAP_POPULATE), ${config.warmup} warm-up round(s), ${config.runs} measured round(s), modes interleaved`,
  );
  if (loaded?.hookFailures.length) lines.push(`  syscall hooks tried first: ${loaded.hookFailures.join('; ')}`);
  lines.push(...workLines(config.touch, config.batch, summary.results.map((r) => r.mode)));
  const width = Math.max(...summary.results.map((r) => MODE_LABELS[r.mode].length)) + 1;
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
    lines.push(
      'ratios (median of per-round ratios; copy/native = JS copy ÷ native-copy, view/native = JS view ÷ native in place, ' +
        'x/callback = JS x ÷ the N-API callback per event):',
    );
    for (const [key, value] of shown) lines.push(`  ${key.padEnd(19)}${value.toFixed(3)}`);
  }
  return lines.join('\n');
}

/** The settings a prefill run was made with, as --json records them (the pipeline's: pipelineSettings). */
export function prefillSettings(config: PrefillConfig): Record<string, unknown> {
  return {
    pattern: 'prefill',
    modes: config.modes,
    touch: config.touch,
    batch: config.batch,
    event_size: config.eventSize,
    ring_size: config.ringSize,
    events: config.events,
    runs: config.runs,
    warmup: config.warmup,
    trigger: config.trigger ?? 'test-run',
    submit: config.submit ?? 'reserve',
  };
}

/** `extra`: keys added at the top level (an interrupted run's "interrupted"). */
export function formatPrefillJson(config: PrefillConfig, summary: Summary, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ settings: prefillSettings(config), results: summary.results, ratios: summary.ratios, failures: summary.failures, ...extra }, null, 2);
}
