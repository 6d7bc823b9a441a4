/**
 * What both benchmark reports say about the work measured: the touch level
 * (the per-event work every mode does) and what each mode does per record and
 * per batch.
 */
import { CONSUMER_MODES } from '../consumer/modes.js';
import { onlineCpus } from '../lib/perf-layout.js';
import { TOUCH_DESCRIPTIONS, type Touch } from '../shared/event.js';
import type { ModeName } from '../shared/types.js';
import { human } from '../shared/units.js';

/** The perf buffer's rings, for a header line: "perf rings 256 MiB per CPU × 2 CPUs". */
export function perfRingsText(perfRingSize: number, cpus = onlineCpus().length): string {
  return `perf rings ${human(perfRingSize)} per CPU × ${cpus} CPU${cpus === 1 ? '' : 's'}`;
}

/** What the ratio keys shown mean, for the line above them. */
export function ratioLegend(keys: readonly string[]): string {
  const has = (k: string) => keys.includes(k);
  const parts: string[] = [];
  if (has('copy/native')) parts.push('copy/native = JS copy ÷ native-copy');
  if (has('view/native')) parts.push('view/native = JS view ÷ native in place');
  if (keys.some((k) => k.endsWith('/callback'))) parts.push('x/callback = JS x ÷ the N-API callback per event');
  if (keys.some((k) => /^perf-[a-z-]+\/(copy|view|native|native-copy)( p99)?$/.test(k))) parts.push('perf-x/x = the perf buffer mode ÷ its ring buffer counterpart');
  if (has('perf-view/perf-native') || has('perf-copy/perf-native-copy')) parts.push('perf-view/perf-native, perf-copy/perf-native-copy = JS ÷ libbpf on the perf buffer');
  if (keys.some((k) => k.endsWith(' p99'))) parts.push('"p99": the first mode\'s p99 latency ÷ the second\'s, lower is better');
  return parts.join(', ') || 'a ÷ b';
}

export function workLines(touch: Touch, batch: number, modes: readonly ModeName[]): string[] {
  const width = Math.max(...modes.map((m) => m.length)) + 1;
  return [
    `touch ${touch}: ${TOUCH_DESCRIPTIONS[touch]} (the same in every mode)`,
    ...modes.map((m) => `  ${(m + ':').padEnd(width)} ${CONSUMER_MODES[m].describe(batch)}`),
  ];
}
