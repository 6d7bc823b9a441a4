/**
 * What the user reads after a pipeline run: the set-up (one line, then the
 * work each mode does), then per mode its median run's events, drops, time,
 * rate, checksum and latency percentiles, the spread over the measured rounds,
 * and the ratios; or one JSON object with the settings, the per-mode
 * summaries (the ModeResult keys plus the pipeline's), the ratios and every
 * run. Also writes --histogram files.
 */
import * as path from 'node:path';
import { MIN_PACED_CHUNKS } from '../producer/pacing.js';
import { LATENCY_CLOCK } from '../runners/pipeline.js';
import { perfRingSizeFor, perfRingsInUse, wakeupThreshold, type PipelineConfig } from '../shared/config.js';
import { summarizeIntervals, type IntervalSample, type IntervalSummary, type MeanStddev } from '../shared/intervals.js';
import { perfWakeupFor, type LoadedHook } from '../shared/session.js';
import type { PipelineModeResult, PipelineRun, Summary } from '../shared/results.js';
import { max, min } from '../shared/stats.js';
import { bufferOf, readsBuffer, MODE_LABELS } from '../shared/types.js';
import { writeOutputFile } from '../shared/output-file.js';
import { formatMs, formatNs, human } from '../shared/units.js';
import { perfRingsText, ratioLegend, workLines } from './run-header.js';

const hasPerf = (config: PipelineConfig): boolean => readsBuffer(config.modes, 'perfbuf');
const hasRing = (config: PipelineConfig): boolean => readsBuffer(config.modes, 'ringbuf');

/** What --wakeup means for the perf buffer (perfWakeupFor in src/shared/session.ts), for the header. */
function perfWakeupText(config: PipelineConfig): string {
  const w = perfWakeupFor(config.wakeup, perfRingSizeFor(config));
  return 'events' in w ? `perf wake-up per sample (wakeup_events ${w.events})` : `perf wake-up per ${human(w.bytes)} written to a CPU's ring (watermark)`;
}

export type PipelineSummary = Summary<PipelineModeResult>;

export function pipelineFailures(runs: PipelineRun[]): string[] {
  return runs.flatMap((r) => r.failures.map((f) => `${r.result.mode}, round ${r.round}${r.warmup ? ' (warm-up)' : ''}: ${f}`));
}

/** The settings a pipeline run was made with, as --json records them. */
export function pipelineSettings(config: PipelineConfig): Record<string, unknown> {
  return {
    pattern: 'pipeline',
    modes: config.modes,
    touch: config.touch,
    batch: config.batch,
    event_size: config.eventSize,
    ring_size: config.ringSize,
    perf_ring_size: perfRingsInUse(config) ?? null,
    producers: config.producers,
    chunk: config.chunk,
    events: config.events ?? null,
    duration_ms: config.durationMs ?? null,
    duration_is_default: config.durationIsDefault ?? false,
    rate: config.rate ?? null,
    poll: config.poll,
    wakeup: config.wakeup,
    read_timeout_ms: config.readTimeoutMs,
    runs: config.runs,
    warmup: config.warmup,
    trigger: config.trigger ?? 'test-run',
    submit: config.submit ?? 'reserve',
    report_interval_ms: config.reportIntervalMs ?? null,
    producer_cpus: config.producerCpus ?? null,
    consumer_cpu: config.consumerCpu ?? null,
  };
}

/** Pinning, for the header: "; producers pinned to CPUs 0,1, consumer to CPU 1", or nothing. */
function pinningText(config: PipelineConfig): string {
  const parts = [
    config.producerCpus?.length ? `producers pinned to CPU${config.producerCpus.length > 1 ? 's' : ''} ${config.producerCpus.join(',')}` : '',
    config.consumerCpu !== undefined ? `consumer to CPU ${config.consumerCpu}` : '',
  ].filter(Boolean);
  return parts.length ? `; ${parts.join(', ')}` : '';
}

