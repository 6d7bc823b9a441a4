/**
 * The native reference consumer on the real kernel: it must see exactly the
 * events the JavaScript consumers see, with the same checksum, and take turns
 * with a RingReader on one ring (libbpf keeps its position in the shared
 * consumer page, not privately).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONSUMER_MODES, type DrainContext } from '../src/consumer/modes.js';
import { drainNative, nativeConsumerFor, releaseNativeConsumers } from '../src/consumer/native-consumer.js';
import { EMPTY, RingReader } from '../src/lib/ring-reader.js';
import { runPrefill } from '../src/runners/prefill.js';
import { buildPacket, TOUCH_CHOICES } from '../src/shared/event.js';
import { recordSize } from '../src/lib/ring-layout.js';
import { Session } from '../src/shared/session.js';
import type { ModeName } from '../src/shared/types.js';
import { kernelSkip } from './helpers/kernel.js';
import { expectedSamples, range, referenceChecksum } from './helpers/reference.js';

const ALL: ModeName[] = ['copy', 'view', 'native', 'native-copy', 'callback'];
const stopWhenEmpty = () => false;

for (const eventSize of [16, 100, 128, 2048])
  for (const touch of TOUCH_CHOICES)
    for (const batch of [1, 64])
      test(`every mode agrees on ${eventSize} B events, --touch ${touch}, --batch ${batch}, with the reference checksum`, { skip: kernelSkip }, () => {
        // Not a multiple of 64: the last run of a batched drain is short.
        const events = 3001;
        const runs = runPrefill({ events, modes: ALL, eventSize, ringSize: 16 * 1024 ** 2, batch, touch, runs: 2, warmup: 0 });
        assert.equal(runs.length, ALL.length * 2);
        const expected = referenceChecksum(expectedSamples(buildPacket(0, eventSize), eventSize, 0, range(0, events)), touch);
        for (const run of runs) {
          assert.deepEqual(run.failures, [], `${run.result.mode} round ${run.round}`);
          assert.equal(run.result.events, events, run.result.mode);
          assert.equal(run.result.touch, touch);
          assert.equal(run.result.checksum, expected, `${run.result.mode} round ${run.round}`);
        }
        assert.deepEqual(new Set(runs.map((r) => r.result.mode)), new Set(ALL));
      });

test('the two touch levels give different checksums over the same events (so each test above tells them apart)', () => {
  const samples = [...expectedSamples(buildPacket(0, 128), 128, 0, range(0, 10))];
  assert.notEqual(referenceChecksum(samples, 'field'), referenceChecksum(samples, 'all'));
});

test('callback mode: an exception in the JavaScript callback ends the drain and reaches the caller', { skip: kernelSkip }, () => {
  const eventSize = 64;
  const session = new Session({ eventSize, ringSize: 1024 * 1024 });
  try {
    session.produce(buildPacket(0, eventSize), 10);
    const consumer = nativeConsumerFor(session.ring, session.object.ringFd, eventSize, 'callback', 'field');
    let calls = 0;
    assert.throws(
      () =>
        consumer.consume(() => {
          if (++calls === 3) throw new Error('stop here');
        }),
      /stop here/,
    );
    assert.equal(calls, 3);
    // libbpf consumed the record whose callback threw; the rest are still there, in order.
    const seqs: number[] = [];
    assert.equal(consumer.consume((sample) => seqs.push(new DataView(sample.buffer, sample.byteOffset).getUint32(8, true))), EMPTY);
    assert.deepEqual(seqs, range(3, 10));
  } finally {
    releaseNativeConsumers();
    session.close();
  }
});

test('native and RingReader take turns on one ring through the shared consumer position', { skip: kernelSkip }, () => {
  const eventSize = 100;
  const session = new Session({ eventSize, ringSize: 1024 * 1024 });
  try {
    const packet = buildPacket(0, eventSize);
    const consumerPosition = new BigUint64Array(session.ring.consumer, 0, 1);
    const producerPosition = new BigUint64Array(session.ring.producer, 0, 1);
    const native = nativeConsumerFor(session.ring, session.object.ringFd, eventSize, 'in-place', 'all');

    // JS reads the first 7 of 20 and publishes its position; native must start at event 7.
    session.produce(packet, 20);
    const js = new RingReader(session.ring, { batch: 1 });
    for (let i = 0; i < 7; i++) {
      assert.ok(js.peek() >= 0);
      js.consume();
    }
    assert.equal(consumerPosition[0], BigInt(7 * recordSize(eventSize)));
    const start = new Array(64).fill(0);
    start[0] = 7;
    const first = drainNative(native, start, stopWhenEmpty);
    assert.equal(first.events, 13);
    assert.equal(first.anomalies, 0);
    assert.equal(first.expectedSeq[0], 20);
    assert.equal(first.checksum, referenceChecksum(expectedSamples(packet, eventSize, 0, range(7, 20))));
    assert.equal(consumerPosition[0], producerPosition[0], 'libbpf published its position');

    // Then a RingReader made now starts where libbpf stopped.
    session.produce(packet, 5);
    const after = new RingReader(session.ring, { batch: 4 });
    const seqs: number[] = [];
    for (let length = after.peek(); length !== EMPTY; length = after.peek()) {
      seqs.push(new DataView(session.ring.producer).getUint32(after.sampleOffset + 8, true));
      after.consume();
    }
    assert.deepEqual(seqs, range(20, 25));
    assert.equal(consumerPosition[0], producerPosition[0]);
  } finally {
    releaseNativeConsumers();
    session.close();
  }
});

test('native modes skip discarded records and count the gaps, like the JS sink', { skip: kernelSkip }, () => {
  const eventSize = 128;
  const session = new Session({ eventSize, ringSize: 1024 * 1024, discardEvery: 3 });
  try {
    const packet = buildPacket(0, eventSize);
    const outcomes = new Map<ModeName, { checksum: string; lastSeq: number }>();
    for (const mode of ALL) {
      const before = session.readState();
      session.produce(packet, 30);
      const after = session.readState();
      const ctx: DrainContext = {
        reader: new RingReader(session.ring),
        ring: session.ring,
        ringFd: session.object.ringFd,
        eventSize,
        touch: 'all' as const,
        startSeq: before.nextSeq,
        idle: stopWhenEmpty,
      };
      CONSUMER_MODES[mode].prepare?.(ctx);
      const outcome = CONSUMER_MODES[mode].drain(ctx);
      const discards = after.discards[0] - before.discards[0];
      assert.ok(discards > 0, 'the program discarded some events');
      assert.equal(outcome.events, 30 - discards, mode);
      assert.equal(outcome.perProducer[0], 30 - discards, mode);
      assert.ok(outcome.expectedSeq[0] <= after.nextSeq[0], mode);
      assert.equal(outcome.anomalies, 0, mode);
      outcomes.set(mode, { checksum: outcome.checksum, lastSeq: outcome.expectedSeq[0] });
      session.resetState();
    }
    // Every mode drained the same 30 sequence numbers (state reset between), so they agree.
    assert.equal(new Set([...outcomes.values()].map((o) => o.checksum)).size, 1);
    assert.equal(new Set([...outcomes.values()].map((o) => o.lastSeq)).size, 1);
  } finally {
    releaseNativeConsumers();
    session.close();
  }
});
