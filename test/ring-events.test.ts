/**
 * Waiting for a ring without blocking the event loop, against a separate
 * producer process: events() and onData() read in slices so a setInterval on
 * the same thread keeps ticking (a synchronous drain of the same work, the
 * control, starves it); an AbortSignal or close() stops them promptly; the
 * kernel's wake-up reaches the libuv watcher (adaptive wake-up), a
 * BPF_RB_NO_WAKEUP producer reaches it only through the fallback poll; a
 * pending wait keeps the process alive only when asked to; the blocking wait()
 * works in a worker; a worker that exits with a watcher does not take the
 * process down.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { EMPTY, openRing, type Ring, type RingRecord } from '../src/lib/index.js';
import { bpffsSkip } from './helpers/bpffs.js';
import { EventCheck } from './helpers/event-check.js';
import { kernelSkip } from './helpers/kernel.js';
import { ProducerProcess } from './helpers/producer-process.js';

const skip = kernelSkip || bpffsSkip();
const EVENT_SIZE = 128;
const INDEX = path.resolve(__dirname, '..', 'src', 'lib', 'index.js');

let fixture: ProducerProcess;
let seq = 0;
before(async () => {
  if (!skip) fixture = await ProducerProcess.start({ eventSize: EVENT_SIZE, ringSize: 1 << 22 });
});
after(async () => {
  await fixture?.stop();
});

async function produce(n: number, into = fixture): Promise<void> {
  const r = await into.produce(n);
  assert.equal(r.drops, 0);
  if (into === fixture) seq = r.nextSeq;
}

function spin(ms: number): void {
  for (const until = performance.now() + ms; performance.now() < until; );
}

/** Counts setInterval ticks and the longest gap between them while `work` runs. */
async function ticksDuring(work: () => Promise<void> | void): Promise<{ ticks: number; maxGapMs: number; ms: number }> {
  let ticks = 0;
  let last = performance.now();
  let maxGapMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
    ticks++;
  }, 5);
  const start = performance.now();
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  const end = performance.now();
  return { ticks, maxGapMs: Math.max(maxGapMs, end - last), ms: end - start };
}

const EVENTS = 3000;
const WORK_MS = 0.1; // per event: 300 ms of synchronous work in all

/** Reads EVENTS events with `read`, spending WORK_MS on each; returns the tick statistics and checks every event. */
async function streamWithWork(read: (ring: Ring, onRecord: (r: RingRecord) => void, done: () => boolean) => Promise<void> | void) {
  const ring = openRing({ pinned: fixture.pin });
  const check = new EventCheck(EVENT_SIZE, 0, seq);
  await produce(EVENTS);
  try {
    const stats = await ticksDuring(() =>
      read(
        ring,
        (r) => {
          check.add(r.words, r.bytes, r.offset, r.length);
          spin(WORK_MS);
        },
        () => check.count === EVENTS,
      ),
    );
    assert.equal(check.count, EVENTS);
    assert.equal(check.problem, undefined);
    assert.equal(check.checksum.hex(), check.expectedChecksum());
    console.log(`# ${EVENTS} events, ${stats.ms.toFixed(0)} ms: ${stats.ticks} ticks of a 5 ms interval, longest gap ${stats.maxGapMs.toFixed(1)} ms`);
    return stats;
  } finally {
    ring.close();
  }
}

test('control: a synchronous drain of the same work starves a setInterval on the thread', { skip }, async () => {
  const stats = await streamWithWork((ring, onRecord) => {
    const r = { words: ring.words, bytes: ring.bytes, offset: 0, length: 0 } as RingRecord;
    for (let length = ring.peek(); length !== EMPTY; length = ring.peek()) {
      r.offset = ring.sampleOffset;
      r.length = length;
      onRecord(r);
      ring.consume();
    }
  });
  assert.ok(stats.ticks <= 1, `${stats.ticks} ticks`);
  assert.ok(stats.maxGapMs >= EVENTS * WORK_MS, 'the longest gap is the whole drain');
});

for (const api of ['onData', 'events'] as const) {
  test(`${api}(): a setInterval on the same thread keeps ticking while events stream in`, { skip }, async () => {
    const stats = await streamWithWork(async (ring, onRecord, done) => {
      const stop = new AbortController();
      const options = { signal: stop.signal, sliceMs: 4 };
      const reading =
        api === 'onData'
          ? ring.onData((r) => {
              onRecord(r);
              if (done()) stop.abort();
            }, options)
          : (async () => {
              for await (const r of ring.events(options)) {
                onRecord(r);
                if (done()) stop.abort();
              }
            })();
      await assert.rejects(reading, { name: 'AbortError' });
    });
    // Ideally ms / 5 ticks; a loaded 2-vCPU machine may delay timers, so ask for a quarter.
    assert.ok(stats.ticks >= stats.ms / 5 / 4, `${stats.ticks} ticks in ${stats.ms.toFixed(0)} ms`);
    // Slices are 4 ms; the control's gap is the whole run. The OS may deschedule this process on a busy machine, so
    // bound the gap relative to the run rather than absolutely.
    assert.ok(stats.maxGapMs < stats.ms / 4, `longest gap ${stats.maxGapMs.toFixed(1)} ms of ${stats.ms.toFixed(0)} ms`);
  });
}

