#!/usr/bin/env node
/**
 * bench: the command-line entry. Validates every flag before anything touches
 * the kernel, checks privileges, runs the selected pattern and reports.
 * Exit codes: 0 verified, 1 a run failed verification or the kernel refused,
 * 2 bad input, 128 + signal number after SIGINT/SIGTERM (partial results).
 */
import { CommanderError } from 'commander';
import { parseArgs, type BenchConfig } from './cli/options.js';
import { interruption } from './cli/interrupt.js';
import { reportInterruptedPrefill } from './cli/interrupted.js';
import { kernelTooOld, loadFailureAdvice, missingPrivileges } from './cli/privileges.js';
import { runPrefill } from './runners/prefill.js';
import { runStressCommand } from './runners/stress.js';
import { runPipelineCommand } from './pipeline-command.js';
import { formatJson, formatText, summarize } from './report.js';

function parseOrExit(argv: string[]): BenchConfig {
  try {
    return parseArgs(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') process.exit(0);
      if (err.code === 'commander.excessArguments') {
        process.stderr.write('bench: unexpected argument: every input is a --flag (--json and --stress take no value); see --help\n');
        process.exit(2);
      }
      // One line, always: commander puts its "(Did you mean --events?)" hint on a line of its own.
      process.stderr.write(`bench: ${err.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').trim()}\n`);
      process.exit(2);
    }
    throw err;
  }
}

function main(): void {
  const config = parseOrExit(process.argv.slice(2));
  const denied = missingPrivileges() ?? kernelTooOld();
  if (denied) {
    process.stderr.write(`bench: ${denied}\n`);
    process.exit(1);
  }
  // From here on a Ctrl-C / SIGTERM winds the run down instead of killing it (src/cli/interrupt.ts).
  interruption.install();
  if (config.stress) {
    runStressCommand(config).then((code) => process.exit(code), fail);
    return;
  }
  if (config.pipeline) {
    runPipelineCommand(config).then((code) => process.exit(interruptedPipeline(config, code)), fail);
    return;
  }
  const runs = runPrefill({ ...config, shouldStop: () => interruption.requested() });
  if (interruption.requested()) process.exit(reportInterruptedPrefill(config, runs));
  const summary = summarize(config.modes, runs);
  process.stdout.write((config.json ? formatJson(summary) : formatText(config, summary)) + '\n');
  if (summary.failures.length) {
    for (const f of summary.failures) process.stderr.write(`bench: FAILED: ${f}\n`);
    process.exit(1);
  }
}

/** After an interrupted pipeline: marks the results it printed as partial; 128 + signal unless a run failed. */
function interruptedPipeline(config: BenchConfig, code: number): number {
  if (!interruption.requested()) return code;
  const note = `INTERRUPTED by ${interruption.signalName()}: the results above are partial (producers stopped, the ring drained and verified)`;
  (config.json ? process.stderr : process.stdout).write(note + '\n');
  return code !== 0 ? code : interruption.exitCode();
}

function fail(err: unknown): never {
  const e = err as NodeJS.ErrnoException;
  const advice = loadFailureAdvice(e);
  // One line: the addon's messages can carry libbpf's multi-line log.
  const message = String(e.message ?? err).replace(/\s*\n\s*/g, ' ').trim();
  process.stderr.write(`bench: ${message}${advice ? ` (${advice})` : ''}\n`);
  process.exit(1);
}

try {
  main();
} catch (err) {
  fail(err);
}
