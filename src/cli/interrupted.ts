/**
 * What an interrupted prefill prints: the runs that completed, summarized as
 * usual and marked as partial, and the run whose fill the signal cut short
 * (drained and verified, but left out of the medians and of the checksum
 * comparison, because it holds fewer events than the others).
 */
import type { BenchConfig } from './options.js';
import { interruption } from './interrupt.js';
import type { PrefillRun } from '../runners/prefill.js';
import { formatJson, formatText, summarize } from '../report.js';

/** Prints the partial results and returns the exit code (1 if anything failed verification, else 128 + signal). */
export function reportInterruptedPrefill(config: BenchConfig, runs: PrefillRun[]): number {
  const signal = interruption.signalName() ?? 'a signal';
  const complete = runs.filter((r) => r.result.events + r.result.drops === config.events);
  const cut = runs.filter((r) => !complete.includes(r));
  const measuredModes = config.modes.filter((m) => complete.some((r) => !r.warmup && r.result.mode === m));
  const summary = measuredModes.length ? summarize(measuredModes, complete) : undefined;
  const planned = config.modes.length * (config.runs + config.warmup);
  const failures = [
    ...(summary?.failures ?? []),
    ...cut.flatMap((r) => r.failures.map((f) => `${r.result.mode}, round ${r.round} (interrupted fill): ${f}`)),
  ];
  const cutNote = cut.map(
    (r) => `the fill of ${r.result.mode} round ${r.round} stopped after ${r.result.events} of ${config.events} events, which were drained and ${r.failures.length ? 'FAILED verification' : 'verified'}`,
  );
  if (config.json) {
    const base = summary ? (JSON.parse(formatJson(summary)) as object) : { results: [], ratios: {}, failures: [] };
    const interrupted = { signal, completed_runs: complete.length, planned_runs: planned, cut_runs: cut.map((r) => ({ mode: r.result.mode, round: r.round, events: r.result.events })) };
    process.stdout.write(JSON.stringify({ ...base, failures, interrupted }, null, 2) + '\n');
  } else {
    const lines = [`INTERRUPTED by ${signal} after ${complete.length} of ${planned} runs: partial results${cutNote.length ? `; ${cutNote.join('; ')}` : ''}`];
    if (summary) lines.push(formatText(config, summary));
    else lines.push(complete.length ? 'no measured run completed before the interruption (warm-up only)' : 'no run completed before the interruption');
    process.stdout.write(lines.join('\n') + '\n');
  }
  for (const f of failures) process.stderr.write(`bench: FAILED: ${f}\n`);
  return failures.length ? 1 : interruption.exitCode();
}
