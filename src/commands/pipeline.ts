/**
 * bench --producers N: runs the concurrent pipeline, prints the report, writes
 * --histogram files, and returns the exit code. After a stop, the results of
 * the modes that ran are printed (producers stopped, the ring drained and
 * verified) and marked partial.
 */
import { runPipeline } from '../runners/pipeline.js';
import type { PipelineConfig } from '../shared/config.js';
import { exitCode, interruptedBy, reportFailures, type CommandContext } from './context.js';
import { formatPipelineJson, formatPipelineText, pipelineFailures, pipelineStalls, writeHistograms } from './pipeline-report.js';

export interface PipelineCommandConfig {
  run: PipelineConfig;
  json: boolean;
  /** Write each mode's latency distribution as .hgrm text here (see writeHistograms). */
  histogramFile: string | undefined;
  /** The default --chunk, when it was lowered so that --rate is paced over enough test runs (the header says so). */
  chunkLoweredFrom?: number;
}

export async function runPipelineCommand(config: PipelineCommandConfig, ctx: CommandContext): Promise<number> {
  const runs = await runPipeline(config.run, ctx.stop);
  const interrupted = ctx.stop.requested() ? (ctx.stop.reason() ?? 'a signal') : undefined;
  ctx.stdout((config.json ? formatPipelineJson(runs, interrupted) : formatPipelineText(config.run, runs, config.chunkLoweredFrom)) + '\n');
  if (config.histogramFile) {
    const written = writeHistograms(config.histogramFile, config.run.modes, runs);
    if (!config.json) ctx.stdout(`latency histogram (.hgrm, values in ns): ${written.join(', ')}\n`);
  }
  if (interrupted) {
    const note = runs.length
      ? `${interruptedBy(ctx.stop)}: the results above are partial (producers stopped, the ring drained and verified)\n`
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
