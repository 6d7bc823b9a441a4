/**
 * Overflow: producers outrunning the consumer must lose events only as counted
 * drops, never silently, and what does arrive must be exactly right.
 *
 *  - many rounds of "fill past capacity, then drain" on one small ring: the
 *    positions wrap the ring dozens of times with drops in every round; each
 *    round must deliver exactly the events that fit (computed here from the
 *    kernel's rule: a reserve fails once producer - consumer would pass the
 *    ring size), in order, with the checksum recomputed independently;
 *  - a slow consumer in the real pipeline: no wake-ups (BPF_RB_NO_WAKEUP) and
 *    a long epoll timeout, so it sleeps while two producers overflow a tiny
 *    ring; consumed + dropped == produced exactly and integrity verified.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { missingPrivileges } from '../src/shared/privileges.js';
import { buildPacket, TOUCH_CHOICES } from '../src/shared/event.js';
import { recordsThatFit } from '../src/lib/ring-layout.js';
import { Session } from '../src/shared/session.js';
import { counterDelta, verifyDrain } from '../src/shared/verify.js';
import { drainOnce } from './helpers/drain-once.js';
import { expectedSamples, range, referenceChecksum } from './helpers/reference.js';

const skip = missingPrivileges() ?? false;
const BENCH = path.resolve(__dirname, '..', 'src', 'bench.js');

for (const mode of ['copy', 'view', 'native', 'native-copy', 'callback'] as const)
  for (const touch of TOUCH_CHOICES) {
  test(`${mode}, --touch ${touch}: 40 rounds of overfilling a 16 KiB ring drop exactly the excess and deliver exactly what fit`, { skip }, () => {
    const ringSize = 16 * 1024;
    const eventSize = 200;
    // Record = 8-byte header + sample, rounded up to 8 (kernel/bpf/ringbuf.c); a reserve fails once the
    // producer would be ring-size bytes ahead of the consumer, so the records must sum to at most size - 1.
    const record = Math.ceil((eventSize + 8) / 8) * 8;
    const fit = Math.floor((ringSize - 1) / record);
    const perRound = fit * 3 + 7;
    const session = new Session({ eventSize, ringSize });
    try {
      const packet = buildPacket(5, eventSize);
      let totalDrops = 0;
      for (let round = 0; round < 40; round++) {
        const before = session.readState();
        assert.equal(session.produce(packet, perRound, 5), perRound);
        const after = session.readState();
        // The JavaScript modes alternate one record at a time and runs of 8 (libbpf ignores --batch).
        const outcome = drainOnce(session, mode, eventSize, before, touch, round % 2 ? 8 : 1);
        const delta = counterDelta(before, after);
        assert.deepEqual(verifyDrain(outcome, delta, after), [], `round ${round}`);
        assert.equal(outcome.events, fit, `round ${round}: events that fit`);
        assert.equal(delta.drops[5], perRound - fit, `round ${round}: drops`);
        assert.equal(outcome.events + delta.drops[5], delta.produced[5], 'consumed + dropped == produced');
        // The ones that fit are the first `fit` sequence numbers of this round's fill.
        const first = before.nextSeq[5];
        assert.equal(outcome.checksum, referenceChecksum(expectedSamples(packet, eventSize, 5, range(first, first + fit)), touch), `round ${round}: checksum`);
        totalDrops += delta.drops[5];
      }
      assert.equal(totalDrops, 40 * (perRound - fit));
      // 40 rounds of ~16 KiB: the positions went round the ring 40 times.
      const position = new BigUint64Array(session.ring.consumer, 0, 1)[0];
      assert.equal(position, BigInt(40 * fit * record));
    } finally {
      session.close();
    }
  });
}

test('a ring that is an exact multiple of the record size holds one record less than size / record', { skip }, () => {
  const ringSize = 64 * 1024;
  const eventSize = 24; // record 32 B: 2048 of them would fill the ring to the byte
  const session = new Session({ eventSize, ringSize });
  try {
    session.produce(buildPacket(0, eventSize), ringSize / 32);
    const state = session.readState();
    assert.equal(state.drops[0], 1, 'the last one does not fit');
    assert.equal(recordsThatFit(ringSize, eventSize), ringSize / 32 - 1, 'and the CLI\'s -n check knows it');
    assert.equal(new BigUint64Array(session.ring.producer, 0, 1)[0], BigInt(ringSize - 32));
  } finally {
    session.close();
  }
});

test('a slow consumer (no wake-ups, 200 ms epoll timeout) behind two producers on a 8 KiB ring (4 KiB perf rings), JS and native, both buffers: drops counted, integrity verified', { skip, timeout: 120_000 }, () => {
  const r = spawnSync(
    process.execPath,
    [BENCH, '--producers', '2', '-n', '400k', '--chunk', '500', '--ring-size', '8K', '--event-size', '64', '--wakeup', 'none', '--poll', 'epoll', '--read-timeout', '200ms', '--mode', 'all', '--runs', '1', '--warmup', '0', '--json'],
    { encoding: 'utf8', timeout: 110_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  const { results, failures } = JSON.parse(r.stdout) as {
    results: { mode: string; events: number; drops: number; discards: number; produced: number; epoll_timeouts: number; lost?: number }[];
    failures: string[];
  };
  assert.deepEqual(failures, []);
  assert.deepEqual(results.map((x) => x.mode), ['copy', 'view', 'native', 'perf-copy', 'perf-view', 'perf-native']);
  for (const x of results) {
    assert.equal(x.produced, 400_000, x.mode);
    assert.equal(x.events + x.drops + x.discards, x.produced, `${x.mode}: consumed + dropped == produced`);
    assert.ok(x.drops > 0, `${x.mode}: a sleeping consumer behind an 8 KiB ring must see drops`);
    assert.ok(x.events > 0, `${x.mode}: but it must consume something`);
    if (x.mode.startsWith('perf-')) assert.ok(x.lost !== undefined && x.lost > 0, `${x.mode}: drops reported lost by the kernel`);
  }
  // The kernel reports the perf buffer's drops as lost samples, a run's last ones with the next run's first
  // outputs: over the session, never more than were dropped (the runner checks every run with what is pending).
  const perf = results.filter((x) => x.mode.startsWith('perf-'));
  const lost = perf.reduce((n, x) => n + (x.lost ?? 0), 0);
  const drops = perf.reduce((n, x) => n + x.drops, 0);
  assert.ok(lost <= drops, `${lost} lost of ${drops} dropped over the perf session`);
});
