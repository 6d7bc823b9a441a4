/**
 * The prefill pattern's report: the seed's one line per mode, the spread over
 * rounds, the ratios between modes; or one JSON object.
 */
import { perfRingSizeFor, perfRingsInUse, type PrefillConfig } from '../shared/config.js';
import { type Summary } from '../shared/results.js';
import { max, min } from '../shared/stats.js';
import { MODE_LABELS, readsBuffer, type ModeName } from '../shared/types.js';
import { formatSeconds, human } from '../shared/units.js';
import type { LoadedHook } from '../shared/session.js';
import { perfRingsText, ratioLegend, workLines } from './run-header.js';

/** The ratios shown on a mode's own line: like for like to native, and a perf mode's to its ring buffer counterpart. */
const LINE_RATIOS: Partial<Record<ModeName, [string, string][]>> = {
  copy: [['copy/native', 'native-copy']],
  view: [['view/native', 'native']],
  'perf-copy': [
    ['perf-copy/perf-native-copy', 'perf-native-copy'],
    ['perf-copy/copy', 'copy'],
  ],
  'perf-view': [
    ['perf-view/perf-native', 'perf-native'],
    ['perf-view/view', 'view'],
  ],
  'perf-native': [['perf-native/native', 'native']],
  'perf-native-copy': [['perf-native-copy/native-copy', 'native-copy']],
};

/** `loaded`: where the program ran (the header names the syscall hook when the fill used the syscall trigger). */
export function formatPrefillText(config: PrefillConfig, summary: Summary, loaded?: LoadedHook): string {
  const lines: string[] = [];
  const commit = config.batch === 1 ? 'consumer position published after every record' : `JS modes read runs of up to ${config.batch} records, one published position per run`;
  const modes = summary.results.map((r) => r.mode);
  const hasRing = readsBuffer(modes, 'ringbuf');
  // The fill is not timed: trigger and submit change how the buffer is filled, not what a drain reads.
  const ring = hasRing ? `ring ${human(config.ringSize)}${config.submit === 'output' ? ' (submit output: bpf_ringbuf_output from the stack)' : ''}` : '';
  const raised = config.perfRingSizeRaised ? ' (the default raised so that -n fits one CPU\'s ring)' : '';
  const perf = readsBuffer(modes, 'perfbuf') ? perfRingsText(perfRingSizeFor(config)) + raised : '';
  const fill = config.trigger === 'syscall' ? `, filled by getpgid() calls on this thread (trigger syscall: the program runs at ${loaded?.hook ?? 'a syscall hook'})` : '';
  lines.push(
    `prefill: ${config.events} events of ${config.eventSize} B per run, ${[ring, perf].filter(Boolean).join(', ')}${fill}, touch ${config.touch}, batch ${config.batch} (${commit}); ` +
      `mappings pre-faulted (MADV_POPULATE_READ), ${config.warmup} warm-up round(s), ${config.runs} measured round(s), modes interleaved${ring && perf ? ' (one buffer kind, then the other)' : ''}`,
  );
  if (loaded?.hookFailures.length) lines.push(`  syscall hooks tried first: ${loaded.hookFailures.join('; ')}`);
  lines.push(...workLines(config.touch, config.batch, summary.results.map((r) => r.mode)));
  const width = Math.max(...summary.results.map((r) => MODE_LABELS[r.mode].length)) + 1;
  for (const r of summary.results) {
    const shown = (LINE_RATIOS[r.mode] ?? []).filter(([key]) => summary.ratios[key] !== undefined).map(([key, of]) => `, ${summary.ratios[key].toFixed(2)}x ${of}`);
    lines.push(
      `${(MODE_LABELS[r.mode] + ':').padEnd(width + 1)}${r.events} events in ${formatSeconds(r.seconds)} (${r.mevents_per_s.toFixed(2)} Mevents/s), checksum=${r.checksum}${shown.join('')}`,
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
    lines.push(`ratios (median of per-round ratios; ${ratioLegend(shown.map(([key]) => key))}):`);
    const keyWidth = Math.max(19, ...shown.map(([key]) => key.length + 2));
    for (const [key, value] of shown) lines.push(`  ${key.padEnd(keyWidth)}${value.toFixed(3)}`);
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
    perf_ring_size: perfRingsInUse(config) ?? null,
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
