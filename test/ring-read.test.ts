/**
 * Reading a ring another process fills (test/fixtures/ring-producer): every
 * event, in view mode and in copy mode, through each reading API a library
 * user has (the forwarded peek/consume and readInto, events(), onData()), with
 * the count, every sequence number and the checksum checked against the
 * independent reference. A small ring makes the records wrap many times.
 */
import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';
import { BUSY, EMPTY, openRing, recordSize, type Ring, type RingRecord } from '../src/lib/index.js';
import { bpffsSkip } from './helpers/bpffs.js';
import { EventCheck } from './helpers/event-check.js';
import { kernelSkip } from './helpers/kernel.js';
import { ProducerProcess } from './helpers/producer-process.js';

const skip = kernelSkip || bpffsSkip();
const EVENT_SIZE = 100; // 112-byte records: they straddle the end of the ring
const RING_SIZE = 1 << 16;
const PER_ROUND = Math.floor((RING_SIZE - 1) / recordSize(EVENT_SIZE)); // a full ring
const ROUNDS = 6;

let fixture: ProducerProcess;
let seq = 0; // the fixture's next sequence number: it continues across tests
before(async () => {
  if (!skip) fixture = await ProducerProcess.start({ eventSize: EVENT_SIZE, ringSize: RING_SIZE, pinState: true });
});
after(async () => {
  await fixture?.stop();
});

/** Fills the ring ROUNDS times, each time reading it empty with `drain`; checks every event and the checksum. */
async function readRounds(drain: (ring: Ring, check: EventCheck) => Promise<void> | void, ring = openRing({ pinned: fixture.pin })): Promise<void> {
  const check = new EventCheck(EVENT_SIZE, 0, seq);
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const r = await fixture.produce(PER_ROUND);
      assert.equal(r.drops, 0, 'the ring was empty: nothing dropped');
      seq = r.nextSeq;
      await drain(ring, check);
      assert.equal(check.count, (round + 1) * PER_ROUND, `round ${round}`);
      assert.equal(ring.peek(), EMPTY);
    }
  } finally {
    ring.close();
  }
  assert.equal(check.problem, undefined);
  assert.equal(check.checksum.hex(), check.expectedChecksum());
}

test('view mode, peek/consume: every event of a full ring, six times around', { skip }, () =>
  readRounds((ring, check) => {
    const { words, bytes } = ring;
    for (let length = ring.peek(); length !== EMPTY; length = ring.peek()) {
      assert.notEqual(length, BUSY);
      check.add(words, bytes, ring.sampleOffset, length);
      ring.consume();
    }
  }));

test('copy mode, readInto: every event, the copy survives the record being consumed', { skip }, () =>
  readRounds((ring, check) => {
    const copy = new Uint8Array(EVENT_SIZE + 4);
    const words = new Int32Array(copy.buffer);
    for (let length = ring.readInto(copy); length !== EMPTY; length = ring.readInto(copy)) check.add(words, copy, 0, length);
  }));

test('the reader itself (ring.reader), batched commit: the kernel sees the position every 16 records', { skip }, () =>
  readRounds(
    (ring, check) => {
      const reader = ring.reader;
      const start = ring.consumerPosition;
      for (let i = 1, length = reader.peek(); length !== EMPTY; i++, length = reader.peek()) {
        check.add(reader.words, reader.bytes, reader.sampleOffset, length);
        reader.consume();
        const published = (ring.consumerPosition - start) / recordSize(EVENT_SIZE);
        assert.equal(published, i - (i % 16), `after ${i} records`);
      }
      assert.equal(ring.consumerPosition, ring.position, 'EMPTY publishes the rest');
    },
    openRing({ pinned: fixture.pin }, { batch: 16 }),
  ));

for (const mode of ['view', 'copy'] as const) {
  test(`events(), ${mode} mode: every event, then the loop waits; abort ends it`, { skip }, () =>
    readRounds(async (ring, check) => {
      const stop = new AbortController();
      const target = check.count + PER_ROUND;
      await assert.rejects(async () => {
        for await (const r of ring.events({ mode, signal: stop.signal })) {
          check.add(r.words, r.bytes, r.offset, r.length);
          if (mode === 'copy') assert.equal(r.offset, 0);
          if (check.count === target) setTimeout(() => stop.abort(), 20); // abort while it waits on an empty ring
        }
      }, { name: 'AbortError' });
    }));

  test(`onData(), ${mode} mode: every event; the handler sees a record valid during the call`, { skip }, () =>
    readRounds(async (ring, check) => {
      const stop = new AbortController();
      const target = check.count + PER_ROUND;
      const handler = (r: RingRecord): void => {
        check.add(r.words, r.bytes, r.offset, r.length);
        if (check.count === target) stop.abort();
      };
      await assert.rejects(ring.onData(handler, { mode, signal: stop.signal }), { name: 'AbortError' });
    }));
}

test('for await (const r of ring): the default is view mode over the mapping; copy() keeps a sample', { skip }, async () => {
  const ring = openRing({ pinned: fixture.pin });
  const r = await fixture.produce(3);
  const kept: Uint8Array[] = [];
  try {
    for await (const record of ring) {
      assert.equal(record.bytes, ring.bytes, 'view mode: the ring mapping itself');
      assert.deepEqual(record.sample(), record.bytes.subarray(record.offset, record.offset + record.length));
      kept.push(record.copy());
      if (kept.length === 3) break;
    }
  } finally {
    ring.close();
  }
  const check = new EventCheck(EVENT_SIZE, 0, r.nextSeq - 3);
  for (const k of kept) check.add(new Int32Array(k.buffer), k, 0, k.length);
  assert.equal(check.problem, undefined);
  assert.equal(check.checksum.hex(), check.expectedChecksum());
  seq = r.nextSeq;
});
