/**
 * The perf buffer modes as the tool runs them (issue 11, item 1): the
 * per-CPU sequence lanes and the other pure pieces on their own, then on the
 * real kernel:
 *  - `bench --mode all` (the CLI, as a user runs it) shows the ring buffer's
 *    five modes and the perf buffer's four, every checksum equal to the one
 *    computed here independently, at both touch levels and with runs of 1 and
 *    64 records, with the perf ratios;
 *  - a producer that moved between CPUs: its events split over two rings in
 *    an order that a single sequence check calls reordered; every perf mode
 *    checks them per ring and verifies them;
 *  - the pipeline's perf modes, 1 and 2 producers: every event, sequences per
 *    CPU, the checksum computed here; with a perf ring too small, drops
 *    explain every gap and the kernel's lost records account for them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { expandModes, MODE_GROUPS, parseArgs, PERF_RING_RAISE_MAX_TOTAL, PIPELINE_MODE_GROUPS } from '../src/cli/options.js';
import { onlineCpus, perfRecordsThatFit } from '../src/lib/perf-layout.js';
import { EventSink } from '../src/consumer/event-sink.js';
import { CONSUMER_MODES } from '../src/consumer/modes.js';
import { releaseNativeConsumers } from '../src/consumer/native-consumer.js';
import { PerfBufferReader } from '../src/lib/perf-reader.js';
import { RingReader } from '../src/lib/ring-reader.js';
import { perfRingSizeFor, type PrefillConfig } from '../src/shared/config.js';
import { buildPacket, TOUCH_CHOICES } from '../src/shared/event.js';
import { Session } from '../src/shared/session.js';
import { interleaveGroups } from '../src/shared/stats.js';
import { PERFBUF_MODES, RINGBUF_MODES, type ModeName } from '../src/shared/types.js';
import { verifyLost } from '../src/shared/verify.js';
import { kernelSkipFor } from './helpers/kernel.js';
import { runProducerThread } from './helpers/producer-thread.js';
import { expectedSamples, range, referenceChecksum } from './helpers/reference.js';

const BENCH = path.join(__dirname, '..', 'src', 'bench.js');
const skip = kernelSkipFor({ buffer: 'perfbuf' });

/** A sample of `producer`'s sequence `seq`, as words and bytes, for feeding a sink by hand. */
function event(producer: number, seq: number): { words: Int32Array; bytes: Uint8Array } {
  const bytes = new Uint8Array(32);
  const view = new DataView(bytes.buffer);
  view.setUint32(8, seq, true);
  view.setUint32(12, producer << 16, true);
  return { words: new Int32Array(bytes.buffer), bytes };
}

test('EventSink lanes: sequences checked per CPU and merged; a repeat within one CPU is still an anomaly; without lanes the same stream is reordered', () => {
  const feed = (sink: EventSink, cpu: number | undefined, producer: number, seqs: number[]) => {
    if (cpu !== undefined) sink.useLane(cpu);
    for (const seq of seqs) {
      const e = event(producer, seq);
      sink.accept(e.words, e.bytes, 0, 32);
    }
  };
  // Producer 3 ran on CPU 1 (0..4), then CPU 0 (5..9), then CPU 1 again (10..11); the reader takes CPU 0's ring first.
  const start = new Float64Array(64);
  const lanes = new EventSink(start);
  feed(lanes, 0, 3, [5, 6, 7, 8, 9]);
  feed(lanes, 1, 3, [0, 1, 2, 3, 4, 10, 11]);
  feed(lanes, 0, 1, [0]);
  assert.equal(lanes.anomalies, 0, lanes.firstAnomaly);
  const totals = lanes.totals();
  assert.equal(totals.perProducer[3], 12);
  assert.equal(totals.expectedSeq[3], 12, 'the merged next sequence is the latest over the lanes');
  assert.equal(totals.perProducer[1], 1);
  assert.equal(totals.expectedSeq[2], 0, 'a producer no lane saw keeps its start');
  assert.equal(lanes.events, 13);

  const single = new EventSink(start);
  feed(single, undefined, 3, [5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 10, 11]);
  assert.ok(single.anomalies > 0, 'one sequence over both rings sees the split as reordering');

  const repeat = new EventSink(start);
  feed(repeat, 0, 3, [0, 1, 2]);
  feed(repeat, 1, 3, [3]);
  feed(repeat, 0, 3, [2]);
  assert.equal(repeat.anomalies, 1, 'a repeat within one CPU ring is caught');
  // The same checksum whatever the lanes: it does not depend on the order of events.
  assert.equal(lanes.checksum.hex(), (() => {
    const s = new EventSink(start);
    feed(s, undefined, 3, range(0, 12));
    feed(s, undefined, 1, [0]);
    return s.checksum.hex();
  })());
});

