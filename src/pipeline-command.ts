/**
 * bench --producers N: runs the concurrent pipeline, prints the report, writes
 * --histogram files, and returns the exit code (0 verified, 1 a failure).
 */
import { interruption } from './cli/interrupt.js';
import type { BenchConfig } from './cli/options.js';
import { runPipeline } from './runners/pipeline.js';
import { formatPipelineJson, formatPipelineText, pipelineFailures, writeHistograms } from './report-pipeline.js';

export async function runPipelineCommand(config: BenchConfig): Promise<number> {
  const runs = await runPipeline(config);
  const interruptedBy = interruption.requested() ? (interruption.signalName() ?? 'a signal') : undefined;
  process.stdout.write((config.json ? formatPipelineJson(runs, interruptedBy) : formatPipelineText(config, runs)) + '\n');
  const file = config.pipeline?.histogramFile;
  if (file) {
    const written = writeHistograms(file, runs);
    if (!config.json) process.stdout.write(`latency histogram (.hgrm, values in ns): ${written.join(', ')}\n`);
  }
  const failures = pipelineFailures(runs);
  for (const f of failures) process.stderr.write(`bench: FAILED: ${f}\n`);
  return failures.length ? 1 : 0;
}
