/**
 * bench --producers N: runs the concurrent pipeline, prints the report (text:
 * the header once the program is loaded, --report-interval lines as the runs
 * go, the results at the end), writes --histogram files, and returns the exit
 * code. After a stop, the results of
 * the runs that completed are printed (producers stopped, the ring drained and
 * verified) and marked partial.
 */
import { runPipeline } from '../runners/pipeline.js';
import type { PipelineConfig } from '../shared/config.js';
import { summarize } from '../shared/results.js';
import type { ModeName } from '../shared/types.js';
import { exitCode, interruptedBy, reportFailures, type CommandContext } from './context.js';
import type { IntervalSample } from '../shared/intervals.js';
import type { LoadedHook } from '../shared/session.js';
import { formatInterval, formatPipelineHeader, formatPipelineJson, formatPipelineResults, pipelineFailures, pipelineStalls, writeHistograms } from './pipeline-report.js';

export interface PipelineCommandConfig {
  run: PipelineConfig;
  json: boolean;
  /** Write each mode's latency distribution as .hgrm text here (see writeHistograms). */
  histogramFile: string | undefined;
  /** The default --chunk, when it was lowered so that --rate is paced over enough test runs (the header says so). */
  chunkLoweredFrom?: number;
}

export async function runPipelineCommand(config: PipelineCommandConfig, ctx: CommandContext): Promise<number> {
  // Text: the header as soon as the program is loaded (it names the syscall hook), interval lines as they come.
  let loaded: LoadedHook | undefined;
  const runs = await runPipeline(config.run, ctx.stop, () => {}, {
    onStart: (l: LoadedHook) => {
      loaded = l;
      if (!config.json) ctx.stdout(formatPipelineHeader(config.run, config.chunkLoweredFrom, l) + '\n');
    },
    onInterval: config.json ? undefined : (mode: string, round: number, warmup: boolean, sample: IntervalSample) => ctx.stdout(formatInterval(mode, round, warmup, sample) + '\n'),
  });
  const interrupted = ctx.stop.requested() ? (ctx.stop.reason() ?? 'a signal') : undefined;
  // Stopped before any measured run: report the warm-up runs that completed, rather than nothing.
  const warmupOnly = !runs.some((r) => !r.warmup);
  const shown = warmupOnly ? runs.map((r) => ({ ...r, warmup: false })) : runs;
  // Modes with at least one run to show (all of them unless stopped early).
  const modes = config.run.modes.filter((m: ModeName) => shown.some((r) => !r.warmup && r.result.mode === m));
  // Checksums across runs were compared by the runner (with -n and no drops); each run was checked against its own expectation.
  const summary = modes.length ? summarize(modes, shown, false) : undefined;
  const body = config.json ? formatPipelineJson(config.run, summary, runs, interrupted, loaded) : formatPipelineResults(config.run, summary, runs);
  if (body) ctx.stdout(body + '\n');
  if (config.histogramFile && summary) {
    const written = writeHistograms(config.histogramFile, config.run.modes, summary, runs);
    if (!config.json) ctx.stdout(`latency histogram (.hgrm, values in ns, each mode's median run): ${written.join(', ')}\n`);
  }
  if (interrupted) {
    const which = warmupOnly && runs.length ? ', from the warm-up round' : '';
    const note = runs.length
      ? `${interruptedBy(ctx.stop)}: the results above are partial${which} (producers stopped, the ring drained and verified)\n`
      : `${interruptedBy(ctx.stop)} before the first run started: no results\n`;
    if (config.json) ctx.stderr(note);
    else ctx.stdout(note);
  }
  const failures = pipelineFailures(runs);
  reportFailures(ctx, failures);
  const stalls = pipelineStalls(runs);
  for (const s of stalls) ctx.stderr(`${ctx.name}: STALLED: ${s}\n`);
  return exitCode(failures.length > 0, ctx.stop, stalls.length > 0);
}