test('an AbortSignal stops a waiting reader promptly; an aborted signal stops it before it reads', { skip }, async () => {
  const ring = openRing({ pinned: fixture.pin });
  try {
    for (const api of ['events', 'onData', 'waitAsync'] as const) {
      const stop = new AbortController();
      const reading =
        api === 'events'
          ? (async () => {
              for await (const r of ring.events({ signal: stop.signal })) assert.fail(`nothing to read, got ${r.length}`);
            })()
          : api === 'onData'
            ? ring.onData(() => assert.fail('nothing to read'), { signal: stop.signal })
            : ring.waitAsync({ signal: stop.signal });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const aborted = performance.now();
      stop.abort();
      await assert.rejects(reading, { name: 'AbortError' });
      const ms = performance.now() - aborted;
      assert.ok(ms < 50, `${api}: stopped ${ms.toFixed(1)} ms after abort()`);
    }
    await produce(5);
    const reason = new Error('stop now');
    await assert.rejects(ring.onData(() => assert.fail('aborted before reading'), { signal: AbortSignal.abort(reason) }), reason);
    assert.equal(ring.backlog, 5 * 136, 'nothing consumed');
    while (ring.peek() >= 0) ring.consume();
  } finally {
    ring.close();
  }
});

test('abort from a timer while records stream in: the reader stops within a slice and publishes what it consumed', { skip }, async () => {
  const ring = openRing({ pinned: fixture.pin }, { batch: 1000 });
  await produce(2000);
  let seen = 0;
  const stop = new AbortController();
  setTimeout(() => stop.abort(), 30);
  await assert.rejects(
    ring.onData(
      () => {
        seen++;
        spin(0.1);
      },
      { signal: stop.signal },
    ),
    { name: 'AbortError' },
  );
  assert.ok(seen > 0 && seen < 2000, `${seen} of 2000 read before the abort`);
  assert.equal(ring.consumerPosition, ring.position, 'every consumed record published, despite batch 1000');
  assert.equal(ring.backlog, (2000 - seen) * 136);
  while (ring.peek() >= 0) ring.consume();
  ring.close();
});

test('close() ends a waiting events() loop normally and resolves onData()', { skip }, async () => {
  for (const api of ['events', 'onData'] as const) {
    const ring = openRing({ pinned: fixture.pin });
    const reading =
      api === 'events'
        ? (async () => {
            for await (const r of ring.events()) assert.fail(`nothing to read, got ${r.length} bytes`);
          })()
        : ring.onData(() => assert.fail('nothing to read'));
    setTimeout(() => ring.close(), 20);
    await reading; // resolves: no error
    assert.equal(ring.closed, true);
  }
});

test('closing the ring from inside the loop body ends the loop after that record', { skip }, async () => {
  const ring = openRing({ pinned: fixture.pin });
  await produce(10);
  let seen = 0;
  for await (const record of ring.events()) {
    assert.equal(record.length, EVENT_SIZE);
    if (++seen === 3) ring.close();
  }
  assert.equal(seen, 3);
  const rest = openRing({ pinned: fixture.pin });
  let left = 0;
  while (rest.peek() >= 0) {
    rest.consume();
    left++;
  }
  rest.close();
  assert.equal(left, 7, 'close() published 3 records: the one being read when close() ran counts as consumed');
});

test('a handler that throws rejects onData() with its error; that record counts as consumed', { skip }, async () => {
  const ring = openRing({ pinned: fixture.pin });
  await produce(10);
  const boom = new Error('handler failed');
  let seen = 0;
  await assert.rejects(
    ring.onData(() => {
      if (++seen === 4) throw boom;
    }),
    boom,
  );
  assert.equal(ring.backlog, 6 * 136);
  assert.equal(ring.consumerPosition, ring.position);
  while (ring.peek() >= 0) ring.consume();
  ring.close();
});

