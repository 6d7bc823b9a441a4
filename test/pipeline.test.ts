/**
 * The concurrent pipeline on the real kernel, through the bench command as a
 * user runs it (--producers N). Expectations are computed here: the checksum
 * from every (producer, sequence) the program must have produced, the rate
 * from the asked one.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { buildPacket } from '../src/shared/event.js';
import { kernelSkip } from './helpers/kernel.js';
import { expectedSamples, range, referenceChecksum } from './helpers/reference.js';

const BENCH = path.join(__dirname, '..', 'src', 'bench.js');

interface Result {
  mode: string;
  producers: number;
  event_size: number;
  events: number;
  drops: number;
  discards: number;
  produced: number;
  seconds: number;
  mevents_per_s: number;
  produced_per_s: number;
  checksum: string;
  latency_ns: { p50: number; p90: number; p99: number; p999: number; max: number } | null;
}

function bench(...args: string[]): { status: number | null; stdout: string; stderr: string; results: Result[] } {
  // One measured run per mode unless a test asks for rounds: these tests check what a run does, not medians.
  if (!args.includes('--runs')) args.push('--runs', '1', '--warmup', '0');
  const run = spawnSync(process.execPath, [BENCH, ...args], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 0, `bench ${args.join(' ')} exited ${run.status} (${run.signal ?? ''}): ${run.stderr}`);
  const results = args.includes('--json') ? (JSON.parse(run.stdout).results as Result[]) : [];
  return { ...run, results };
}

function assertLatencyOrdered(r: Result): void {
  const l = r.latency_ns;
  assert.ok(l, `${r.mode}: latency reported`);
  assert.ok(l.p50 > 0 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max, `${r.mode}: ${JSON.stringify(l)}`);
}

for (const eventSize of [16, 100, 2048]) {
  test(`2 producers, ${eventSize} B: both modes consume every event, checksum as computed from (producer, seq)`, { skip: kernelSkip }, () => {
    const n = 30_000;
    const { results } = bench('--producers', '2', '-n', String(n), '--event-size', String(eventSize), '--ring-size', '128M', '--chunk', '500', '--poll', 'spin', '--mode', 'both', '--json');
    // The ring holds all n events, so nothing can be dropped: every sequence 0..n/2-1 of both producers arrives.
    const samples = [0, 1].flatMap((p) => [...expectedSamples(buildPacket(p, eventSize), eventSize, p, range(0, n / 2))]);
    // The default touch level, field: words 2 and 3 of every sample.
    const expected = referenceChecksum(samples, 'field');
    assert.deepEqual(results.map((r) => r.mode), ['copy', 'view']);
    for (const r of results) {
      for (const key of ['mode', 'producers', 'event_size', 'events', 'drops', 'seconds', 'mevents_per_s', 'checksum', 'latency_ns'])
        assert.ok(key in r, `--json result has ${key}`);
      assert.deepEqual(Object.keys(r.latency_ns ?? {}).sort(), ['max', 'p50', 'p90', 'p99', 'p999']);
      assert.equal(r.producers, 2);
      assert.equal(r.event_size, eventSize);
      assert.equal(r.events, n);
      assert.equal(r.produced, n);
      assert.equal(r.drops, 0);
      assert.equal(r.checksum, expected, r.mode);
      assert.ok(r.seconds > 0 && r.mevents_per_s > 0);
      assertLatencyOrdered(r);
    }
  });
}

test('a ring too small for the bursts drops events, and the drops explain every gap exactly', { skip: kernelSkip }, () => {
  const { results } = bench('--producers', '2', '-n', '100000', '--ring-size', '4K', '--chunk', '2000', '--poll', 'epoll', '--read-timeout', '5', '--mode', 'both', '--json');
  for (const r of results) {
    assert.equal(r.events + r.drops + r.discards, r.produced);
    assert.equal(r.produced, 100_000);
    // 2000-event bursts at ~60 ns each into a ring of ~28 records: the consumer cannot keep up.
    assert.ok(r.drops > 0, `${r.mode}: expected drops with a 4 KiB ring, got none`);
  }
});

test('--rate paces the producers open-loop near the asked rate, for --duration', { skip: kernelSkip }, () => {
  const rate = 200_000;
  const { results } = bench('--producers', '2', '--rate', String(rate), '--duration', '500ms', '--chunk', '200', '--mode', 'view', '--json');
  const [r] = results;
  // Generous bounds: this checks the pacing logic, not the machine's speed.
  assert.ok(r.produced_per_s > rate * 0.6 && r.produced_per_s < rate * 1.4, `produced ${r.produced_per_s} events/s for ${rate} asked`);
  assert.ok(r.produced > rate * 0.5 * 0.6 && r.produced < rate * 0.5 * 1.4, `produced ${r.produced} events in 500 ms`);
  assert.equal(r.events + r.drops, r.produced);
  assertLatencyOrdered(r);
});

for (const wakeup of ['adaptive', 'none', 'force']) {
  test(`--poll epoll --wakeup ${wakeup} completes without a stall, everything verified`, { skip: kernelSkip }, () => {
    const t0 = Date.now();
    const { results } = bench('--producers', '2', '-n', '20000', '--rate', '100000', '--chunk', '100', '--poll', 'epoll', '--wakeup', wakeup, '--read-timeout', '20', '--mode', 'copy', '--ring-size', '16M', '--json');
    const [r] = results;
    assert.equal(r.events, 20_000);
    assert.equal(r.drops, 0);
    assertLatencyOrdered(r);
    assert.ok(Date.now() - t0 < 20_000, 'took longer than the stall bound');
  });
}

test('--histogram writes one .hgrm per mode; the text report names the latency clock', { skip: kernelSkip }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-'));
  try {
    const file = path.join(dir, 'lat.hgrm');
    const { stdout } = bench('--producers', '2', '-n', '10000', '--mode', 'both', '--ring-size', '16M', '--histogram', file);
    assert.match(stdout, /read once per drained batch/);
    assert.match(stdout, /^read-into \(copy\): +10000 events, 0 drops in /m);
    assert.match(stdout, /^read-view \(zero-copy\): 10000 events, 0 drops in /m);
    assert.match(stdout, /latency p50 [\d.]+(µs|ms) +p90 .* p99 .* p99\.9 .* max /);
    assert.equal((stdout.match(/integrity: verified/g) ?? []).length, 2);
    for (const mode of ['copy', 'view']) {
      const text = fs.readFileSync(path.join(dir, `lat.${mode}.hgrm`), 'utf8');
      assert.match(text, /^\s+Value\s+Percentile\s+TotalCount\s+1\/\(1-Percentile\)/m);
      assert.match(text, /#\[Max\s+=\s+[\d.]+,\s+Total count\s+=\s+10000\]/);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
