/**
 * --report-interval: the sampler on made-up counters (intervals add up to the
 * totals, the consumer's 32-bit word wraps, timers late or early), mean ±
 * stddev as the kernel bench computes it, and the real CLI on the kernel:
 * per-interval lines and a mean ± stddev line with integrity verified, with
 * the syscall trigger as the issue asks (two producers, 3 s, 1 s intervals),
 * and, in --json, every run's series adding up exactly to its produced,
 * consumed and dropped events - for each consumer (copy, view and the native
 * one, whose C++ recorder publishes its own count), with drops, and with
 * either trigger.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProducerState } from '../src/lib/addon.js';
import { IntervalSampler, meanStddev, summarizeIntervals, type IntervalSample } from '../src/shared/intervals.js';
import { kernelSkip, kernelSkipFor } from './helpers/kernel.js';

const BENCH = path.resolve(__dirname, '..', 'src', 'bench.js');

function state(produced: number, drops: number): ProducerState {
  const zeros = () => new Array(64).fill(0);
  const s = { nextSeq: zeros(), drops: zeros(), discards: zeros() };
  // Spread over two producers, as the program counts them.
  s.nextSeq[0] = Math.ceil(produced / 2);
  s.nextSeq[1] = Math.floor(produced / 2);
  s.drops[1] = drops;
  return s;
}

test('mean ± stddev: the sample standard deviation (n - 1), as the kernel bench reports; 0 for one value', () => {
  assert.deepEqual(meanStddev([5]), { mean: 5, stddev: 0 });
  const { mean, stddev } = meanStddev([2, 4, 4, 4, 5, 5, 7, 9]);
  assert.equal(mean, 5);
  assert.ok(Math.abs(stddev - Math.sqrt(32 / 7)) < 1e-12);
  assert.ok(Number.isNaN(meanStddev([]).mean));
});

test('the sampler: intervals add up to the totals, the consumer count wraps at 2^32, a short last interval stays out of the mean', async () => {
  let produced = 0;
  let drops = 0;
  // The consumer's word starts near the top of 32 bits, as after 4 G events: the differences must still be right.
  let consumedRaw = 2 ** 32 - 1000;
  const start = state(0, 0);
  const seen: IntervalSample[] = [];
  const sampler = new IntervalSampler(
    { state: () => state(produced, drops), consumed: () => consumedRaw >>> 0 },
    40,
    start,
    Number(process.hrtime.bigint()),
    (s) => seen.push(s),
  );
  sampler.begin();
  let consumed = 0;
  for (let i = 0; i < 12; i++) {
    await sleep(10);
    produced += 700;
    drops += 3;
    consumed += 690;
    consumedRaw = (consumedRaw + 690) % 2 ** 32;
  }
  const series = sampler.finish();
  assert.equal(series, sampler.finish(), 'finish() is idempotent');
  assert.deepEqual(series, seen, 'every interval was reported as it ended');
  assert.ok(series.length >= 2, `${series.length} intervals`);
  assert.equal(series.reduce((n, s) => n + s.produced, 0), produced);
  assert.equal(series.reduce((n, s) => n + s.consumed, 0), consumed);
  assert.equal(series.reduce((n, s) => n + s.drops, 0), drops);
  for (const s of series.slice(0, -1)) assert.equal(s.full, true, 'a tick ends a whole interval');
  // Ticks are scheduled from the start: their ends stay near k × 40 ms however late one fires.
  series.slice(0, -1).forEach((s, k) => assert.ok(s.t_s >= (k + 1) * 0.04 - 0.001, `tick ${k} at ${s.t_s}`));
  const last = series[series.length - 1];
  assert.equal(last.full, last.seconds >= 0.02, 'the last interval counts only if it lasted half an interval');
  const summary = summarizeIntervals(40, [series]);
  assert.equal(summary.intervals, series.filter((s) => s.full).length);
});

interface Run {
  mode: string;
  warmup: boolean;
  events: number;
  produced: number;
  drops: number;
  hook: string;
  trigger: string;
  intervals: IntervalSample[];
}

function bench(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BENCH, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every run's series adds up exactly to the run's own counts. */
function assertSeriesAddUp(runs: Run[]): void {
  for (const r of runs) {
    const total = (key: 'produced' | 'consumed' | 'drops') => r.intervals.reduce((n, s) => n + s[key], 0);
    assert.ok(r.intervals.length >= 2, `${r.mode}: ${r.intervals.length} intervals`);
    assert.equal(total('produced'), r.produced, `${r.mode}: produced`);
    assert.equal(total('consumed'), r.events, `${r.mode}: consumed`);
    assert.equal(total('drops'), r.drops, `${r.mode}: drops`);
  }
}