test('a handler or loop body that aborts gets no further record, and exactly the records it saw are consumed', { skip }, async () => {
  for (const api of ['onData', 'events'] as const) {
    const ring = openRing({ pinned: fixture.pin });
    await produce(500);
    const stop = new AbortController();
    let seen = 0;
    const onRecord = (record: RingRecord): void => {
      assert.equal(record.length, EVENT_SIZE);
      if (++seen === 100) stop.abort();
    };
    const reading =
      api === 'onData'
        ? ring.onData(onRecord, { signal: stop.signal })
        : (async () => {
            for await (const record of ring.events({ signal: stop.signal })) onRecord(record);
          })();
    await assert.rejects(reading, { name: 'AbortError' });
    assert.equal(seen, 100, api);
    assert.equal(ring.backlog, 400 * 136, `${api}: 400 left`);
    while (ring.peek() >= 0) ring.consume();
    ring.close();
  }
});

test('one event-loop reader per ring at a time', { skip }, async () => {
  const ring = openRing({ pinned: fixture.pin });
  const stop = new AbortController();
  const first = ring.onData(() => {}, { signal: stop.signal });
  await assert.rejects(ring.onData(() => {}), /already being read by onData\(\)/);
  await assert.rejects(ring.events().next(), /already being read by onData\(\)/);
  stop.abort();
  await assert.rejects(first, { name: 'AbortError' });
  const again = new AbortController();
  const second = ring.onData(() => {}, { signal: again.signal });
  again.abort();
  await assert.rejects(second, { name: 'AbortError' });
  ring.close();
});

/** Starts waiting with fallbackPollMs, then produces `n` events; resolves with how many arrived within `withinMs`. */
async function arrivals(into: ProducerProcess, n: number, fallbackPollMs: number, withinMs: number): Promise<number> {
  const ring = openRing({ pinned: into.pin });
  assert.equal(ring.peek(), EMPTY);
  const stop = new AbortController();
  let got = 0;
  const reading = ring.onData(() => void got++, { signal: stop.signal, fallbackPollMs });
  await new Promise((resolve) => setImmediate(resolve)); // the reader is waiting now
  await into.produce(n);
  const deadline = performance.now() + withinMs;
  while (got < n && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  stop.abort();
  await assert.rejects(reading, { name: 'AbortError' });
  while (ring.peek() >= 0) ring.consume();
  ring.close();
  return got;
}

test('adaptive wake-up: the kernel wakes the libuv watcher, no fallback poll needed', { skip }, async () => {
  assert.equal(await arrivals(fixture, 10, Infinity, 2000), 10);
  const r = await fixture.produce(0);
  seq = r.nextSeq;
});

test('BPF_RB_NO_WAKEUP never wakes the watcher: only the fallback poll sees its records', { skip, timeout: 30_000 }, async () => {
  const silent = await ProducerProcess.start({ eventSize: EVENT_SIZE, ringSize: 1 << 16, submitFlags: 1 });
  try {
    assert.equal(await arrivals(silent, 10, Infinity, 500), 0, 'control: no wake-up arrives');
    assert.equal(await arrivals(silent, 10, 50, 2000), 10, 'the fallback poll finds them');
  } finally {
    await silent.stop();
  }
});

test('waitAsync(): true once records arrive, false after timeoutMs, without blocking the loop', { skip }, async () => {
  const ring = openRing({ pinned: fixture.pin });
  try {
    const t0 = performance.now();
    assert.equal(await ring.waitAsync({ timeoutMs: 60 }), false);
    assert.ok(performance.now() - t0 >= 55);
    const waiting = ring.waitAsync({ timeoutMs: 5000 });
    await produce(1);
    assert.equal(await waiting, true);
    assert.ok(ring.peek() > 0);
    ring.consume();
  } finally {
    ring.close();
  }
});

/** Runs `script` in a child node with `ring` opened on the fixture's pin; returns its exit, output and run time. */
async function child(script: string, onLine?: (line: string) => void): Promise<{ code: number | null; signal: string | null; out: string; ms: number }> {
  const code = `const { openRing } = require(${JSON.stringify(INDEX)}); const ring = openRing({ pinned: ${JSON.stringify(fixture.pin)} });\n${script}`;
  const start = performance.now();
  const p = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d: Buffer) => {
    out += d;
    for (const line of d.toString().split('\n').filter(Boolean)) onLine?.(line);
  });
  p.stderr.on('data', (d: Buffer) => (out += d));
  const killer = setTimeout(() => p.kill('SIGKILL'), 10_000);
  const [exitCode, signal] = (await once(p, 'exit')) as [number | null, string | null];
  clearTimeout(killer);
  return { code: exitCode, signal, out, ms: performance.now() - start };
}

