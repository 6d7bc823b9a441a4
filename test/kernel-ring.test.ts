/**
 * The real BPF program through the real addon: produce events of several
 * sizes, drain them with each reader, and check every sequence number and the
 * checksum against expectations computed independently (helpers/reference.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONSUMER_MODES } from '../src/consumer/modes.js';
import { BUSY, EMPTY, RingReader } from '../src/lib/ring-reader.js';
import { buildPacket, EVENT_HEADER_SIZE, SEQ_BITS } from '../src/shared/event.js';
import { Session } from '../src/shared/session.js';
import type { ModeName } from '../src/shared/types.js';
import { expectedSamples, range, referenceChecksum } from './helpers/reference.js';
import { kernelSkip } from './helpers/kernel.js';

const SIZES = [16, 100, 128, 2048, 3072];
const EVENTS = 3000;

/** Walks the ring with peek/consume, returning each event's producer, sequence and timestamp. */
function walk(reader: RingReader): { producer: number; seq: number; timestamp: bigint; length: number }[] {
  const seen = [];
  const view = new DataView(reader.bytes.buffer);
  for (let length = reader.peek(); length !== EMPTY; length = reader.peek()) {
    assert.notEqual(length, BUSY, 'nothing is busy after the test run returned');
    const tag = view.getBigUint64(reader.sampleOffset + 8, true);
    seen.push({
      producer: Number(tag >> BigInt(SEQ_BITS)),
      seq: Number(tag & ((1n << BigInt(SEQ_BITS)) - 1n)),
      timestamp: view.getBigUint64(reader.sampleOffset, true),
      length,
    });
    reader.consume();
  }
  return seen;
}

for (const eventSize of SIZES) {
  test(`${eventSize}-byte events: every sequence number, in order, with monotonic timestamps`, { skip: kernelSkip }, () => {
    const session = new Session({ eventSize, ringSize: 1 << 24 });
    try {
      const reader = new RingReader(session.ring);
      const before = process.hrtime.bigint();
      assert.equal(session.produce(buildPacket(7, eventSize), EVENTS, 7), EVENTS);
      const after = process.hrtime.bigint();
      const seen = walk(reader);
      assert.equal(seen.length, EVENTS);
      seen.forEach((e, i) => {
        assert.equal(e.length, eventSize);
        assert.equal(e.producer, 7);
        assert.equal(e.seq, i, `event ${i}`);
        assert.ok(e.timestamp >= before && e.timestamp <= after, 'bpf_ktime_get_ns() is CLOCK_MONOTONIC, like hrtime');
        if (i) assert.ok(e.timestamp >= seen[i - 1].timestamp);
      });
      const state = session.readState();
      assert.equal(state.nextSeq[7], EVENTS);
      assert.equal(state.drops[7], 0);
    } finally {
      session.close();
    }
  });

  test(`${eventSize}-byte events: copy and view drain the same events with the expected checksum`, { skip: kernelSkip }, () => {
    const session = new Session({ eventSize, ringSize: 1 << 24 });
    try {
      const reader = new RingReader(session.ring, { batch: 7 });
      const packet = buildPacket(0, eventSize);
      const expected = referenceChecksum(expectedSamples(packet, eventSize, 0, range(0, EVENTS)));
      for (const mode of ['copy', 'view', 'copy'] as ModeName[]) {
        session.resetState();
        session.produce(packet, EVENTS);
        const out = CONSUMER_MODES[mode].drain({
          reader,
          ring: session.ring,
          ringFd: session.object.ringFd,
          eventSize,
          touch: 'all',
          startSeq: session.readState().nextSeq.map(() => 0),
          idle: () => false,
        });
        assert.equal(out.events, EVENTS, mode);
        assert.equal(out.anomalies, 0, `${mode}: ${out.firstAnomaly}`);
        assert.equal(out.perProducer[0], EVENTS);
        assert.equal(out.checksum, expected, `${mode} checksum`);
      }
    } finally {
      session.close();
    }
  });
}

test('a small ring wraps many times across fills; the payload survives the wrap', { skip: kernelSkip }, () => {
  const eventSize = 100; // 112-byte records: they straddle the end of a 16 KiB ring
  const session = new Session({ eventSize, ringSize: 1 << 14 });
  try {
    const reader = new RingReader(session.ring);
    const packet = buildPacket(3, eventSize);
    const perFill = Math.floor((1 << 14) / 112) - 1;
    let seq = 0;
    let wrapped = 0;
    for (let fill = 0; fill < 20; fill++) {
      session.produce(packet, perFill, 3);
      const copy = new Uint8Array(eventSize);
      for (let i = 0; i < perFill; i++) {
        const start = reader.position % (1 << 14);
        if (start + 112 > 1 << 14) wrapped++;
        assert.equal(reader.readInto(copy), eventSize);
        const tag = new DataView(copy.buffer).getBigUint64(8, true);
        assert.equal(tag, (3n << 48n) | BigInt(seq++));
        assert.deepEqual(copy.subarray(EVENT_HEADER_SIZE), packet.subarray(0, eventSize - EVENT_HEADER_SIZE));
      }
      assert.equal(reader.peek(), EMPTY);
    }
    assert.ok(wrapped > 5, `records straddled the end ${wrapped} times`);
    assert.equal(session.readState().drops[3], 0);
  } finally {
    session.close();
  }
});

test('records the program discards are skipped, and the counters account for them', { skip: kernelSkip }, () => {
  const session = new Session({ eventSize: 64, ringSize: 1 << 20, discardEvery: 3 });
  try {
    const reader = new RingReader(session.ring);
    session.produce(buildPacket(1, 64), 300, 1);
    const seqs = walk(reader).map((e) => e.seq);
    assert.deepEqual(seqs, range(0, 300).filter((s) => s % 3 !== 2));
    const state = session.readState();
    assert.equal(state.discards[1], 100);
    assert.equal(state.nextSeq[1], 300);
  } finally {
    session.close();
  }
});

test('a full ring counts drops in the program instead of overwriting', { skip: kernelSkip }, () => {
  const session = new Session({ eventSize: 128, ringSize: 1 << 14 });
  try {
    const fit = Math.floor((1 << 14) / 136);
    session.produce(buildPacket(0, 128), 500);
    const seen = walk(new RingReader(session.ring));
    assert.equal(seen.length, fit);
    assert.deepEqual(seen.map((e) => e.seq), range(0, fit));
    assert.equal(session.readState().drops[0], 500 - fit);
  } finally {
    session.close();
  }
});
