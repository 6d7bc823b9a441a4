/**
 * The epoll stall watchdog (src/watchdog.ts): its rule on given timings, a
 * real stall on the real kernel (records submitted with BPF_RB_NO_WAKEUP while
 * the consumer sleeps in epoll_wait longer than the watchdog allows), and the
 * pipeline's epoll consumer under each wake-up mode passing it.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { SUBMIT_FLAGS } from '../src/shared/config.js';
import { missingPrivileges } from '../src/shared/privileges.js';
import { RingReader } from '../src/lib/ring-reader.js';
import { buildPacket } from '../src/shared/event.js';
import { addon } from '../src/lib/addon.js';
import { Session } from '../src/shared/session.js';
import { StallWatchdog } from '../src/consumer/watchdog.js';

const skip = missingPrivileges() ?? false;
const BENCH = path.resolve(__dirname, '..', 'src', 'bench.js');

test('the rule: a wait or data older than timeout + slack is a stall, anything within is not', () => {
  const w = new StallWatchdog(100, 50);
  const ms = 1e6;
  w.beforeWait(1000);
  w.afterWait(undefined, 0, 1149); // 149 ms wait, ring empty: within 150
  w.beforeWait(2000);
  w.afterWait(5000 * ms - 149 * ms, 5000 * ms, 2100); // data 149 ms old: within
  assert.equal(w.failure(), undefined);
  w.beforeWait(3000);
  w.afterWait(undefined, 0, 3151); // 151 ms: over
  w.beforeWait(4000);
  w.afterWait(9000 * ms - 400 * ms, 9000 * ms, 4010); // short wait but 400 ms old data
  assert.equal(w.stalls, 2);
  assert.equal(w.waits, 4);
  assert.match(w.failure() ?? '', /2 of 4 waits .* first: epoll_wait returned after 151\.0 ms/);
  assert.equal(Math.round(w.oldestDataMs), 400);
});

test('a real stall is caught: NO_WAKEUP records sit in the ring while the consumer sleeps past the allowed bound', { skip }, () => {
  const session = new Session({ eventSize: 64, ringSize: 1 << 16, submitFlags: SUBMIT_FLAGS.none });
  const native = addon();
  const epfd = native.epollOpen(session.object.ringFd);
  try {
    const reader = new RingReader(session.ring);
    const watchdog = new StallWatchdog(20, 10); // the consumer promised 20 ms (+10 slack)...
    session.produce(buildPacket(0, 64), 10); // no wake-up will come for these
    watchdog.beforeWait();
    const ready = native.epollWait(epfd, 200); // ...but sleeps 200 ms
    const peeked = reader.peek();
    assert.ok(peeked > 0, 'the records are there');
    const w = reader.sampleOffset >>> 2;
    watchdog.afterWait((reader.words[w + 1] >>> 0) * 2 ** 32 + (reader.words[w] >>> 0), Number(process.hrtime.bigint()));
    assert.equal(ready, 0, 'BPF_RB_NO_WAKEUP: epoll was never woken');
    assert.equal(watchdog.stalls, 2, 'both the overlong wait and the stale data are reported');
    assert.ok(watchdog.oldestDataMs >= 190, `data waited ${watchdog.oldestDataMs} ms`);
  } finally {
    native.closeFd(epfd);
    session.close();
  }
});

for (const wakeup of ['adaptive', 'none', 'force']) {
  test(`pipeline, epoll consumer, --wakeup ${wakeup}, --rate with idle gaps: the watchdog sees waits and no stall`, { skip, timeout: 60_000 }, () => {
    // A paced rate leaves the ring empty between chunks, so the consumer really waits.
    const r = spawnSync(
      process.execPath,
      [BENCH, '--producers', '2', '--rate', '200k', '--chunk', '100', '--duration', '600ms', '--poll', 'epoll', '--wakeup', wakeup, '--read-timeout', '20ms', '--mode', 'view', '--json'],
      { encoding: 'utf8', timeout: 55_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    const { results, failures } = JSON.parse(r.stdout) as { results: { epoll_waits: number; epoll_timeouts: number }[]; failures: string[] };
    assert.deepEqual(failures, []);
    assert.ok(results[0].epoll_waits > 0, 'the consumer waited in epoll_wait');
    if (wakeup === 'none') assert.ok(results[0].epoll_timeouts > 0, 'without wake-ups the waits end by timeout');
  });
}
