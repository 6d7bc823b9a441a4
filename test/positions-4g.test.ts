/**
 * Positions past 2^32. The ring's producer and consumer positions are 64-bit
 * byte counters that never wrap; a consumer that published only 32 bits
 * would, after 4 GiB of traffic, tell the kernel it is 4 GiB behind and every
 * reserve would fail. This moves more than 4 GiB through a 16 MiB ring (2 KiB
 * events, rounds of fill + drain, copy and view alternating) and checks, every
 * round, zero drops and exact integrity, and at the end reads the 64-bit words
 * of the consumer and producer pages themselves: both past 2^32 and equal.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { missingPrivileges } from '../src/shared/privileges.js';
import { buildPacket } from '../src/shared/event.js';
import { Session } from '../src/shared/session.js';
import { counterDelta, verifyDrain } from '../src/shared/verify.js';
import { drainOnce } from './helpers/drain-once.js';
import { expectedSamples, range, referenceChecksum } from './helpers/reference.js';

const skip = missingPrivileges() ?? false;
const FOUR_GIB = 2 ** 32;

test('more than 4 GiB through a 16 MiB ring: no spurious drops, every round verified, the u64 positions cross 2^32', { skip, timeout: 300_000 }, () => {
  const ringSize = 16 * 1024 * 1024;
  const eventSize = 2048;
  const record = Math.ceil((eventSize + 8) / 8) * 8; // 8-byte header, rounded to 8
  const perFill = Math.floor((ringSize - 1) / record); // the producer stays < ring size ahead
  // Past 2^32 by 16 ring-fulls, so a good number of rounds run after the crossing too.
  const rounds = Math.ceil((FOUR_GIB + 16 * ringSize) / (perFill * record));
  const packet = buildPacket(0, eventSize);
  // Every round resets the sequences, so every round must carry exactly these events.
  const expected = referenceChecksum(expectedSamples(packet, eventSize, 0, range(0, perFill)));
  const session = new Session({ eventSize, ringSize });
  const consumerWord = new BigUint64Array(session.ring.consumer, 0, 1);
  const producerWord = new BigUint64Array(session.ring.producer, 0, 1);
  const started = performance.now();
  let moved = 0;
  let crossedInRound = -1;
  try {
    for (let round = 0; round < rounds; round++) {
      session.resetState();
      const before = session.readState();
      session.produce(packet, perFill);
      const after = session.readState();
      const delta = counterDelta(before, after);
      assert.equal(delta.drops[0], 0, `round ${round}: spurious drops at position ${consumerWord[0]}`);
      // Both modes, one record at a time and in runs of 64 (one set() per run), on both sides of 2^32.
      const mode = round % 2 ? 'view' : 'copy';
      const batch = round % 4 < 2 ? 1 : 64;
      const outcome = drainOnce(session, mode, eventSize, before, 'all', batch);
      assert.deepEqual(verifyDrain(outcome, delta, after), [], `round ${round} (${mode})`);
      assert.equal(outcome.events, perFill);
      assert.equal(outcome.checksum, expected, `round ${round} (${mode}) checksum`);
      moved += perFill * record;
      if (crossedInRound < 0 && consumerWord[0] >= BigInt(FOUR_GIB)) crossedInRound = round;
    }
  } finally {
    session.close();
  }
  const seconds = (performance.now() - started) / 1e3;
  const consumer = consumerWord[0];
  const producer = producerWord[0];
  console.log(
    `moved ${(moved / 1e9).toFixed(2)} GB (${rounds} rounds x ${perFill} events of ${eventSize} B) in ${seconds.toFixed(1)} s; ` +
      `consumer position ${consumer} = 0x${consumer.toString(16)}, crossed 2^32 in round ${crossedInRound}`,
  );
  assert.equal(consumer, BigInt(moved), 'the published consumer position counts every byte consumed');
  assert.equal(producer, consumer, 'the kernel agrees: nothing left unread');
  assert.ok(consumer > BigInt(FOUR_GIB), 'the position really passed 2^32');
  assert.ok(new Uint32Array(session.ring.consumer, 0, 2)[1] >= 1, 'the high 32-bit half of the consumer word is set');
  assert.ok(crossedInRound > 0 && crossedInRound < rounds - 8, 'rounds ran on both sides of the crossing');
});
