#!/usr/bin/env node
/**
 * bench: the command-line entry. Validates every flag before anything touches
 * the kernel, checks privileges, runs the selected pattern and reports.
 * Exit codes: 0 verified, 1 a run failed verification or the kernel refused,
 * 2 bad input.
 */
import { CommanderError } from 'commander';
import { parseArgs, type BenchConfig } from './cli/options.js';
import { kernelTooOld, loadFailureAdvice, missingPrivileges } from './cli/privileges.js';
import { runPrefill } from './patterns/prefill.js';
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
  if (config.pipeline) {
    runPipelineCommand(config).then((code) => process.exit(code), fail);
    return;
  }
  const runs = runPrefill(config);
  const summary = summarize(config.modes, runs);
  process.stdout.write((config.json ? formatJson(summary) : formatText(config, summary)) + '\n');
  if (summary.failures.length) {
    for (const f of summary.failures) process.stderr.write(`bench: FAILED: ${f}\n`);
    process.exit(1);
  }
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