test('interleaveGroups: every mode once per round, each kind\'s modes rotating together, kinds alternating so a swap happens once per round', () => {
  const order = interleaveGroups([['copy', 'view', 'native'], ['perf-copy', 'perf-view']], 4);
  assert.deepEqual(order, [
    ['copy', 'view', 'native', 'perf-copy', 'perf-view'],
    ['perf-view', 'perf-copy', 'view', 'native', 'copy'],
    ['native', 'copy', 'view', 'perf-copy', 'perf-view'],
    ['perf-view', 'perf-copy', 'copy', 'view', 'native'],
  ]);
  assert.deepEqual(interleaveGroups([['copy', 'view'], []], 3), [['copy', 'view'], ['view', 'copy'], ['copy', 'view']], 'one kind: interleave()\'s order');
});

test('--mode groups: all is both buffers side by side; ringbuf, perfbuf; the pipeline\'s groups hold its modes; lists keep their order once', () => {
  assert.deepEqual(expandModes(['all']), [...RINGBUF_MODES, ...PERFBUF_MODES]);
  assert.deepEqual(MODE_GROUPS.perfbuf, ['perf-copy', 'perf-view', 'perf-native', 'perf-native-copy']);
  assert.deepEqual(expandModes(['all'], PIPELINE_MODE_GROUPS), ['copy', 'view', 'native', 'perf-copy', 'perf-view', 'perf-native']);
  assert.deepEqual(expandModes(['perfbuf'], PIPELINE_MODE_GROUPS), ['perf-copy', 'perf-view', 'perf-native']);
  assert.deepEqual(expandModes(['view', 'perf-view', 'both']), ['view', 'perf-view', 'copy']);
});

test('the default perf ring: --ring-size over the CPUs, a power of two, at least a page; --perf-ring-size wins', () => {
  assert.equal(perfRingSizeFor({ ringSize: 512 << 20 }, 2), 256 << 20);
  assert.equal(perfRingSizeFor({ ringSize: 512 << 20 }, 3), 128 << 20, 'rounded down to a power of two');
  assert.equal(perfRingSizeFor({ ringSize: 4096 }, 64), 4096);
  assert.equal(perfRingSizeFor({ ringSize: 512 << 20, perfRingSize: 1 << 20 }, 2), 1 << 20);
});

test('a prefill whose -n does not fit the default perf ring raises it to the smallest power of two that holds -n, within 4 GiB over all CPUs; an explicit --perf-ring-size is never raised', () => {
  const cpus = onlineCpus().length;
  const need = (events: number) => {
    let size = 4096;
    while (perfRecordsThatFit(size, 128) < events) size *= 2;
    return size;
  };
  const runOf = (args: string[]) => {
    const invocation = parseArgs(args);
    assert.equal(invocation.pattern, 'prefill');
    return (invocation.config as { run: PrefillConfig }).run;
  };
  const fitsDefault = perfRecordsThatFit(perfRingSizeFor({ ringSize: 512 << 20 }), 128) >= 2_000_000;
  const raisedTo = Math.max(need(2_000_000), perfRingSizeFor({ ringSize: 512 << 20 }));
  if (fitsDefault) assert.equal(runOf(['--mode', 'all', '-n', '2000000']).perfRingSize, undefined);
  else if (raisedTo * cpus <= PERF_RING_RAISE_MAX_TOTAL) {
    const run = runOf(['--mode', 'all', '-n', '2000000']);
    assert.deepEqual([run.perfRingSize, run.perfRingSizeRaised], [raisedTo, true]);
  } else assert.throws(() => parseArgs(['--mode', 'all', '-n', '2000000']), /--perf-ring-size/);
  assert.throws(() => parseArgs(['--mode', 'all', '-n', '2000000', '--perf-ring-size', '64M']), /-n\/--events/);
  assert.equal(runOf(['--mode', 'all', '-n', '1000']).perfRingSizeRaised, undefined);
});

test('verifyLost: lost records never pass the drops; what the kernel has not reported yet carries over', () => {
  assert.deepEqual(verifyLost(0, 0), { failures: [], pending: 0 });
  assert.deepEqual(verifyLost(0, 5), { failures: [], pending: 5 }, 'the lost record comes with the next output that fits');
  assert.deepEqual(verifyLost(8, 3, 5), { failures: [], pending: 0 }, 'an earlier run\'s drops reported now');
  assert.equal(verifyLost(9, 3, 5).failures.length, 1);
  assert.match(verifyLost(1, 0).failures[0], /lost samples/);
});

