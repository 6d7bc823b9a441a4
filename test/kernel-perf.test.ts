/**
 * The perf buffer on the real kernel: events the real program writes with
 * bpf_perf_event_output() (BPF_PROG_TEST_RUN, from one thread and from two
 * threads pinned to different CPUs), read back through the JavaScript readers
 * (copy and view) and the native perf consumer (libbpf perf_buffer__consume,
 * in place and copying), checked against sequences and checksums computed
 * independently (helpers/reference.ts); drops against PERF_RECORD_LOST.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { drainNative, nativePerfConsumerFor, releaseNativeConsumers } from '../src/consumer/native-consumer.js';
import { EMPTY, PerfBufferReader } from '../src/lib/perf-reader.js';
import { perfRecordSize, perfRecordsThatFit } from '../src/lib/perf-layout.js';
import { buildPacket, EVENT_HEADER_SIZE, SEQ_BITS } from '../src/shared/event.js';
import { Session } from '../src/shared/session.js';
import { kernelSkipFor } from './helpers/kernel.js';
import { drainPerf } from './helpers/perf-drain.js';
import { runProducerThread } from './helpers/producer-thread.js';
import { expectedSamples, range, referenceChecksum } from './helpers/reference.js';

const skip = kernelSkipFor({ buffer: 'perfbuf' });
const EVENTS = 2000;
const stopWhenEmpty = () => false;

function zeros(): number[] {
  return new Array(64).fill(0);
}

for (const eventSize of [16, 100, 128, 2048, 3072]) {
  test(`perfbuf, ${eventSize} B: JS copy, JS view, native and native-copy read the same events with the reference checksum`, { skip }, () => {
    const session = new Session({ eventSize, ringSize: 8 << 20, buffer: 'perfbuf' });
    try {
      const packet = buildPacket(0, eventSize);
      const expected = referenceChecksum(expectedSamples(packet, eventSize, 0, range(0, EVENTS)));
      for (const mode of ['copy', 'view', 'native', 'native-copy'] as const) {
        session.resetState();
        assert.equal(session.produce(packet, EVENTS), EVENTS);
        const state = session.readState();
        assert.equal(state.drops[0], 0);
        const out =
          mode === 'copy' || mode === 'view'
            ? drainPerf(new PerfBufferReader(session.perfRings, { sampleLength: eventSize }), mode, eventSize, zeros())
            : drainNative(nativePerfConsumerFor(session.perf!, eventSize, mode === 'native' ? 'in-place' : 'copy', 'all'), zeros(), stopWhenEmpty);
        assert.equal(out.events, EVENTS, mode);
        assert.equal(out.anomalies, 0, `${mode}: ${out.firstAnomaly}`);
        assert.equal(out.perProducer[0], EVENTS, mode);
        assert.equal(out.expectedSeq[0], EVENTS, mode);
        assert.equal(out.checksum, expected, `${mode} checksum`);
        assert.equal(out.lost, 0, mode);
      }
    } finally {
      releaseNativeConsumers();
      session.close();
    }
  });
}

test('perfbuf: every event in order per CPU, with the program\'s header and the packet\'s payload', { skip }, () => {
  const eventSize = 100;
  const session = new Session({ eventSize, ringSize: 1 << 20, buffer: 'perfbuf' });
  try {
    const packet = buildPacket(7, eventSize);
    const before = process.hrtime.bigint();
    session.produce(packet, 500, 7);
    const after = process.hrtime.bigint();
    const reader = new PerfBufferReader(session.perfRings, { sampleLength: eventSize });
    const copy = new Uint8Array(eventSize);
    const lastSeq = new Map<number, number>();
    let n = 0;
    for (let length = reader.readInto(copy); length !== EMPTY; length = reader.readInto(copy), n++) {
      assert.equal(length, eventSize);
      const view = new DataView(copy.buffer);
      const ts = view.getBigUint64(0, true);
      assert.ok(ts >= before && ts <= after, 'bpf_ktime_get_ns() is CLOCK_MONOTONIC, like hrtime');
      const tag = view.getBigUint64(8, true);
      assert.equal(tag >> BigInt(SEQ_BITS), 7n);
      const seq = Number(tag & ((1n << BigInt(SEQ_BITS)) - 1n));
      assert.ok(seq > (lastSeq.get(reader.cpu) ?? -1), 'in order within a CPU\'s ring');
      lastSeq.set(reader.cpu, seq);
      assert.deepEqual(copy.subarray(EVENT_HEADER_SIZE), packet.subarray(0, eventSize - EVENT_HEADER_SIZE));
    }
    assert.equal(n, 500);
  } finally {
    session.close();
  }
});

test('perfbuf, two producer threads pinned to two CPUs: each CPU\'s ring holds its producer\'s events; JS and native agree', { skip }, async (t) => {
  const eventSize = 128;
  const session = new Session({ eventSize, ringSize: 4 << 20, buffer: 'perfbuf' });
  try {
    if (session.perfRings.length < 2) return t.skip('needs 2 online CPUs');
    const cpus = session.perfRings.map((r) => r.cpu);
    const expected = referenceChecksum([
      ...expectedSamples(buildPacket(0, eventSize), eventSize, 0, range(0, EVENTS)),
      ...expectedSamples(buildPacket(1, eventSize), eventSize, 1, range(0, EVENTS)),
    ]);
    const produce = () =>
      Promise.all([0, 1].map((p) => runProducerThread({ fds: session.triggerFds, producerId: p, eventSize, events: EVENTS, cpu: cpus[p] })));
    for (const mode of ['view', 'copy', 'native', 'native-copy'] as const) {
      session.resetState();
      await produce();
      const state = session.readState();
      assert.deepEqual([state.nextSeq[0], state.nextSeq[1], state.drops[0], state.drops[1]], [EVENTS, EVENTS, 0, 0]);
      if (mode === 'view' || mode === 'copy') {
        const out = drainPerf(new PerfBufferReader(session.perfRings, { sampleLength: eventSize }), mode, eventSize, zeros());
        assert.equal(out.perCpu.get(cpus[0])?.[0], EVENTS, 'producer 0 pinned to the first CPU');
        assert.equal(out.perCpu.get(cpus[1])?.[1], EVENTS, 'producer 1 pinned to the second CPU');
        assert.equal(out.perCpu.get(cpus[0])?.[1] ?? 0, 0);
        assert.equal(out.perCpu.get(cpus[1])?.[0] ?? 0, 0);
        assert.equal(out.anomalies, 0, out.firstAnomaly);
        assert.equal(out.checksum, expected, mode);
      } else {
        const out = drainNative(nativePerfConsumerFor(session.perf!, eventSize, mode === 'native' ? 'in-place' : 'copy', 'all'), zeros(), stopWhenEmpty);
        assert.equal(out.events, 2 * EVENTS, mode);
        assert.deepEqual([out.perProducer[0], out.perProducer[1], out.expectedSeq[0], out.expectedSeq[1]], [EVENTS, EVENTS, EVENTS, EVENTS]);
        assert.equal(out.anomalies, 0, out.firstAnomaly);
        assert.equal(out.checksum, expected, mode);
      }
    }
  } finally {
    releaseNativeConsumers();
    session.close();
  }
});

test('perfbuf, a full ring: the program\'s drops equal the kernel\'s PERF_RECORD_LOST counts, in JS and native', { skip }, async () => {
  const eventSize = 128;
  const pageSize = 4096;
  const ringSize = 4 * pageSize;
  const fit = perfRecordsThatFit(ringSize, eventSize);
  const session = new Session({ eventSize, ringSize, buffer: 'perfbuf' });
  try {
    for (const consumer of ['js', 'native'] as const) {
      session.resetState();
      const fds = session.triggerFds;
      await runProducerThread({ fds, producerId: 0, eventSize, events: 500, cpu: 0 });
      const state = session.readState();
      assert.equal(state.drops[0], 500 - fit, `the program counted ${500 - fit} drops`);
      const reader = new PerfBufferReader(session.perfRings, { sampleLength: eventSize });
      const native = nativePerfConsumerFor(session.perf!, eventSize, 'in-place', 'all');
      const drain = () => (consumer === 'js' ? drainPerf(reader, 'view', eventSize, zeros()) : drainNative(native, zeros(), stopWhenEmpty));
      const first = drain();
      assert.equal(first.events, fit);
      assert.deepEqual(Array.from(first.perProducer).slice(0, 1), [fit]);
      assert.equal(first.lost, 0, 'the kernel writes the lost record with the next output that fits');
      // One more event: the kernel first writes PERF_RECORD_LOST with every sample it could not write.
      await runProducerThread({ fds, producerId: 0, eventSize, events: 1, cpu: 0 });
      const second = drain();
      assert.equal(second.events, 1);
      assert.equal(second.expectedSeq[0], 501, 'the event after the gap: sequence 500');
      assert.equal(second.lost, state.drops[0], `${consumer}: PERF_RECORD_LOST counts = the program's drops`);
    }
  } finally {
    releaseNativeConsumers();
    session.close();
  }
});

test('perfbuf, a 16 KiB ring filled and drained many times: samples that wrap the end survive, in view and copy', { skip }, async () => {
  const eventSize = 100; // 112-byte records: they straddle the end of a 16 KiB ring
  const ringSize = 16384;
  const session = new Session({ eventSize, ringSize, buffer: 'perfbuf' });
  try {
    const packet = buildPacket(3, eventSize);
    const perFill = perfRecordsThatFit(ringSize, eventSize);
    const reader = new PerfBufferReader(session.perfRings, { sampleLength: eventSize, batch: 5 });
    const ring0 = reader.readers[0];
    let seq = 0;
    let wrapped = 0;
    for (let fill = 0; fill < 12; fill++) {
      await runProducerThread({ fds: session.triggerFds, producerId: 3, eventSize, events: perFill, cpu: 0 });
      for (let i = 0; i < perFill; i++) {
        const at = ring0.position % ringSize;
        if (at + perfRecordSize(eventSize) > ringSize) wrapped++;
        let sample: Uint8Array;
        if (fill % 2 === 0) {
          // view: in place, or from the scratch copy when the sample wraps
          assert.equal(reader.peek(), eventSize);
          sample = reader.bytes.slice(reader.sampleOffset, reader.sampleOffset + eventSize);
          reader.consume();
        } else {
          sample = new Uint8Array(eventSize);
          assert.equal(reader.readInto(sample), eventSize);
        }
        assert.equal(reader.cpu, 0);
        const tag = new DataView(sample.buffer).getBigUint64(8, true);
        assert.equal(tag, (3n << 48n) | BigInt(seq++));
        assert.deepEqual(sample.subarray(EVENT_HEADER_SIZE), packet.subarray(0, eventSize - EVENT_HEADER_SIZE), `event ${seq - 1}`);
      }
      assert.equal(reader.peek(), EMPTY);
    }
    assert.ok(wrapped >= 5, `samples straddled the end ${wrapped} times`);
    assert.equal(session.readState().drops[3], 0);
  } finally {
    session.close();
  }
});

test('perfbuf: the JS reader and the native consumer take turns on the same rings through data_tail', { skip }, async () => {
  const eventSize = 64;
  const session = new Session({ eventSize, ringSize: 1 << 16, buffer: 'perfbuf' });
  try {
    const fds = session.triggerFds;
    await runProducerThread({ fds, producerId: 0, eventSize, events: 20, cpu: 0 });
    const js = new PerfBufferReader(session.perfRings, { sampleLength: eventSize });
    for (let i = 0; i < 7; i++) {
      assert.equal(js.peek(), eventSize);
      js.consume();
    }
    js.commit();
    const start = zeros();
    start[0] = 7;
    const native = drainNative(nativePerfConsumerFor(session.perf!, eventSize, 'in-place', 'all'), start, stopWhenEmpty);
    assert.equal(native.events, 13, 'libbpf started where JS published data_tail');
    assert.equal(native.anomalies, 0, native.firstAnomaly);
    assert.equal(native.checksum, referenceChecksum(expectedSamples(buildPacket(0, eventSize), eventSize, 0, range(7, 20))));
    for (const ring of session.perfRings) {
      const page = new BigUint64Array(ring.buffer, 1024, 2);
      assert.equal(page[1], page[0], `cpu ${ring.cpu}: libbpf published data_tail = data_head`);
    }
    await runProducerThread({ fds, producerId: 0, eventSize, events: 5, cpu: 0 });
    const after = drainPerf(new PerfBufferReader(session.perfRings, { sampleLength: eventSize }), 'copy', eventSize, [20]);
    assert.equal(after.events, 5, 'a reader made now starts where libbpf stopped');
    assert.equal(after.expectedSeq[0], 25);
    assert.equal(after.anomalies, 0);
  } finally {
    releaseNativeConsumers();
    session.close();
  }
});

test('perfbuf: close() clears the perf map; the JS mappings stay readable until collected', { skip }, () => {
  const eventSize = 32;
  const session = new Session({ eventSize, ringSize: 1 << 16, buffer: 'perfbuf' });
  const rings = session.perfRings;
  session.produce(buildPacket(0, eventSize), 10);
  session.close();
  const out = drainPerf(new PerfBufferReader(rings, { sampleLength: eventSize }), 'view', eventSize, zeros());
  assert.equal(out.events, 10);
});

/** The child: opens, uses and closes perfbuf sessions; prints how many perf ring mappings survive a settled gc. */
const RESOURCES_CHILD = `
const fs = require('fs');
const { Session } = require(${JSON.stringify(path.resolve(__dirname, '..', 'src', 'shared', 'session.js'))});
const { PerfBufferReader } = require(${JSON.stringify(path.resolve(__dirname, '..', 'src', 'lib', 'perf-reader.js'))});
const { buildPacket } = require(${JSON.stringify(path.resolve(__dirname, '..', 'src', 'shared', 'event.js'))});
const keep = process.argv[1] === 'keep';
const kept = [];
const perfMappings = () => fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.includes('[perf_event]')).length;
// A plain function per session: an async function keeps its locals in its suspended
// frame across awaits, which would hold the last session's buffers alive.
function once() {
  const s = new Session({ eventSize: 128, ringSize: 1 << 20, buffer: 'perfbuf' });
  s.produce(buildPacket(0, 128), 1000);
  const r = new PerfBufferReader(s.perfRings, { sampleLength: 128 });
  while (r.peek() > 0) r.consume();
  s.close();
  if (keep) kept.push(s.perfRings);
}
(async () => {
  for (let i = 0; i < 20; i++) once();
  let n = perfMappings();
  for (let t = 0; n > 0 && t < 20; t++) { gc(); await new Promise((res) => setTimeout(res, 100)); n = perfMappings(); }
  console.log(JSON.stringify({ mappings: n, rings: kept.length ? kept[0].length : 0 }));
})();
`;

test('perfbuf sessions in one process: a closed session\'s ring mappings go with their SharedArrayBuffers (control: kept ones stay)', { skip }, () => {
  const run = (mode: string) => {
    const r = spawnSync(process.execPath, ['--expose-gc', '-e', RESOURCES_CHILD, mode], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { mappings: number; rings: number };
  };
  assert.equal(run('release').mappings, 0, 'no perf ring mapping outlives its session');
  const kept = run('keep');
  assert.equal(kept.mappings, 20 * kept.rings, 'the count sees mappings that are still referenced');
});
