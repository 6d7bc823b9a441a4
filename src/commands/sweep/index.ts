/**
 * sweep: the consumer modes over a range of event sizes (and producer
 * counts). Writes sweep.json and sweep.csv into the output folder after every
 * point, so a stopped sweep keeps what it measured. Exit codes as bench.
 */
import { exitCode, reportFailures, type CommandContext } from '../context.js';
import type { SweepConfig } from './config.js';
import { sweepFile, writeSweep } from './output.js';
import { SweepProgress } from './progress.js';
import { runPoint, sweepPoints, type SweepPoint } from './run.js';

function describe(point: SweepPoint): string {
  const rates = point.results.map((r) => `${r.mode} ${r.median_mevents_per_s.toFixed(1)}`).join(', ');
  const status = point.failures.length ? ` FAILED (${point.failures.length})` : '';
  return `${point.event_size} B x${point.producers} touch ${point.touch}: ${rates} Mevents/s${status}`;
}

export async function runSweepCommand(config: SweepConfig, ctx: CommandContext): Promise<number> {
  const started = new Date();
  const todo = sweepPoints(config);
  const progress = new SweepProgress(todo.length);
  const points: SweepPoint[] = [];
  let files = { json: '', csv: '' };
  for (const { producers, touch, eventSize } of todo) {
    if (ctx.stop.requested()) break;
    progress.starting(`${eventSize} B x${producers} touch ${touch}`);
    const point = await runPoint(config, producers, touch, eventSize, ctx.stop);
    if (!point) break; // stopped part-way: the point is incomplete, not recorded
    points.push(point);
    files = writeSweep(config.outDir, sweepFile(config, points, started));
    progress.finished(describe(point));
  }
  progress.end();
  const failures = points.flatMap((p) => p.failures.map((f) => `at ${p.event_size} B x${p.producers} touch ${p.touch}: ${f}`));
  reportFailures(ctx, failures);
  const stalls = points.flatMap((p) => (p.stalls ?? []).map((f) => `at ${p.event_size} B x${p.producers}: ${f}`));
  for (const s of stalls) ctx.stderr(`${ctx.name}: STALLED: ${s}\n`);
  const stopped = ctx.stop.requested() ? ` (INTERRUPTED by ${ctx.stop.reason()} after ${points.length} of ${todo.length} points)` : '';
  ctx.stdout(points.length ? `sweep: ${points.length} points written to ${files.json} and ${files.csv}${stopped}\n` : `sweep: no point completed${stopped}\n`);
  return exitCode(failures.length > 0, ctx.stop, stalls.length > 0);
}