// The "Done when", ring buffer. The perf buffer case is one more
// parameter here once the pipeline has perf buffer modes (--mode perf-*).
for (const buffer of ['ringbuf'] as const) {
  test(`--producers 2 --trigger syscall --duration 3s --report-interval 1s (${buffer}): a line per second, mean ± stddev, integrity verified`, { skip: kernelSkipFor({ trigger: 'syscall', buffer }), timeout: 120_000 }, () => {
    const r = bench(['--producers', '2', '--trigger', 'syscall', '--duration', '3s', '--report-interval', '1s', '--mode', 'view', '--runs', '1', '--warmup', '0', '--ring-size', '64M']);
    console.log(r.stdout);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /^pipeline: 2 producer\(s\) × 1000 getpgid\(\) calls per native loop \(trigger syscall: the program runs at (fentry|tp_btf|raw_tp)\/\S+\)/m);
    const lines = r.stdout.split('\n').filter((l) => /^view round 0 +\d+\.\d{3}s \( *\d+\.\d ms\): produced +\d+\.\d{3} M\/s, consumed +\d+\.\d{3} M\/s, drops +\d+\.\d{3} M\/s/.test(l));
    assert.ok(lines.length >= 3, `a line per second: ${lines.length}`);
    assert.match(r.stdout, /per 1s interval \(mean ± stddev over [23]\): produced \d+\.\d{3} ± \d+\.\d{3} M\/s, consumed \d+\.\d{3} ± \d+\.\d{3} M\/s, drops \d+\.\d{3} ± \d+\.\d{3} M\/s/);
    assert.match(r.stdout, /integrity: verified in all 1 runs/);
  });
}

test('--json: every run\'s interval series adds up to its produced, consumed and dropped events, for copy, view and native on both buffers, syscall trigger', { skip: kernelSkipFor({ trigger: 'syscall' }), timeout: 120_000 }, () => {
  const r = bench(['--producers', '2', '--trigger', 'syscall', '--duration', '1500ms', '--report-interval', '300ms', '--mode', 'all', '--runs', '1', '--warmup', '0', '--ring-size', '16M', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { settings: Record<string, unknown>; runs: Run[]; results: { mode: string; interval_summary: { intervals: number; interval_ms: number } }[]; failures: string[]; hook: string };
  assert.deepEqual(out.failures, []);
  assert.equal(out.settings.trigger, 'syscall');
  assert.equal(out.settings.report_interval_ms, 300);
  assert.match(out.hook, /^(fentry|tp_btf|raw_tp)\//);
  assert.deepEqual(out.runs.map((run) => run.mode).sort(), ['copy', 'native', 'perf-copy', 'perf-native', 'perf-view', 'view']);
  for (const run of out.runs) assert.equal(run.hook, out.hook);
  assertSeriesAddUp(out.runs);
  for (const res of out.results) {
    assert.equal(res.interval_summary.interval_ms, 300);
    assert.ok(res.interval_summary.intervals >= 4, `${res.mode}: ${res.interval_summary.intervals} whole intervals`);
  }
});

test('--json with drops (a 64 KiB ring nobody is woken for), test-run trigger: the drops add up per interval too', { skip: kernelSkip, timeout: 120_000 }, () => {
  const r = bench(['--producers', '1', '--duration', '1s', '--report-interval', '200ms', '--mode', 'copy', '--runs', '1', '--warmup', '0', '--ring-size', '64K', '--wakeup', 'none', '--read-timeout', '20ms', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { runs: Run[]; failures: string[] };
  assert.deepEqual(out.failures, []);
  assert.ok(out.runs[0].drops > 0, 'the run dropped events');
  assert.equal(out.runs[0].trigger, 'test-run');
  assertSeriesAddUp(out.runs);
});