test('keepAlive: a waiting reader keeps the process alive by default, not with keepAlive: false; a finished wait never does', { skip, timeout: 60_000 }, async () => {
  const kept = await child(`const t0 = Date.now(); setTimeout(() => ring.close(), 400).unref();
    ring.onData(() => {}).then(() => console.log('resolved after ' + (Date.now() - t0)));`);
  assert.equal(kept.code, 0, kept.out);
  assert.match(kept.out, /^resolved after \d+/, 'alive until close() resolved onData');
  assert.ok(Number(/after (\d+)/.exec(kept.out)![1]) >= 390);

  const unref = await child(`ring.onData(() => {}, { keepAlive: false }); process.on('exit', () => console.log('exited'));`);
  assert.equal(unref.code, 0, unref.out);
  assert.equal(unref.out.trim(), 'exited');
  assert.ok(unref.ms < 5000);

  // A wait that ended (the watcher fired and stopped) holds nothing: the script ends without close().
  let produced: Promise<void> | undefined;
  const finished = await child(`console.log('waiting'); ring.waitAsync().then((r) => console.log('woke ' + r));`, (line) => {
    if (line === 'waiting') produced = produce(1);
  });
  await produced;
  assert.equal(finished.code, 0, finished.out);
  assert.match(finished.out, /woke true/);
  drainAll();
});

/** Consumes whatever is in the fixture's ring, so the next test starts from an empty one. */
function drainAll(): void {
  const ring = openRing({ pinned: fixture.pin });
  while (ring.peek() >= 0) ring.consume();
  ring.close();
}

test('a worker waits with the blocking wait(); a worker that exits while its watcher waits does not abort the process', { skip, timeout: 60_000 }, async () => {
  drainAll();
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const { openRing } = require(workerData.index);
     const ring = openRing({ pinned: workerData.pin });
     let t0 = performance.now();
     const idle = ring.wait(80);
     const idleMs = performance.now() - t0;
     parentPort.postMessage('ready');
     t0 = performance.now();
     const woke = ring.wait(10000);
     const wokeMs = performance.now() - t0;
     let n = 0;
     for (let timeouts = 0; n < 5 && timeouts < 5; ) { if (ring.peek() >= 0) { ring.consume(); n++; } else if (!ring.wait(1000)) timeouts++; }
     parentPort.postMessage({ idle, idleMs, woke, wokeMs, n });
     ring.close();`,
    { eval: true, workerData: { index: INDEX, pin: fixture.pin } },
  );
  const [ready] = (await once(worker, 'message')) as [string];
  assert.equal(ready, 'ready');
  const reply = once(worker, 'message'); // before producing: the worker may answer before produce() returns
  const exited = once(worker, 'exit');
  await produce(5);
  const [result] = (await reply) as [{ idle: boolean; idleMs: number; woke: boolean; wokeMs: number; n: number }];
  assert.equal(result.idle, false, 'an empty ring times out');
  assert.ok(result.idleMs >= 75, `${result.idleMs} ms`);
  assert.equal(result.woke, true);
  assert.ok(result.wokeMs < 5000, `woke after ${result.wokeMs.toFixed(1)} ms`);
  assert.equal(result.n, 5);
  await exited;

  // Node aborts a worker whose loop still has handles when it exits; the watcher's cleanup hook closes it.
  const r = await child(`const { Worker } = require('node:worker_threads');
    const w = new Worker(\`const { parentPort, workerData } = require('node:worker_threads');
      const ring = require(workerData.index).openRing({ pinned: workerData.pin });
      ring.onData(() => {}); ring.waitAsync(); setTimeout(() => parentPort.postMessage('waiting'), 50);\`,
      { eval: true, workerData: { index: ${JSON.stringify(INDEX)}, pin: ${JSON.stringify(fixture.pin)} } });
    w.on('message', () => w.terminate().then(() => { console.log('terminated'); ring.close(); }));`);
  assert.equal(r.signal, null, r.out);
  assert.equal(r.code, 0, r.out);
  assert.equal(r.out.trim(), 'terminated');
});

test('a ring opened only in a worker (the main thread never loads the addon): the worker exits cleanly, closed or not', { skip, timeout: 60_000 }, () => {
  // Node unloads an addon with the last environment that loaded it; the ring's
  // buffers are torn down after that and call back into the addon
  // (native/src/addon.cc StayLoaded).
  for (const close of [true, false]) {
    const script = `const { Worker } = require('node:worker_threads');
      new Worker(\`const { workerData } = require('node:worker_threads');
        const ring = require(workerData.index).openRing({ pinned: workerData.pin });
        ring.peek(); ring.waitAsync({ timeoutMs: 1 }).then(() => { if (workerData.close) ring.close(); });\`,
        { eval: true, workerData: { index: ${JSON.stringify(INDEX)}, pin: ${JSON.stringify(fixture.pin)}, close: ${close} } })
        .on('exit', (code) => console.log('worker exit ' + code));`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.signal, null, `close: ${close}: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'worker exit 0');
  }
});