/** With --report-interval: mean ± stddev over the full intervals of a mode's measured runs (all its runs when none was measured). */
export function modeIntervalSummary(config: PipelineConfig, runs: PipelineRun[], mode: string): IntervalSummary | undefined {
  if (config.reportIntervalMs === undefined) return undefined;
  const mine = runs.filter((r) => r.result.mode === mode);
  const measured = mine.some((r) => !r.warmup) ? mine.filter((r) => !r.warmup) : mine;
  return summarizeIntervals(config.reportIntervalMs, measured.map((r) => r.result.intervals ?? []));
}

/** What the producers do, for the header: "events per test run", or the syscall and the hook it runs at. */
function producerWork(config: PipelineConfig, loaded: LoadedHook | undefined): string {
  if ((config.trigger ?? 'test-run') === 'test-run') return `${config.chunk} events per test run`;
  return `${config.chunk} getpgid() calls per native loop (trigger syscall: the program runs at ${loaded?.hook ?? 'a syscall hook'})`;
}

/** The wake-up setting as the header says it. */
export function describeWakeup(wakeup: PipelineConfig['wakeup']): string {
  const threshold = wakeupThreshold(wakeup);
  return threshold === undefined ? wakeup : `sampled (forced once ${human(threshold)} wait, else none)`;
}

/** One interval line, in the kernel bench's manner. */
export function formatInterval(mode: string, round: number, warmup: boolean, s: IntervalSample): string {
  const rate = (n: number) => (s.seconds > 0 ? n / s.seconds / 1e6 : 0).toFixed(3).padStart(9);
  const tag = `${mode} round ${round}${warmup ? ' (warm-up)' : ''}`;
  return (
    `${tag.padEnd(24)} ${s.t_s.toFixed(3).padStart(8)}s (${(s.seconds * 1e3).toFixed(1).padStart(7)} ms): ` +
    `produced ${rate(s.produced)} M/s, consumed ${rate(s.consumed)} M/s, drops ${rate(s.drops)} M/s${s.full ? '' : ' (last, short: not in the mean)'}`
  );
}

/** "1.234 ± 0.012 M/s" */
function pm(v: MeanStddev): string {
  return `${(v.mean / 1e6).toFixed(3)} ± ${(v.stddev / 1e6).toFixed(3)} M/s`;
}

export function formatIntervalSummary(sum: IntervalSummary): string {
  if (sum.intervals === 0) return `per ${formatMs(sum.interval_ms)} interval: no whole interval`;
  return (
    `per ${formatMs(sum.interval_ms)} interval (mean ± stddev over ${sum.intervals}): produced ${pm(sum.produced_per_s)}, ` +
    `consumed ${pm(sum.consumed_per_s)}, drops ${pm(sum.drops_per_s)}`
  );
}

/** The stall watchdog's findings, one per stalled mode: reported apart from integrity (exit code 3, not 1). */
export function pipelineStalls(runs: PipelineRun[]): string[] {
  return runs.flatMap((r) => (r.result.stall ? [`${r.result.mode}: ${r.result.stall}`] : []));
}

/** `interruptedBy`: the signal that cut the run short, recorded as `"interrupted": {"signal": ...}` like prefill's. */
export function formatPipelineJson(config: PipelineConfig, summary: PipelineSummary | undefined, runs: PipelineRun[], interruptedBy?: string, loaded?: LoadedHook): string {
  const interrupted = interruptedBy ? { interrupted: { signal: interruptedBy } } : {};
  const hook = loaded ? { hook: loaded.hook, hook_failures: loaded.hookFailures } : {};
  const results = (summary?.results ?? []).map((r) => {
    const intervals = modeIntervalSummary(config, runs, r.mode);
    // The representative run's series is under runs[]; here the summary over every measured run's.
    const { intervals: _series, ...rest } = r;
    void _series;
    return intervals ? { ...rest, interval_summary: intervals } : rest;
  });
  return JSON.stringify(
    {
      settings: pipelineSettings(config),
      results,
      ratios: summary?.ratios ?? {},
      runs: runs.map((r) => ({ round: r.round, warmup: r.warmup, ...r.result, failures: r.failures })),
      failures: pipelineFailures(runs),
      stalls: pipelineStalls(runs),
      ...hook,
      ...interrupted,
    },
    null,
    2,
  );
}

