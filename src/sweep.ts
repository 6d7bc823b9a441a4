#!/usr/bin/env node
/**
 * sweep: the consumer modes over a range of event sizes (and producer counts).
 *   node dist/sweep.js --sizes 16..2048:16 --modes all --out results/
 * writes results/sweep.json and results/sweep.csv (rewritten after every
 * point); plot them with dist/plot.js. Exit codes as bench: 0 all verified,
 * 1 a run failed verification or the kernel refused, 2 bad input.
 */
import { missingPrivileges } from './cli/privileges.js';
import { parseOrExit } from './cli/exit.js';
import { parseSweepArgs } from './commands/sweep/options.js';
import { sweepFile, writeSweep } from './commands/sweep/output.js';
import { SweepProgress } from './commands/sweep/progress.js';
import { runPoint, sweepPoints, type SweepPoint } from './commands/sweep/run.js';

function describe(point: SweepPoint): string {
  const rates = point.results.map((r) => `${r.mode} ${r.median_mevents_per_s.toFixed(1)}`).join(', ');
  const status = point.failures.length ? ` FAILED (${point.failures.length})` : '';
  return `${point.event_size} B x${point.producers}: ${rates} Mevents/s${status}`;
}

function main(): void {
  const config = parseOrExit('sweep', () => parseSweepArgs(process.argv.slice(2)));
  const denied = missingPrivileges();
  if (denied) {
    process.stderr.write(`sweep: ${denied}\n`);
    process.exit(1);
  }
  const started = new Date();
  const todo = sweepPoints(config);
  const progress = new SweepProgress(todo.length);
  const points: SweepPoint[] = [];
  let files = { json: '', csv: '' };
  for (const { producers, eventSize } of todo) {
    progress.starting(`${eventSize} B x${producers}`);
    const point = runPoint(config, producers, eventSize);
    points.push(point);
    files = writeSweep(config.outDir, sweepFile(config, points, started));
    progress.finished(describe(point));
  }
  progress.end();
  const failed = points.filter((p) => p.failures.length);
  for (const p of failed) for (const f of p.failures) process.stderr.write(`sweep: FAILED at ${p.event_size} B x${p.producers}: ${f}\n`);
  process.stdout.write(`sweep: ${points.length} points written to ${files.json} and ${files.csv}\n`);
  if (failed.length) process.exit(1);
}

try {
  main();
} catch (err) {
  process.stderr.write(`sweep: ${(err as Error).message ?? String(err)}\n`);
  process.exit(1);
}
