/**
 * Runs a sweep: every (producer count, event size) point in turn. Single
 * producer points run the prefill pattern in this process (runPrefill: one
 * loaded program and mapping per size, modes interleaved round by round);
 * points with more producers run the concurrent pipeline as a child
 * `bench --producers P --json`, whose results have the same shape.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { runPrefill } from '../../runners/prefill.js';
import { collectGarbage } from '../../shared/gc.js';
import { summarize, type ModeSummary } from '../../shared/results.js';
import { NEVER_STOP, type StopSignal } from '../../shared/stop.js';
import { PIPELINE_MODES } from '../../consumer/consumer-task.js';
import type { Touch } from '../../shared/event.js';
import { readsBuffer, type ModeName } from '../../shared/types.js';
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
  /** The pipeline's stall watchdog findings (verified data, a broken --read-timeout bound). */
  stalls?: string[];
}

export function sweepPoints(config: SweepConfig): { producers: number; touch: Touch; eventSize: number }[] {
  return config.producers.flatMap((producers) => config.touches.flatMap((touch) => config.sizes.map((eventSize) => ({ producers, touch, eventSize }))));
}

/** One point, or undefined when a stop came before it was complete (a partial point is not recorded). */
export async function runPoint(config: SweepConfig, producers: number, touch: Touch, eventSize: number, stop: StopSignal = NEVER_STOP): Promise<SweepPoint | undefined> {
  const events = eventsFor(config, eventSize);
  const started = process.hrtime.bigint();
  const base = { event_size: eventSize, producers, touch, events_per_run: events };
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  if (producers === 1) {
    const prefill = {
      events,
      modes: config.modes,
      eventSize,
      ringSize: config.ringSize,
      perfRingSize: config.perfRingSize,
      batch: config.batch,
      touch,
      runs: config.runs,
      warmup: config.warmup,
      trigger: config.trigger,
      submit: config.submit,
    };
    const runs = runPrefill(prefill, stop);
    // Unmap this size's ring (and free the BPF map it pins) before the next size maps one.
    collectGarbage();
    if (stop.requested()) return undefined;
    const summary = summarize(config.modes, runs);
    return { ...base, pattern: 'prefill', seconds: elapsed(), results: summary.results, ratios: summary.ratios, failures: summary.failures };
  }
  const point = await runPipelineChild(config, producers, touch, eventSize, events, stop);
  return stop.requested() ? undefined : { ...base, ...point, seconds: elapsed() };
}

/** The modes a pipeline point runs (the CLI has refused sweeps where there are none). */
function pipelineModes(config: SweepConfig): ModeName[] {
  return config.modes.filter((m) => (PIPELINE_MODES as readonly string[]).includes(m));
}


/** Runs `bench --producers P --json` as a child; a stop is passed on to it (SIGINT), and the sweep waits for it to wind down. */
async function runPipelineChild(
  config: SweepConfig,
  producers: number,
  touch: Touch,
  eventSize: number,
  events: number,
  stop: StopSignal,
): Promise<Pick<SweepPoint, 'pattern' | 'results' | 'ratios' | 'failures' | 'stalls'>> {
  const bench = path.join(__dirname, '..', '..', 'bench.js');
  const wanted = pipelineModes(config);
  const args = [bench, '--producers', String(producers), '--event-size', String(eventSize), '-n', String(events)];
  args.push('--mode', wanted.join(','), '--ring-size', String(config.ringSize), '--batch', String(config.batch), '--touch', touch);
  if (config.perfRingSize !== undefined && readsBuffer(wanted, 'perfbuf')) args.push('--perf-ring-size', String(config.perfRingSize));
  args.push('--runs', String(config.runs), '--warmup', String(config.warmup), '--json');
  if (config.trigger) args.push('--trigger', config.trigger);
  if (config.submit && readsBuffer(wanted, 'ringbuf')) args.push('--submit', config.submit);
  if (config.wakeup) args.push('--wakeup', config.wakeup);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const forward = stop.onRequest(() => child.kill('SIGINT'));
  const status = await new Promise<number | null>((resolve) => {
    child.once('error', (err) => {
      stderr += err.message;
      resolve(null);
    });
    child.once('close', (code) => resolve(code));
  });
  forward();
  const failures: string[] = [];
  let parsed: { results?: ModeSummary[]; ratios?: Record<string, number>; failures?: string[]; stalls?: string[] } = {};
  try {
    parsed = JSON.parse(stdout);
  } catch {
    failures.push(`bench --producers ${producers} printed no JSON (exit ${status}): ${stderr.trim().split('\n')[0] ?? ''}`);
  }
  // 3: verified, but a wait broke --read-timeout: a stall, reported as such.
  if (status !== 0 && status !== 3 && failures.length === 0) failures.push(`bench --producers ${producers} exited ${status}: ${stderr.trim()}`);
  // One run per mode: its rate is the median and the only run.
  const results = (parsed.results ?? []).filter((r) => wanted.includes(r.mode)).map((r) => ({
    ...r,
    runs_mevents_per_s: r.runs_mevents_per_s ?? [r.mevents_per_s],
    median_mevents_per_s: r.median_mevents_per_s ?? r.mevents_per_s,
  }));
  return { pattern: 'pipeline', results, ratios: parsed.ratios ?? {}, failures: [...failures, ...(parsed.failures ?? [])], stalls: parsed.stalls ?? [] };
}
