/**
 * The pipeline's native reference consumer and its rounds: the native
 * latency recorder buckets exactly as LatencyBuckets does; --mode native and
 * all run in the concurrent pipeline with every event and the checksum
 * checked against values computed here; --runs/--warmup give interleaved
 * rounds and medians; without -n or --duration the pipeline runs for its
 * default duration and says so.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { countsIndex } from '../src/consumer/latency-buckets.js';
import { addon } from '../src/lib/addon.js';
import { buildPacket, TOUCH_CHOICES } from '../src/shared/event.js';
import { kernelSkip } from './helpers/kernel.js';
import { expectedSamples, range, referenceChecksum } from './helpers/reference.js';

const BENCH = path.join(__dirname, '..', 'src', 'bench.js');

interface Json {
  settings: Record<string, unknown>;
  results: { mode: string; events: number; drops: number; produced: number; checksum: string; touch: string; runs_mevents_per_s: number[]; runs_p99_ns?: number[]; latency_ns: { p50: number; p99: number; max: number } | null }[];
  ratios: Record<string, number>;
  runs: { mode: string; round: number; warmup: boolean; events: number }[];
  failures: string[];
}

function bench(...args: string[]): { stdout: string; json: Json | undefined } {
  const run = spawnSync(process.execPath, [BENCH, ...args], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, `bench ${args.join(' ')} exited ${run.status} (${run.signal ?? ''}): ${run.stderr}`);
  return { stdout: run.stdout, json: args.includes('--json') ? (JSON.parse(run.stdout) as Json) : undefined };
}

test('the native latency recorder buckets every value as LatencyBuckets does', () => {
  const values: number[] = [0, 1, 2047, 2048, 2049, 4095, 4096, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40 + 12345, 2 ** 53 - 1];
  let x = 7;
  for (let i = 0; i < 20_000; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    // Log-uniform over 0 .. 2^52: every bucket gets values.
    values.push(Math.floor(2 ** ((x / 2 ** 32) * 52)) + (x & 7));
  }
  const native = addon().latencyCountsIndex(Float64Array.from(values));
  values.forEach((v, i) => assert.equal(native[i], countsIndex(v), `value ${v}`));
});

for (const touch of TOUCH_CHOICES)
  test(`pipeline --mode all (copy, view, native and their perf buffer twins), --touch ${touch}: every event consumed, checksums as computed from (producer, seq)`, { skip: kernelSkip }, () => {
    const n = 40_000;
    const eventSize = 128;
    const { json } = bench('--producers', '2', '-n', String(n), '--mode', 'all', '--touch', touch, '--batch', '16', '--ring-size', '64M', '--runs', '1', '--warmup', '0', '--json');
    const samples = [0, 1].flatMap((p) => [...expectedSamples(buildPacket(p, eventSize), eventSize, p, range(0, n / 2))]);
    const expected = referenceChecksum(samples, touch);
    assert.deepEqual(json!.failures, []);
    assert.deepEqual(json!.results.map((r) => r.mode), ['copy', 'view', 'native', 'perf-copy', 'perf-view', 'perf-native']);
    for (const r of json!.results) {
      assert.equal(r.touch, touch);
      assert.equal(r.events, n, r.mode);
      assert.equal(r.drops, 0, r.mode);
      assert.equal(r.checksum, expected, r.mode);
      const l = r.latency_ns!;
      assert.ok(l.p50 > 0 && l.p50 <= l.p99 && l.p99 <= l.max, `${r.mode}: ${JSON.stringify(l)}`);
    }
    for (const key of ['view/native', 'view/native p99', 'copy/native p99', 'perf-view/perf-native', 'perf-view/view', 'perf-native/native', 'perf-view/perf-native p99'])
      assert.ok(json!.ratios[key] > 0, `ratio ${key}`);
  });

test('pipeline --runs/--warmup: interleaved rounds, warm-ups first, medians over the measured runs', { skip: kernelSkip }, () => {
  const { json } = bench('--producers', '1', '-n', '20000', '--mode', 'both', '--runs', '3', '--warmup', '1', '--ring-size', '16M', '--json');
  assert.deepEqual(
    json!.runs.map((r) => `${r.round}:${r.mode}:${r.warmup}`),
    ['0:copy:true', '0:view:true', '1:view:false', '1:copy:false', '2:copy:false', '2:view:false', '3:view:false', '3:copy:false'],
  );
  for (const r of json!.results) {
    assert.equal(r.runs_mevents_per_s.length, 3);
    assert.equal(r.runs_p99_ns!.length, 3);
  }
  assert.equal(json!.settings.runs, 3);
  assert.equal(json!.settings.warmup, 1);
  assert.deepEqual(json!.failures, []);
  // Identical events in every run (-n, no drops): one checksum for all of them.
  assert.equal(new Set(json!.results.map((r) => r.checksum)).size, 1);
});

test('pipeline without -n or --duration runs for the default duration and says so', { skip: kernelSkip }, () => {
  const started = Date.now();
  const { stdout } = bench('--producers', '1', '--mode', 'native', '--runs', '1', '--warmup', '0', '--ring-size', '16M', '--rate', '200k');
  assert.match(stdout, /1s per run \(the default without -n or --duration\)/);
  assert.match(stdout, /touch field: per event, the 8-byte producer\/sequence field/);
  // About 200,000 events in the default second, paced.
  const events = Number(/^native libbpf \(in place\): +(\d+) events/m.exec(stdout)?.[1]);
  assert.ok(events > 120_000 && events < 280_000, `${events} events`);
  assert.ok(Date.now() - started < 20_000);
});
