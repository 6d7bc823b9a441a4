/** What a sweep writes: sweep.json (everything) and sweep.csv (one row per point and mode). */
import * as os from 'node:os';
import * as path from 'node:path';
import { perfRingsInUse } from '../../shared/config.js';
import { writeOutputFile } from '../../shared/output-file.js';
import { max, min } from '../../shared/stats.js';
import { bufferOf, RINGBUF_COUNTERPART, type ModeName } from '../../shared/types.js';
import type { SweepConfig } from './config.js';
import type { SweepPoint } from './run.js';

export interface SweepFile {
  kind: 'bpf-ringbuf-bench sweep';
  started: string;
  host: { kernel: string; cpus: number; node: string };
  config: SweepConfig;
  points: SweepPoint[];
}

export function sweepFile(config: SweepConfig, points: SweepPoint[], started: Date): SweepFile {
  return {
    kind: 'bpf-ringbuf-bench sweep',
    started: started.toISOString(),
    host: { kernel: os.release(), cpus: os.cpus().length, node: process.version },
    // The perf rings as used: the default (perfRingSizeFor) written out when perf modes ran.
    config: { ...config, perfRingSize: perfRingsInUse(config) },
    points,
  };
}

/** The like-for-like ratio to native of each JavaScript mode (keys of the report's ratios), on either buffer. */
export const TO_NATIVE: Partial<Record<ModeName, string>> = {
  view: 'view/native',
  copy: 'copy/native',
  'perf-view': 'perf-view/perf-native',
  'perf-copy': 'perf-copy/perf-native-copy',
};

/** A perf buffer mode's ratio to its ring buffer counterpart (key of the report's ratios), or undefined. */
export function toRingbufKey(mode: ModeName): string | undefined {
  const counterpart = RINGBUF_COUNTERPART[mode];
  return counterpart === undefined ? undefined : `${mode}/${counterpart}`;
}

export const CSV_COLUMNS = [
  'event_size',
  'producers',
  'touch',
  'pattern',
  'buffer',
  'mode',
  'events_per_run',
  'runs',
  'median_mevents_per_s',
  'min_mevents_per_s',
  'max_mevents_per_s',
  'median_gbytes_per_s',
  'ratio_to_native',
  'ratio_to_ringbuf',
  'checksum',
] as const;

/**
 * One row per point and mode; ratio_to_native is the like-for-like ratio (view ÷ native, copy ÷
 * native-copy, the perf twins' to libbpf's perf consumer) or empty; ratio_to_ringbuf a perf mode's ÷
 * its ring buffer counterpart, or empty.
 */
export function toCsv(points: readonly SweepPoint[]): string {
  const rows: string[] = [CSV_COLUMNS.join(',')];
  for (const p of points)
    for (const r of p.results) {
      const key = TO_NATIVE[r.mode];
      const ratio = key === undefined ? undefined : p.ratios[key];
      const ringKey = toRingbufKey(r.mode);
      const toRing = ringKey === undefined ? undefined : p.ratios[ringKey];
      const runs = r.runs_mevents_per_s ?? [];
      rows.push(
        [
          p.event_size,
          p.producers,
          p.touch,
          p.pattern,
          bufferOf(r.mode),
          r.mode,
          p.events_per_run,
          runs.length,
          num(r.median_mevents_per_s),
          num(min(runs)),
          num(max(runs)),
          num((r.median_mevents_per_s * p.event_size) / 1e3),
          ratio === undefined ? '' : num(ratio),
          toRing === undefined ? '' : num(toRing),
          r.checksum,
        ].join(','),
      );
    }
  return rows.join('\n') + '\n';
}

function num(x: number): string {
  return Number.isFinite(x) ? String(Number(x.toFixed(4))) : '';
}

export const SWEEP_JSON = 'sweep.json';
export const SWEEP_CSV = 'sweep.csv';

/**
 * Writes both files (again after every point, so an interrupted sweep keeps
 * what it measured), each whole or not at all. The folder was made and
 * checked when the flags were (src/cli/sweep-options.ts).
 */
export function writeSweep(dir: string, file: SweepFile): { json: string; csv: string } {
  const json = path.join(dir, SWEEP_JSON);
  const csv = path.join(dir, SWEEP_CSV);
  writeOutputFile(json, JSON.stringify(file, null, 2) + '\n');
  writeOutputFile(csv, toCsv(file.points));
  return { json, csv };
}
