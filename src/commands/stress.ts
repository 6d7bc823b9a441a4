/**
 * bench --stress: runs the stress runner, prints its status lines as they come
 * (stdout, or stderr with --json so stdout stays one JSON object) and a
 * summary; returns the exit code.
 */
import { runStress, STRESS_MAX_RING, type StressOutcome } from '../runners/stress.js';
import type { StressConfig } from '../shared/config.js';
import type { StopSignal } from '../shared/stop.js';
import { formatClock } from '../shared/units.js';
import { exitCode, reportFailures, type CommandContext } from './context.js';

/** The most ring mapping a stress step holds: its largest ring (64 MiB), read by JS and by both native modes. */
export const STRESS_MAPPED_BYTES = 3 * 2 * STRESS_MAX_RING;

export interface StressCommandConfig {
  run: StressConfig;
  json: boolean;
}

export async function runStressCommand(config: StressCommandConfig, ctx: CommandContext): Promise<number> {
  const status = config.json ? ctx.stderr : ctx.stdout;
  const outcome = await runStress(config.run, ctx.stop, (line) => status(line + '\n'));
  ctx.stdout((config.json ? formatStressJson(outcome) : formatStressSummary(outcome, ctx.stop)) + '\n');
  reportFailures(ctx, outcome.totals.failures);
  return stressExitCode(outcome, ctx.stop);
}

export function formatStressSummary(o: StressOutcome, stop: StopSignal): string {
  const t = o.totals;
  const sizes = [...t.bySize.entries()].sort((a, b) => a[0] - b[0]).map(([size, v]) => `${size} B: ${v.steps} steps, ${v.consumed.toLocaleString('en-US')} events`);
  return [
    `stress summary${o.interrupted ? ` (INTERRUPTED by ${stop.reason()}: partial)` : ''}: ${formatClock(o.seconds)}, ${t.steps} steps; ` +
      `events consumed ${t.consumed.toLocaleString('en-US')}, dropped ${t.dropped.toLocaleString('en-US')}, ` +
      (t.unread ? `left unread at the stop ${t.unread.toLocaleString('en-US')}, ` : '') +
      `produced ${t.produced.toLocaleString('en-US')} ` +
      `(consumed + dropped${t.unread ? ' + unread' : ''} ${balanced(t) ? '==' : '!='} produced); failures ${t.failures.length}, stalls ${t.stalls.length}`,
    `  per event size: ${sizes.join('; ')}`,
    `  RSS ${(o.rssStart / 2 ** 20).toFixed(0)} MiB at start, ${(o.rssEnd / 2 ** 20).toFixed(0)} MiB at end`,
    ...t.failures.slice(0, 20).map((f) => `  FAILED: ${f}`),
    ...(t.failures.length > 20 ? [`  ... and ${t.failures.length - 20} more`] : []),
    ...t.stalls.slice(0, 20).map((f) => `  STALLED: ${f}`),
    ...(t.stalls.length > 20 ? [`  ... and ${t.stalls.length - 20} more stalls`] : []),
  ].join('\n');
}

/** Every event produced was consumed, dropped, or (after a stop's cut) left unread and counted. */
function balanced(t: StressOutcome['totals']): boolean {
  return t.consumed + t.dropped + t.unread === t.produced;
}

function formatStressJson(o: StressOutcome): string {
  const t = o.totals;
  const stress = { seconds: o.seconds, steps: t.steps, consumed: t.consumed, dropped: t.dropped, unread: t.unread, produced: t.produced, rss_start: o.rssStart, rss_end: o.rssEnd, interrupted: o.interrupted };
  return JSON.stringify({ stress, by_size: Object.fromEntries(t.bySize), failures: t.failures, stalls: t.stalls }, null, 2);
}

/** 1 on any failure or an accounting gap (also when interrupted); else 128 + signal when interrupted; else 3 on a stall; else 0. */
export function stressExitCode(o: Pick<StressOutcome, 'totals'>, stop: StopSignal): number {
  const t = o.totals;
  return exitCode(t.failures.length > 0 || !balanced(t), stop, t.stalls.length > 0);
}
