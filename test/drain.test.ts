/**
 * bench drain against a ring that a separate process loads, pins and fills
 * (test/fixtures/ring-producer.ts): the counts and sizes it reports are the
 * ones the producer made, the backlog and time split are there, and a source
 * that is not a ring gives one line and exit 2.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { bpffsSkip, uniquePinPath } from './helpers/bpffs.js';
import { kernelSkip } from './helpers/kernel.js';
import { ProducerProcess } from './helpers/producer-process.js';

const BENCH = path.resolve(__dirname, '..', 'src', 'bench.js');
const skip = kernelSkip || bpffsSkip();

interface DrainJson {
  drain: {
    events: number;
    bytes: number;
    ring_bytes: number;
    seconds: number;
    sample_sizes: { min: number; max: number; p50: number; most_common: [number, number][] };
    working_seconds: number;
    waiting_seconds: number;
    waits: number;
    backlog_bytes: { samples: number; max: number };
    backlog_series: { interval_ms: number; max_bytes: number[] };
    max_fill: number;
    ring_full_seen: boolean;
    kept_up: boolean;
    map: { id: number; ring_size: number; type: string };
  };
}

/** Whether process `pid` has a BPF map mapped (the drain command maps the ring right after opening it). */
function mapsRing(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/maps`, 'utf8').includes('anon_inode:bpf-map');
  } catch {
    return false;
  }
}

/** Runs `bench drain ARGS --json` while `during` produces events; returns the parsed report. */
async function drainWhile(args: string[], during: () => Promise<number>): Promise<{ report: DrainJson; produced: number; stderr: string; status: number | null }> {
  const child = spawn(process.execPath, [BENCH, 'drain', ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  // Produce only once the child has mapped the ring, so its clock is running and it sees every event.
  const deadline = Date.now() + 10_000;
  while (!mapsRing(child.pid!) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  const produced = await during();
  const status = await exited;
  assert.equal(status, 0, stderr);
  return { report: JSON.parse(stdout) as DrainJson, produced, stderr, status };
}

for (const mode of ['view', 'copy'] as const) {
  test(`drain --pinned, ${mode}: reports every event a separate process produced, their sizes, the time split and the backlog`, { skip, timeout: 60_000 }, async () => {
    const producer = await ProducerProcess.start({ eventSize: 200, ringSize: 1 << 22 });
    try {
      const { report } = await drainWhile(['--pinned', producer.pin, '--duration', '3s', '--mode', mode, '--batch', '16'], async () => {
        let total = 0;
        for (let i = 0; i < 10; i++) {
          total += (await producer.produce(2000)).produced;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        return total;
      }).then((r) => {
        assert.equal(r.report.drain.events, r.produced, 'every produced event was drained exactly once');
        return r;
      });
      const d = report.drain;
      assert.equal(d.map.id, producer.mapId);
      assert.equal(d.map.type, 'ringbuf');
      assert.equal(d.map.ring_size, 1 << 22);
      assert.equal(d.bytes, d.events * 200);
      // 200 B samples take 208 B of ring each (8-byte header, rounded to 8).
      assert.equal(d.ring_bytes, d.events * 208);
      assert.deepEqual([d.sample_sizes.min, d.sample_sizes.p50, d.sample_sizes.max], [200, 200, 200]);
      assert.deepEqual(d.sample_sizes.most_common, [[200, d.events]]);
      assert.ok(d.waits > 0 && d.waiting_seconds > 0 && d.working_seconds > 0, 'it both waited and worked');
      assert.ok(Math.abs(d.working_seconds + d.waiting_seconds - d.seconds) < 1e-6);
      assert.ok(d.seconds >= 2.9 && d.seconds < 5, `ran for --duration (${d.seconds} s)`);
      assert.ok(d.backlog_bytes.samples > 0 && d.backlog_bytes.max > 0, 'the backlog was sampled and saw data waiting');
      assert.ok(d.backlog_series.max_bytes.length > 0);
      assert.equal(d.ring_full_seen, false);
      assert.equal(d.kept_up, true);
    } finally {
      await producer.stop();
    }
  });
}

test('drain notices a ring that filled up while nobody read it: not kept up', { skip, timeout: 60_000 }, async () => {
  const producer = await ProducerProcess.start({ eventSize: 128, ringSize: 16384 });
  try {
    // Fill the ring to the last record before drain attaches, then more (dropped by the kernel).
    const before = await producer.produce(500);
    assert.ok(before.drops > 0, 'the fixture overfilled the ring');
    const r = spawnSync(process.execPath, [BENCH, 'drain', '--pinned', producer.pin, '--duration', '300ms', '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const d = (JSON.parse(r.stdout) as DrainJson).drain;
    assert.equal(d.events, before.produced - before.drops);
    assert.equal(d.ring_full_seen, true);
    assert.equal(d.kept_up, false);
    const text = spawnSync(process.execPath, [BENCH, 'drain', '--pinned', producer.pin, '--duration', '100ms'], { encoding: 'utf8' });
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^verdict: +kept up/m, 'an empty ring that stays empty is kept up with');
  } finally {
    await producer.stop();
  }
});

test('drain text output: one line per aspect', { skip, timeout: 60_000 }, async () => {
  const producer = await ProducerProcess.start({ eventSize: 64, ringSize: 1 << 16 });
  try {
    await producer.produce(100);
    const r = spawnSync(process.execPath, [BENCH, 'drain', '--pinned', producer.pin, '--duration', '200ms'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    for (const label of ['drain:', 'events:', 'samples:', 'time:', 'backlog:', 'verdict:']) assert.match(r.stdout, new RegExp(`^${label}`, 'm'));
    assert.match(r.stdout, /^events: +100 in /m);
    assert.match(r.stdout, /^samples: +all 64 B/m);
  } finally {
    await producer.stop();
  }
});

test('drain: a missing path, a map that is not a ring, a pinned program and a missing map id each give one line and exit 2', { skip, timeout: 60_000 }, async () => {
  const producer = await ProducerProcess.start({ pinState: true, pinProgram: true });
  try {
    const cases: [string[], RegExp][] = [
      [['--pinned', uniquePinPath('missing')], /no pinned BPF object at/],
      [['--pinned', producer.statePin!], /array|not a ring/i],
      [['--pinned', producer.programPin!], /program|not a map/i],
      [['--map-id', String(producer.stateMapId)], /array|not a ring/i],
      [['--map-id', '4294967295'], /no BPF map with id 4294967295/],
      [['--pinned', '/proc/version'], /not a BPF|bpffs|BPF object/i],
    ];
    for (const [args, pattern] of cases) {
      const r = spawnSync(process.execPath, [BENCH, 'drain', ...args, '--duration', '100ms'], { encoding: 'utf8' });
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one line: ${r.stderr}`);
      assert.match(lines[0], /^bench: /);
      assert.match(lines[0], pattern, args.join(' '));
    }
  } finally {
    await producer.stop();
  }
});

test('drain flags: exactly one source, values checked before anything is opened', () => {
  const cases: [string[], RegExp][] = [
    [[], /exactly one of --pinned PATH or --map-id N/],
    [['--pinned', '/x', '--map-id', '3'], /exactly one of/],
    [['--pinned', '/x', '--mode', 'both'], /--mode must be one of copy, view/],
    [['--map-id', '0'], /--map-id must be an integer from 1/],
    [['--pinned', '/x', '--duration', '0s'], /--duration must be a duration/],
  ];
  for (const [args, pattern] of cases) {
    const r = spawnSync(process.execPath, [BENCH, 'drain', ...args], { encoding: 'utf8' });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});
