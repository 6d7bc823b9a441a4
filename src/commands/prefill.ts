/**
 * bench without --producers: the prefill pattern. Runs it, prints the report,
 * returns the exit code. A stop (Ctrl-C) prints the runs that completed,
 * summarized as usual and marked partial, and the run whose fill the stop cut
 * short (drained and verified, but left out of the medians and of the checksum
 * comparison, because it holds fewer events than the others).
 */
import { runPrefill } from '../runners/prefill.js';
import type { PrefillConfig } from '../shared/config.js';
import { summarize, type PrefillRun } from '../shared/results.js';
import { exitCode, interruptedBy, reportFailures, type CommandContext } from './context.js';
import { formatPrefillJson, formatPrefillText } from './prefill-report.js';
import type { LoadedHook } from '../shared/session.js';

export interface PrefillCommandConfig {
  run: PrefillConfig;
  json: boolean;
}

export function runPrefillCommand(config: PrefillCommandConfig, ctx: CommandContext): number {
  let loaded: LoadedHook | undefined;
  const runs = runPrefill(config.run, ctx.stop, () => {}, (l) => (loaded = l));
  if (ctx.stop.requested()) return reportInterrupted(config, runs, ctx, loaded);
  const summary = summarize(config.run.modes, runs);
  ctx.stdout((config.json ? formatPrefillJson(config.run, summary, hookKeys(loaded)) : formatPrefillText(config.run, summary, loaded)) + '\n');
  reportFailures(ctx, summary.failures);
  return exitCode(summary.failures.length > 0, ctx.stop);
}

/** --json: where the program ran, next to the settings. */
function hookKeys(loaded: LoadedHook | undefined): Record<string, unknown> {
  return loaded ? { hook: loaded.hook, hook_failures: loaded.hookFailures } : {};
}

function reportInterrupted(config: PrefillCommandConfig, allRuns: PrefillRun[], ctx: CommandContext, loaded: LoadedHook | undefined): number {
  const { run } = config;
  // A drain the wind-down cut short measured nothing: it is only mentioned.
  const drainCut = allRuns.filter((r) => r.drainCut);
  const runs = allRuns.filter((r) => !r.drainCut);
  const complete = runs.filter((r) => r.result.events + r.result.drops === run.events);
  const cut = runs.filter((r) => !complete.includes(r));
  const measuredModes = run.modes.filter((m) => complete.some((r) => !r.warmup && r.result.mode === m));
  const summary = measuredModes.length ? summarize(measuredModes, complete) : { results: [], ratios: {}, failures: [], representatives: [] };
  const planned = run.modes.length * (run.runs + run.warmup);
  const failures = [
    ...summary.failures,
    ...cut.flatMap((r) => r.failures.map((f) => `${r.result.mode}, round ${r.round} (interrupted fill): ${f}`)),
  ];
  if (config.json) {
    const interrupted = {
      signal: ctx.stop.reason() ?? 'a signal',
      completed_runs: complete.length,
      planned_runs: planned,
      cut_runs: cut.map((r) => ({ mode: r.result.mode, round: r.round, events: r.result.events })),
      drains_cut: drainCut.map((r) => ({ mode: r.result.mode, round: r.round })),
    };
    ctx.stdout(formatPrefillJson(run, { ...summary, failures }, { ...hookKeys(loaded), interrupted }) + '\n');
  } else {
    const cutNote = [
      ...cut.map(
        (r) => `the fill of ${r.result.mode} round ${r.round} stopped after ${r.result.events} of ${run.events} events, which were drained and ${r.failures.length ? 'FAILED verification' : 'verified'}`,
      ),
      ...drainCut.map((r) => `the drain of ${r.result.mode} round ${r.round} was still running when the wind-down time ran out: cut short, not measured`),
    ];
    const lines = [`${interruptedBy(ctx.stop)} after ${complete.length} of ${planned} runs: partial results${cutNote.length ? `; ${cutNote.join('; ')}` : ''}`];
    if (measuredModes.length) lines.push(formatPrefillText(run, summary, loaded));
    else lines.push(complete.length ? 'no measured run completed before the interruption (warm-up only)' : 'no run completed before the interruption');
    ctx.stdout(lines.join('\n') + '\n');
  }
  reportFailures(ctx, failures);
  return exitCode(failures.length > 0, ctx.stop);
}