/**
 * The whole text report: the header, then the results. `chunkLoweredFrom`: the
 * default chunk the CLI lowered to pace --rate (said in the header);
 * `loaded`: where the program ran (the header names the syscall hook).
 */
export function formatPipelineText(config: PipelineConfig, summary: PipelineSummary | undefined, runs: PipelineRun[], chunkLoweredFrom?: number, loaded?: LoadedHook): string {
  return [formatPipelineHeader(config, chunkLoweredFrom, loaded), formatPipelineResults(config, summary, runs)].filter(Boolean).join('\n');
}

/** The set-up: one line, the hooks that failed (syscall trigger), the work each mode does, the latency clock. */
export function formatPipelineHeader(config: PipelineConfig, chunkLoweredFrom?: number, loaded?: LoadedHook): string {
  const p = config;
  const chunks = (p.trigger ?? 'test-run') === 'test-run' ? 'test runs' : 'syscall loops';
  const lowered = chunkLoweredFrom === undefined ? '' : ` (the default ${chunkLoweredFrom} lowered so that --rate is paced over at least ${MIN_PACED_CHUNKS} ${chunks})`;
  const duration = p.durationMs !== undefined ? `${formatMs(p.durationMs)} per run${p.durationIsDefault ? ' (the default without -n or --duration)' : ''}` : '';
  const bound = [p.events !== undefined ? `${p.events} events per run` : '', duration].filter(Boolean).join(' or ');
  const pace = p.rate === undefined ? 'flat out' : `paced open-loop at ${p.rate} events/s`;
  const wait = p.poll === 'epoll' ? `epoll (read timeout ${config.readTimeoutMs} ms)` : 'spin';
  const submit = hasRing(p) && (p.submit ?? 'reserve') === 'output' ? ', submit output (bpf_ringbuf_output from the stack)' : '';
  const every = p.reportIntervalMs === undefined ? '' : `; a report line every ${formatMs(p.reportIntervalMs)}`;
  const buffers = [hasRing(p) ? `ring ${human(config.ringSize)}${submit}` : '', hasPerf(p) ? perfRingsText(perfRingSizeFor(p)) : ''].filter(Boolean).join(', ');
  const wakeups = [hasRing(p) ? `wake-up ${describeWakeup(p.wakeup)}` : '', hasPerf(p) ? perfWakeupText(p) : ''].filter(Boolean).join(', ');
  const lines = [
    `pipeline: ${p.producers} producer(s) × ${producerWork(p, loaded)}${lowered}, ${bound}, ${pace}; ` +
      `${config.eventSize} B events, ${buffers}, touch ${p.touch}, batch ${p.batch}; consumer waits by ${wait}, ${wakeups}; ` +
      `${p.warmup} warm-up round(s), ${p.runs} measured round(s), modes interleaved${hasRing(p) && hasPerf(p) ? ' (one buffer kind, then the other)' : ''}${every}${pinningText(p)}`,
    ...(loaded?.hookFailures.length ? [`  syscall hooks tried first: ${loaded.hookFailures.join('; ')}`] : []),
    ...workLines(p.touch, p.batch, p.modes),
    `latency = ${LATENCY_CLOCK} − bpf_ktime_get_ns() (both CLOCK_MONOTONIC)`,
  ];
  return lines.join('\n');
}

