/** The bench command end to end, prefill pattern, as a user runs it. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { buildPacket, TOUCH_CHOICES } from '../src/shared/event.js';
import { kernelSkip } from './helpers/kernel.js';
import { expectedSamples, range, referenceChecksum } from './helpers/reference.js';

const BENCH = path.join(__dirname, '..', 'src', 'bench.js');

function bench(...args: string[]) {
  return spawnSync(process.execPath, [BENCH, ...args], { encoding: 'utf8', timeout: 60_000 });
}

for (const eventSize of [16, 100, 2048])
  for (const touch of [undefined, ...TOUCH_CHOICES])
  test(`--mode both at ${eventSize} B${touch ? ` --touch ${touch}` : ''} prints the seed's two lines with the expected checksum`, { skip: kernelSkip }, () => {
    const n = 20_000;
    const run = bench('-n', String(n), '--mode', 'both', '--event-size', String(eventSize), '--ring-size', '64M', '--runs', '2', '--warmup', '0', ...(touch ? ['--touch', touch] : []));
    assert.equal(run.status, 0, run.stderr);
    // Without --touch: field, the default.
    const expected = referenceChecksum(expectedSamples(buildPacket(0, eventSize), eventSize, 0, range(0, n)), touch ?? 'field');
    const copy = new RegExp(`^read-into \\(copy\\): +${n} events in [\\d.]+m?s \\(([\\d.]+) Mevents/s\\), checksum=${expected}$`, 'm');
    const view = new RegExp(`^read-view \\(zero-copy\\): ${n} events in [\\d.]+m?s \\(([\\d.]+) Mevents/s\\), checksum=${expected}$`, 'm');
    assert.match(run.stdout, copy);
    assert.match(run.stdout, view);
    assert.match(run.stdout, /^view\/copy speedup: [\d.]+x/m);
    assert.match(run.stdout, /pre-faulted/);
    assert.match(run.stdout, new RegExp(`^touch ${touch ?? 'field'}: per event`, 'm'));
  });

test('--json prints one object with the documented keys', { skip: kernelSkip }, () => {
  const run = bench('-n', '5000', '--mode', 'both', '--ring-size', '8M', '--runs', '3', '--warmup', '0', '--batch', '16', '--json');
  assert.equal(run.status, 0, run.stderr);
  const out = JSON.parse(run.stdout);
  assert.equal(out.results.length, 2);
  for (const r of out.results) {
    for (const key of ['mode', 'producers', 'event_size', 'events', 'drops', 'seconds', 'mevents_per_s', 'checksum', 'latency_ns'])
      assert.ok(key in r, `${key} in ${r.mode}`);
    assert.equal(r.events, 5000);
    assert.equal(r.drops, 0);
    assert.equal(r.runs_mevents_per_s.length, 3);
  }
  assert.equal(out.results[0].checksum, out.results[1].checksum);
  assert.ok(out.ratios['view/copy'] > 0);
  // The settings the run was made with.
  assert.deepEqual(out.settings, { pattern: 'prefill', modes: ['copy', 'view'], touch: 'field', batch: 16, event_size: 128, ring_size: 8 * 1024 ** 2, perf_ring_size: null, events: 5000, runs: 3, warmup: 0, trigger: 'test-run', submit: 'reserve' });
  for (const r of out.results) assert.equal(r.touch, 'field');
});

test('-n that cannot fit the ring is refused before loading, naming both flags', () => {
  const run = bench('-n', '2000000', '--event-size', '2048');
  assert.equal(run.status, 2);
  assert.match(run.stderr, /^bench: -n\/--events: .*--ring-size/);
  assert.equal(run.stderr.trim().split('\n').length, 1);
});
