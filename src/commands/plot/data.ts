/**
 * Reads what the plots show, from the files the tools write:
 *  - a sweep (dist/sweep.js: sweep.json): Mevents/s per mode and event size;
 *  - a bench --json result (prefill or pipeline): its results[], each with
 *    mevents_per_s and, from the pipeline, latency_ns {p50, p90, p99, p999, max};
 *  - HdrHistogram percentile text (.hgrm, bench --histogram): the full
 *    latency spectrum; the series is named after the file (view.hgrm -> view)
 *    unless given as label=file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TO_NATIVE, toRingbufKey, type SweepFile } from '../sweep/output.js';
import type { ModeName } from '../../shared/types.js';

export interface ThroughputPoint {
  mode: string;
  producers: number;
  /** The per-event work (bench --touch); undefined in files from before --touch (which read every word). */
  touch?: string;
  event_size: number;
  median: number;
  min: number;
  max: number;
  /** Like-for-like ratio to native (view ÷ native, copy ÷ native-copy; the perf twins' to libbpf's perf consumer), when both ran. */
  ratio_to_native?: number;
  /** A perf buffer mode's ratio to its ring buffer counterpart (perf-view ÷ view, ...), when both ran. */
  ratio_to_ringbuf?: number;
  source: string;
}

export interface LatencyPoint {
  series: string;
  /** Percentile as a fraction, 0..1. */
  percentile: number;
  /** 1 / (1 - percentile): the HdrHistogram plotter's x axis. Infinite for the maximum; capped by the caller. */
  inverse: number;
  latency_ns: number;
}

export interface PlotData {
  throughput: ThroughputPoint[];
  latency: LatencyPoint[];
  sources: string[];
}

interface ResultLike {
  mode: string;
  producers?: number;
  touch?: string;
  event_size: number;
  events?: number;
  mevents_per_s: number;
  median_mevents_per_s?: number;
  runs_mevents_per_s?: number[];
  latency_ns?: { p50: number; p90: number; p99: number; p999: number; max: number } | null;
}

function throughputOf(r: ResultLike, ratios: Record<string, number> | undefined, source: string, producers?: number, touch?: string): ThroughputPoint {
  const runs = r.runs_mevents_per_s?.length ? r.runs_mevents_per_s : [r.mevents_per_s];
  const median = r.median_mevents_per_s ?? r.mevents_per_s;
  const key = TO_NATIVE[r.mode as ModeName];
  const ringKey = toRingbufKey(r.mode as ModeName);
  return {
    mode: r.mode,
    producers: producers ?? r.producers ?? 1,
    touch: touch ?? r.touch,
    event_size: r.event_size,
    median,
    min: Math.min(...runs),
    max: Math.max(...runs),
    ratio_to_native: key === undefined ? undefined : ratios?.[key],
    ratio_to_ringbuf: ringKey === undefined ? undefined : ratios?.[ringKey],
    source,
  };
}

/** A latency summary (p50..max) as spectrum points; the maximum sits at 1/(1 - (1 - 1/events)) = events. */
export function summaryLatency(series: string, l: NonNullable<ResultLike['latency_ns']>, events: number | undefined): LatencyPoint[] {
  const points: [number, number][] = [
    [0.5, l.p50],
    [0.9, l.p90],
    [0.99, l.p99],
    [0.999, l.p999],
  ];
  const out = points.map(([p, v]) => ({ series, percentile: p, inverse: 1 / (1 - p), latency_ns: v }));
  const n = Math.max(events ?? 0, 10_000);
  out.push({ series, percentile: 1 - 1 / n, inverse: n, latency_ns: l.max });
  return out;
}