interface PrefillJson {
  settings: { modes: string[]; perf_ring_size: number | null };
  results: { mode: ModeName; events: number; checksum: string; lost?: number }[];
  ratios: Record<string, number>;
  failures: string[];
}

function benchJson(args: string[]): PrefillJson {
  const r = spawnSync(process.execPath, [BENCH, ...args, '--json'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `bench ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as PrefillJson;
}

function assertAllModes(out: PrefillJson, events: number, expected: string, label: string): void {
  assert.deepEqual(
    out.results.map((r) => r.mode),
    [...RINGBUF_MODES, ...PERFBUF_MODES],
    `${label}: the ring buffer's modes and the perf buffer's side by side`,
  );
  for (const r of out.results) {
    assert.equal(r.events, events, `${label}: ${r.mode}`);
    assert.equal(r.checksum, expected, `${label}: ${r.mode}'s checksum`);
    if (r.mode.startsWith('perf-')) assert.equal(r.lost, 0, `${label}: ${r.mode} lost nothing`);
  }
  assert.deepEqual(out.failures, []);
  for (const key of ['perf-copy/copy', 'perf-view/view', 'perf-native/native', 'perf-native-copy/native-copy', 'perf-view/perf-native', 'perf-copy/perf-native-copy'])
    assert.ok(out.ratios[key] > 0, `${label}: ratio ${key}`);
}

test('bench --mode all, as from a fresh clone: the perf buffer modes beside the ring buffer\'s, checksums all equal to the reference', { skip, timeout: 180_000 }, () => {
  const out = benchJson(['--mode', 'all', '--runs', '1']);
  assert.ok((out.settings.perf_ring_size ?? 0) > 0);
  assertAllModes(out, 50_000, referenceChecksum(expectedSamples(buildPacket(0, 128), 128, 0, range(0, 50_000)), 'field'), 'defaults');
});

for (const touch of TOUCH_CHOICES)
  for (const batch of [1, 64])
    test(`bench --mode all --touch ${touch} --batch ${batch}: nine modes, one checksum, the reference's`, { skip, timeout: 120_000 }, () => {
      const n = 6000;
      const eventSize = 100;
      const out = benchJson(['--mode', 'all', '-n', String(n), '--event-size', String(eventSize), '--ring-size', '4M', '--touch', touch, '--batch', String(batch), '--runs', '2', '--warmup', '0']);
      assertAllModes(out, n, referenceChecksum(expectedSamples(buildPacket(0, eventSize), eventSize, 0, range(0, n)), touch), `touch ${touch}, batch ${batch}`);
    });

test('a producer that moved between CPUs: every perf mode checks its sequences per ring (a single check would see them reordered) and verifies them', { skip, timeout: 60_000 }, async (t) => {
  const eventSize = 128;
  const session = new Session({ eventSize, ringSize: 4096, buffer: 'perfbuf', perfRingSize: 1 << 20 });
  try {
    if (session.perfRings.length < 2) return t.skip('needs 2 online CPUs');
    const [first, second] = session.perfRings.map((r) => r.cpu);
    const n = 1000;
    const expected = referenceChecksum(expectedSamples(buildPacket(0, eventSize), eventSize, 0, range(0, 2 * n)), 'all');
    // Sequences 0..n-1 on the second CPU, n..2n-1 on the first: the readers take the first CPU's ring first.
    const produceSplit = async (): Promise<void> => {
      session.resetState();
      await runProducerThread({ fds: session.triggerFds, producerId: 0, eventSize, events: n, cpu: second });
      await runProducerThread({ fds: session.triggerFds, producerId: 0, eventSize, events: n, cpu: first });
    };
    const startSeq = new Float64Array(64);

    // The control: one sequence check over both rings.
    await produceSplit();
    const control = new PerfBufferReader(session.perfRings, { sampleLength: eventSize });
    const single = new EventSink(startSeq, 'all');
    for (let length = control.peek(); length >= 0; length = control.peek()) {
      single.accept(control.words, control.bytes, control.sampleOffset, length);
      control.consume();
    }
    assert.ok(single.anomalies > 0, 'the events really are split so that one check sees them out of order');
    assert.equal(single.checksum.hex(), expected);

    for (const mode of PERFBUF_MODES) {
      for (const batch of mode.includes('native') ? [1] : [1, 8]) {
        await produceSplit();
        const ctx = {
          reader: new RingReader(session.ring),
          ring: session.ring,
          ringFd: session.object.ringFd,
          eventSize,
          touch: 'all' as const,
          startSeq,
          idle: () => false,
          perfReader: new PerfBufferReader(session.perfRings, { batch, sampleLength: eventSize }),
          perf: session.perf,
        };
        CONSUMER_MODES[mode].prepare?.(ctx);
        const out = CONSUMER_MODES[mode].drain(ctx);
        const label = `${mode}, batch ${batch}`;
        assert.equal(out.anomalies, 0, `${label}: ${out.firstAnomaly}`);
        assert.equal(out.events, 2 * n, label);
        assert.equal(out.perProducer[0], 2 * n, label);
        assert.equal(out.expectedSeq[0], 2 * n, label);
        assert.equal(out.checksum, expected, label);
        assert.equal(out.lost, 0, label);
      }
    }
  } finally {
    releaseNativeConsumers();
    session.close();
  }
});

interface PipelineJson {
  results: { mode: string; events: number; drops: number; produced: number; lost?: number; checksum: string; latency_ns: unknown }[];
  runs: { mode: string; round: number; events: number; drops: number; produced: number; lost?: number; failures: string[] }[];
  failures: string[];
}

function pipelineJson(args: string[]): PipelineJson {
  const r = spawnSync(process.execPath, [BENCH, ...args, '--json'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `bench ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as PipelineJson;
}

for (const producers of [1, 2])
  test(`pipeline, ${producers} producer(s), --mode perfbuf: every event, sequences per CPU, the checksum computed here, latency recorded`, { skip, timeout: 120_000 }, () => {
    const n = 20_000;
    const eventSize = 100;
    const out = pipelineJson(['--producers', String(producers), '-n', String(n), '--event-size', String(eventSize), '--perf-ring-size', '16M', '--mode', 'perfbuf', '--runs', '1', '--warmup', '0']);
    const per = n / producers;
    const expected = referenceChecksum(
      range(0, producers).flatMap((p) => [...expectedSamples(buildPacket(p, eventSize), eventSize, p, range(0, per))]),
      'field',
    );
    assert.deepEqual(out.results.map((r) => r.mode), ['perf-copy', 'perf-view', 'perf-native']);
    assert.deepEqual(out.failures, []);
    for (const r of out.results) {
      assert.deepEqual([r.events, r.drops, r.produced, r.lost], [n, 0, n, 0], r.mode);
      assert.equal(r.checksum, expected, r.mode);
      assert.ok(r.latency_ns, `${r.mode}: latency`);
    }
  });

for (const producers of [1, 2])
  test(`pipeline, ${producers} pinned producer(s), perf rings of 16 KiB: drops explain every gap, and the kernel's lost records account for them`, { skip, timeout: 120_000 }, (t) => {
    const cpus = range(0, producers).join(',');
    if (producers > 1 && os.cpus().length < 2) return t.skip('needs 2 CPUs');
    // Two runs per mode on one session: a run's last drops are reported (PERF_RECORD_LOST) with its CPU's next
    // output that fits, which the next run's producers, pinned to the same CPUs, make.
    const out = pipelineJson([
      '--producers', String(producers), '--producer-cpus', cpus, '-n', '60000', '--chunk', '3000', '--perf-ring-size', '16K',
      '--wakeup', 'none', '--read-timeout', '5', '--mode', 'perfbuf', '--runs', '2', '--warmup', '0',
    ]);
    assert.deepEqual(out.failures, []);
    for (const mode of ['perf-copy', 'perf-view', 'perf-native']) {
      const runs = out.runs.filter((r) => r.mode === mode);
      assert.equal(runs.length, 2, mode);
      for (const r of runs) {
        assert.equal(r.events + r.drops, r.produced, `${mode}, round ${r.round}: consumed + dropped == produced`);
        assert.equal(r.produced, 60_000);
        assert.deepEqual(r.failures, []);
      }
      assert.ok(runs[0].drops > 0, `${mode}: a 16 KiB ring overflowed (${runs[0].drops} drops)`);
    }
    // A run's last drops are reported with the next run's first outputs, whichever mode that is: count
    // over the session, in the order the runs ran. At no point was more reported lost than dropped; by the
    // end, every drop but the last run's was reported.
    let lost = 0;
    let drops = 0;
    for (const r of out.runs) {
      lost += r.lost ?? 0;
      drops += r.drops;
      assert.ok(lost <= drops, `after ${r.mode} round ${r.round}: ${lost} reported lost, ${drops} dropped`);
    }
    const last = out.runs[out.runs.length - 1];
    assert.ok(lost >= drops - last.drops, `${lost} reported lost, ${drops - last.drops} dropped before the last run`);
  });