/** Per mode: its median run, latency, spread over the rounds, interval summary, integrity; then the ratios. */
export function formatPipelineResults(config: PipelineConfig, summary: PipelineSummary | undefined, runs: PipelineRun[]): string {
  const p = config;
  const lines: string[] = [];
  const results = summary?.results ?? [];
  const width = Math.max(0, ...results.map((r) => MODE_LABELS[r.mode].length)) + 2;
  for (const r of results) {
    const mine = runs.filter((run) => run.result.mode === r.mode);
    const failed = mine.filter((run) => run.failures.length).length;
    const late = r.lost_pending_before ? `, of which up to ${r.lost_pending_before} the run before's, reported late` : '';
    const lost = r.lost === undefined ? '' : ` (${r.lost} reported lost by the kernel${late})`;
    lines.push(
      `${(MODE_LABELS[r.mode] + ':').padEnd(width)}${r.events} events, ${r.drops} drops${lost}${r.discards ? `, ${r.discards} discards` : ''} ` +
        `in ${r.seconds.toFixed(3)}s (${r.mevents_per_s.toFixed(2)} Mevents/s; produced ${r.produced} at ${(r.produced_per_s / 1e6).toFixed(3)} Mevents/s), checksum=${r.checksum}`,
    );
    const l = r.latency_ns;
    lines.push(
      ''.padEnd(width) +
        (l ? `latency p50 ${formatNs(l.p50)}  p90 ${formatNs(l.p90)}  p99 ${formatNs(l.p99)}  p99.9 ${formatNs(l.p999)}  max ${formatNs(l.max)}` : 'latency: no events consumed') +
        (p.poll === 'epoll' ? `; ${r.epoll_waits} epoll waits, ${r.epoll_timeouts} timed out` : '') +
        (p.rate !== undefined ? `; latest chunk start ${formatNs(r.max_lateness_ns)} behind schedule` : ''),
    );
    if (r.runs_mevents_per_s.length > 1) {
      const p99 = (r.runs_p99_ns ?? []).filter((v) => !Number.isNaN(v));
      lines.push(
        ''.padEnd(width) +
          `${r.runs_mevents_per_s.length} runs: min ${min(r.runs_mevents_per_s).toFixed(2)}, median ${r.median_mevents_per_s.toFixed(2)}, max ${max(r.runs_mevents_per_s).toFixed(2)} Mevents/s` +
          (p99.length ? `; p99 min ${formatNs(min(p99))}, median ${formatNs(r.median_p99_ns ?? NaN)}, max ${formatNs(max(p99))}` : ''),
      );
    }
    const intervals = modeIntervalSummary(config, runs, r.mode);
    if (intervals) lines.push(''.padEnd(width) + formatIntervalSummary(intervals));
    const unread = mine.reduce((n, run) => n + (run.result.unread ?? 0), 0);
    const counted = unread ? `; ${unread} events left unread in the ring at the stop, counted` : '';
    lines.push(
      ''.padEnd(width) +
        (failed
          ? `integrity: FAILED in ${failed} of ${mine.length} runs (problems below)`
          : `integrity: verified in all ${mine.length} runs (sequences${bufferOf(r.mode) === 'perfbuf' ? ' per CPU' : ''}, drops${r.lost === undefined ? '' : ', lost records'}, checksum${counted})`),
    );
    for (const run of mine) if (run.result.stall) lines.push(''.padEnd(width) + `wake-ups: STALLED in round ${run.round}: ${run.result.stall}`);
  }
  const ratios = Object.entries(summary?.ratios ?? {});
  if (ratios.length) {
    lines.push(`ratios (median of per-round ratios; ${ratioLegend(ratios.map(([key]) => key))}):`);
    const keyWidth = Math.max(19, ...ratios.map(([key]) => key.length + 2));
    for (const [key, value] of ratios) lines.push(`  ${key.padEnd(keyWidth)}${value.toFixed(3)}`);
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

/**
 * Writes each mode's .hgrm, its median run's, to that mode's target (named by
 * the modes asked for, also when a stop ran fewer).
 */
export function writeHistograms(file: string, modes: readonly string[], summary: PipelineSummary, runs: PipelineRun[]): string[] {
  const targets = histogramTargets(file, modes);
  const written: string[] = [];
  for (const rep of summary.representatives) {
    const run = runs.find((r) => r.result === rep);
    if (!run) continue;
    const target = targets[modes.indexOf(rep.mode)];
    writeOutputFile(target, run.hgrm);
    written.push(target);
  }
  return written;
}