/** HdrHistogram's percentile distribution text; the final 100% row has no 1/(1-p) and is kept at the last finite one x 2. */
export function parseHgrm(text: string, series: string): LatencyPoint[] {
  const out: LatencyPoint[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*([\d.]+)\s+([\d.]+)\s+(\d+)(?:\s+([\d.]+|Infinity))?\s*$/.exec(line);
    if (!m) continue;
    const percentile = Number(m[2]);
    const inverse = m[4] === undefined || m[4] === 'Infinity' ? Infinity : Number(m[4]);
    out.push({ series, percentile, inverse, latency_ns: Number(m[1]) });
  }
  if (out.length === 0) throw new Error(`${series}: no percentile rows (not HdrHistogram percentile text?)`);
  const lastFinite = Math.max(1, ...out.filter((p) => Number.isFinite(p.inverse)).map((p) => p.inverse));
  for (const p of out) if (!Number.isFinite(p.inverse)) p.inverse = lastFinite * 2;
  return out;
}

/** An input that cannot be plotted: bad input (exit 2), its message names the file. */
export class PlotInputError extends Error {}

/** "label=path" or "path" (label: the file name without extension). */
function labelled(arg: string): { label: string; file: string } {
  const eq = arg.indexOf('=');
  if (eq > 0 && !fs.existsSync(arg)) return { label: arg.slice(0, eq), file: arg.slice(eq + 1) };
  return { label: path.basename(arg).replace(/\.[^.]*$/, ''), file: arg };
}

/** Reads every input; throws PlotInputError, naming the file, on anything it cannot read or plot. */
export function loadPlotData(args: readonly string[]): PlotData {
  const data: PlotData = { throughput: [], latency: [], sources: [] };
  for (const arg of args) {
    const { label, file } = labelled(arg);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new PlotInputError(`${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    data.sources.push(file);
    if (/\.hgrm$/i.test(file) || /^\s*Value\s+Percentile/.test(text)) {
      try {
        data.latency.push(...parseHgrm(text, label));
      } catch (err) {
        throw new PlotInputError(`${file}: ${(err as Error).message}`);
      }
      continue;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new PlotInputError(`${file}: neither JSON (a sweep or bench --json) nor HdrHistogram text`);
    }
    addJson(data, json, file);
  }
  return data;
}

/** Adds a sweep or a bench --json result; throws PlotInputError naming `source` for any other shape. */
export function addJson(data: PlotData, json: unknown, source: string): void {
  const bad = (what: string) => new PlotInputError(`${source}: ${what}`);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw bad(`JSON ${json === null ? 'null' : Array.isArray(json) ? 'array' : typeof json}, not a sweep or bench --json object`);
  const sweep = json as Partial<SweepFile>;
  if (Array.isArray(sweep.points)) {
    for (const p of sweep.points) {
      if (!p || !Array.isArray(p.results)) throw bad('a sweep point without results[]');
      for (const r of p.results) {
        if (!isResult(r)) throw bad('a sweep result without mode, event_size and mevents_per_s');
        data.throughput.push(throughputOf(r, p.ratios, source, p.producers, (p as { touch?: string }).touch));
        addLatency(data, r as ResultLike);
      }
    }
    return;
  }
  const run = json as { results?: ResultLike[]; ratios?: Record<string, number> };
  if (!Array.isArray(run.results)) throw bad('JSON without points[] (sweep) or results[] (bench --json)');
  for (const r of run.results) {
    if (!isResult(r)) throw bad('a result without mode, event_size and mevents_per_s');
    data.throughput.push(throughputOf(r, run.ratios, source));
    addLatency(data, r);
  }
}

function isResult(r: unknown): r is ResultLike {
  const x = r as ResultLike | null;
  return !!x && typeof x === 'object' && typeof x.mode === 'string' && typeof x.event_size === 'number' && typeof x.mevents_per_s === 'number';
}

/** A pipeline result's latency summary as one series, "view x2 128 B". */
function addLatency(data: PlotData, r: ResultLike): void {
  if (!r.latency_ns) return;
  const series = `${r.mode}${r.producers && r.producers > 1 ? ` x${r.producers}` : ''} ${r.event_size} B`;
  data.latency.push(...summaryLatency(series, r.latency_ns, r.events));
}
