/**
 * What the user reads after a pipeline run: one line of set-up, then per mode
 * the events, drops, time, rate, checksum and latency percentiles; or one JSON
 * object `{"results": [...]}` with the ModeResult keys (plus the pipeline's).
 * Also writes --histogram files.
 */
import * as path from 'node:path';
import { MIN_PACED_CHUNKS } from '../producer/pacing.js';
import { LATENCY_CLOCK } from '../runners/pipeline.js';
import type { PipelineConfig } from '../shared/config.js';
import type { PipelineRun } from '../shared/results.js';
import { MODE_LABELS } from '../shared/types.js';
import { writeOutputFile } from '../shared/output-file.js';
import { formatMs, formatNs, human } from '../shared/units.js';

export function pipelineFailures(runs: PipelineRun[]): string[] {
  return runs.flatMap((r) => r.failures.map((f) => `${r.result.mode}: ${f}`));
}

/** The stall watchdog's findings, one per stalled mode: reported apart from integrity (exit code 3, not 1). */
export function pipelineStalls(runs: PipelineRun[]): string[] {
  return runs.flatMap((r) => (r.result.stall ? [`${r.result.mode}: ${r.result.stall}`] : []));
}

/** `interruptedBy`: the signal that cut the run short, recorded as `"interrupted": {"signal": ...}` like prefill's. */
export function formatPipelineJson(runs: PipelineRun[], interruptedBy?: string): string {
  const interrupted = interruptedBy ? { interrupted: { signal: interruptedBy } } : {};
  return JSON.stringify({ results: runs.map((r) => r.result), failures: pipelineFailures(runs), stalls: pipelineStalls(runs), ...interrupted }, null, 2);
}

/** `chunkLoweredFrom`: the default chunk the CLI lowered to pace --rate (said in the header). */
export function formatPipelineText(config: PipelineConfig, runs: PipelineRun[], chunkLoweredFrom?: number): string {
  const p = config;
  const lowered = chunkLoweredFrom === undefined ? '' : ` (the default ${chunkLoweredFrom} lowered so that --rate is paced over at least ${MIN_PACED_CHUNKS} test runs)`;
  const bound = [p.events !== undefined ? `${p.events} events` : '', p.durationMs !== undefined ? `${formatMs(p.durationMs)}` : ''].filter(Boolean).join(' or ');
  const pace = p.rate === undefined ? 'flat out' : `paced open-loop at ${p.rate} events/s`;
  const wait = p.poll === 'epoll' ? `epoll (read timeout ${config.readTimeoutMs} ms)` : 'spin';
  const lines = [
    `pipeline: ${p.producers} producer(s) × ${p.chunk} events per test run${lowered}, ${bound}, ${pace}; ` +
      `${config.eventSize} B events, ring ${human(config.ringSize)}; consumer waits by ${wait}, wake-up ${p.wakeup}`,
    `latency = ${LATENCY_CLOCK} − bpf_ktime_get_ns() (both CLOCK_MONOTONIC)`,
  ];
  const width = Math.max(...runs.map((r) => MODE_LABELS[r.result.mode].length)) + 2;
  for (const { result: r, failures } of runs) {
    lines.push(
      `${(MODE_LABELS[r.mode] + ':').padEnd(width)}${r.events} events, ${r.drops} drops${r.discards ? `, ${r.discards} discards` : ''} ` +
        `in ${r.seconds.toFixed(3)}s (${r.mevents_per_s.toFixed(2)} Mevents/s; produced ${r.produced} at ${(r.produced_per_s / 1e6).toFixed(3)} Mevents/s), checksum=${r.checksum}`,
    );
    const l = r.latency_ns;
    lines.push(
      ''.padEnd(width) +
        (l ? `latency p50 ${formatNs(l.p50)}  p90 ${formatNs(l.p90)}  p99 ${formatNs(l.p99)}  p99.9 ${formatNs(l.p999)}  max ${formatNs(l.max)}` : 'latency: no events consumed') +
        (p.poll === 'epoll' ? `; ${r.epoll_waits} epoll waits, ${r.epoll_timeouts} timed out` : '') +
        (p.rate !== undefined ? `; latest chunk start ${formatNs(r.max_lateness_ns)} behind schedule` : ''),
    );
    const unread = r.unread ? `; ${r.unread} events left unread in the ring at the stop, counted` : '';
    lines.push(''.padEnd(width) + (failures.length ? `integrity: FAILED (${failures.length} problem(s), below)` : `integrity: verified (sequences, drops, checksum${unread})`));
    if (r.stall) lines.push(''.padEnd(width) + `wake-ups: STALLED: ${r.stall}`);
  }
  return lines.join('\n');
}

/**
 * The file --histogram FILE writes for each mode: FILE itself for one mode;
 * for several, FILE with .MODE before its extension (.hgrm if it has none).
 * The CLI checks exactly these paths before the run (src/cli/options.ts).
 */
export function histogramTargets(file: string, modes: readonly string[]): string[] {
  if (modes.length === 1) return [file];
  const ext = path.extname(file);
  return modes.map((mode) => `${file.slice(0, file.length - ext.length)}.${mode}${ext || '.hgrm'}`);
}

/** Writes each run's .hgrm to its mode's target (named by the modes asked for, also when a stop ran fewer). */
export function writeHistograms(file: string, modes: readonly string[], runs: PipelineRun[]): string[] {
  const targets = histogramTargets(file, modes);
  const written: string[] = [];
  for (const run of runs) {
    const target = targets[modes.indexOf(run.result.mode)];
    writeOutputFile(target, run.hgrm);
    written.push(target);
  }
  return written;
}
