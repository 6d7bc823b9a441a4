/**
 * Runs a sweep: every (producer count, event size) point in turn. Single
 * producer points run the prefill pattern in this process (runPrefill: one
 * loaded program and mapping per size, modes interleaved round by round);
 * points with more producers run the concurrent pipeline as a child
 * `bench --producers P --json`, whose results have the same shape.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { runPrefill } from '../../runners/prefill.js';
import { collectGarbage } from '../../shared/gc.js';
import { summarize, type ModeSummary } from '../../shared/results.js';
import { NEVER_STOP, type StopSignal } from '../../shared/stop.js';
import { PIPELINE_MODES } from '../../consumer/consumer-task.js';
import type { Touch } from '../../shared/event.js';
import { eventsFor, type SweepConfig } from './config.js';

export interface SweepPoint {
  event_size: number;
  producers: number;
  touch: Touch;
  pattern: 'prefill' | 'pipeline';
  events_per_run: number;
  seconds: number;
  results: ModeSummary[];
  ratios: Record<string, number>;
  failures: string[];
}

export function sweepPoints(config: SweepConfig): { producers: number; touch: Touch; eventSize: number }[] {
  return config.producers.flatMap((producers) => config.touches.flatMap((touch) => config.sizes.map((eventSize) => ({ producers, touch, eventSize }))));
}

export function runPoint(config: SweepConfig, producers: number, touch: Touch, eventSize: number, stop: StopSignal = NEVER_STOP): SweepPoint {
  const events = eventsFor(config, eventSize);
  const started = process.hrtime.bigint();
  const base = { event_size: eventSize, producers, touch, events_per_run: events };
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  if (producers === 1) {
    const runs = runPrefill({ events, modes: config.modes, eventSize, ringSize: config.ringSize, batch: config.batch, touch, runs: config.runs, warmup: config.warmup }, stop);
    const summary = summarize(config.modes, runs);
    // Unmap this size's ring (and free the BPF map it pins) before the next size maps one.
    collectGarbage();
    return { ...base, pattern: 'prefill', seconds: elapsed(), results: summary.results, ratios: summary.ratios, failures: summary.failures };
  }
  return { ...base, ...runPipelineChild(config, producers, touch, eventSize, events), seconds: elapsed() };
}

function runPipelineChild(config: SweepConfig, producers: number, touch: Touch, eventSize: number, events: number): Pick<SweepPoint, 'pattern' | 'results' | 'ratios' | 'failures'> {
  const bench = path.join(__dirname, '..', '..', 'bench.js');
  // The pipeline runs copy, view and native (not native-copy or callback, which are prefill modes).
  const wanted = config.modes.filter((m) => (PIPELINE_MODES as readonly string[]).includes(m));
  if (wanted.length === 0)
    return { pattern: 'pipeline', results: [], ratios: {}, failures: [`the pipeline (--producers above 1) measures ${PIPELINE_MODES.join(', ')} only`] };
  const mode = wanted.length === 1 ? wanted[0] : wanted.length === 2 && !wanted.includes('native') ? 'both' : 'all';
  const args = [bench, '--producers', String(producers), '--event-size', String(eventSize), '-n', String(events)];
  args.push('--mode', mode, '--ring-size', String(config.ringSize), '--batch', String(config.batch), '--touch', touch);
  args.push('--runs', String(config.runs), '--warmup', String(config.warmup), '--json');
  const child = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 64 * 1024 ** 2 });
  const failures: string[] = [];
  let parsed: { results?: ModeSummary[]; ratios?: Record<string, number>; failures?: string[] } = {};
  try {
    parsed = JSON.parse(child.stdout);
  } catch {
    failures.push(`bench --producers ${producers} printed no JSON (exit ${child.status}): ${child.stderr.trim().split('\n')[0] ?? ''}`);
  }
  if (child.status !== 0 && failures.length === 0) failures.push(`bench --producers ${producers} exited ${child.status}: ${child.stderr.trim()}`);
  // One run per mode: its rate is the median and the only run.
  const results = (parsed.results ?? []).filter((r) => wanted.includes(r.mode)).map((r) => ({
    ...r,
    runs_mevents_per_s: r.runs_mevents_per_s ?? [r.mevents_per_s],
    median_mevents_per_s: r.median_mevents_per_s ?? r.mevents_per_s,
  }));
  return { pattern: 'pipeline', results, ratios: parsed.ratios ?? {}, failures: [...failures, ...(parsed.failures ?? [])] };
}
