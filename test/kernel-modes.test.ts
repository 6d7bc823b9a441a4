/**
 * The program's submit and wake-up options on the real kernel:
 *  - submit output (bpf_ringbuf_output() from the stack) makes the same events
 *    as reserve, up to OUTPUT_MAX_EVENT_SIZE, and larger sizes are refused
 *    before anything is loaded;
 *  - sampled wake-ups: an epoll waiter is not woken while less than the
 *    threshold waits, and is woken by the event that reaches it (ring buffer:
 *    bpf_ringbuf_query(BPF_RB_AVAIL_DATA); perf buffer: wakeup_watermark).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONSUMER_MODES } from '../src/consumer/modes.js';
import { addon } from '../src/lib/addon.js';
import { perfRecordSize } from '../src/lib/perf-layout.js';
import { recordSize } from '../src/lib/ring-layout.js';
import { RingReader } from '../src/lib/ring-reader.js';
import { buildPacket, OUTPUT_MAX_EVENT_SIZE } from '../src/shared/event.js';
import { Session, type SessionOptions } from '../src/shared/session.js';
import { kernelSkip, kernelSkipFor } from './helpers/kernel.js';
import { runProducerThread } from './helpers/producer-thread.js';
import { expectedSamples, range, referenceChecksum } from './helpers/reference.js';

const EVENTS = 3000;

/** Produces EVENTS as producer 0 and drains them in place; returns the checksum and counters. */
function produceAndDrain(options: SessionOptions): { checksum: string; events: number; drops: number; anomalies: number } {
  const session = new Session(options);
  try {
    session.produce(buildPacket(0, options.eventSize), EVENTS);
    const out = CONSUMER_MODES.view.drain({
      reader: new RingReader(session.ring),
      ring: session.ring,
      ringFd: session.object.ringFd,
      eventSize: options.eventSize,
      touch: 'all',
      startSeq: new Array(64).fill(0),
      idle: () => false,
    });
    return { checksum: out.checksum, events: out.events, drops: session.readState().drops[0], anomalies: out.anomalies };
  } finally {
    session.close();
  }
}

for (const eventSize of [16, 100, 128, OUTPUT_MAX_EVENT_SIZE]) {
  test(`submit output, ${eventSize} B: bpf_ringbuf_output() from the stack makes the same events as reserve`, { skip: kernelSkip }, () => {
    const expected = referenceChecksum(expectedSamples(buildPacket(0, eventSize), eventSize, 0, range(0, EVENTS)));
    const output = produceAndDrain({ eventSize, ringSize: 1 << 22, submit: 'output' });
    const reserve = produceAndDrain({ eventSize, ringSize: 1 << 22, submit: 'reserve' });
    assert.deepEqual(output, { checksum: expected, events: EVENTS, drops: 0, anomalies: 0 });
    assert.deepEqual(reserve, output);
  });
}

test('submit output: a full ring counts drops, like reserve', { skip: kernelSkip }, () => {
  const eventSize = 128;
  const fit = Math.floor((1 << 14) / recordSize(eventSize));
  const out = produceAndDrain({ eventSize, ringSize: 1 << 14, submit: 'output' });
  assert.equal(out.events, fit);
  assert.equal(out.drops, EVENTS - fit);
});

test(`submit output: ${OUTPUT_MAX_EVENT_SIZE + 1} B and more are refused, naming the limit, before anything is loaded`, () => {
  // No kernel needed: the addon refuses before bpf_object__open.
  assert.throws(
    () => new Session({ eventSize: OUTPUT_MAX_EVENT_SIZE + 1, ringSize: 1 << 16, submit: 'output' }),
    (err: Error) => err instanceof RangeError && err.message.includes(`(${OUTPUT_MAX_EVENT_SIZE} bytes)`),
  );
});

test('options that cannot work together are refused by the addon', () => {
  const bad: [SessionOptions, RegExp][] = [
    [{ eventSize: 64, ringSize: 1 << 16, buffer: 'perfbuf', submit: 'output' }, /ring buffer only/],
    [{ eventSize: 64, ringSize: 1 << 16, buffer: 'perfbuf', wakeupThreshold: 4096 }, /PerfBuffer/],
    [{ eventSize: 64, ringSize: 1 << 16, submit: 'output', discardEvery: 3 }, /discardEvery/],
    [{ eventSize: 64, ringSize: 1 << 16, wakeupThreshold: 4096, submitFlags: 2 }, /replaces submitFlags/],
    [{ eventSize: 64, ringSize: 1 << 16, trigger: 'syscall', hooks: ['kprobe' as 'raw_tp'] }, /unknown hook kprobe/],
  ];
  for (const [options, message] of bad) assert.throws(() => new Session(options), message, JSON.stringify(options));
});

/** Whether an epoll waiter on `epfd` is woken within `ms`. */
function woken(epfd: number, ms: number): boolean {
  return addon().epollWait(epfd, ms) > 0;
}

for (const submit of ['reserve', 'output'] as const) {
  test(`ringbuf threshold wake-ups (${submit}): no wake-up below the threshold, one from the event that reaches it`, { skip: kernelSkip }, () => {
    const eventSize = 128;
    const threshold = 4096;
    const record = recordSize(eventSize); // 136
    // reserve: the query follows the reserve and counts the new record; output: it precedes the copy.
    const crossing = submit === 'reserve' ? Math.ceil(threshold / record) : Math.ceil(threshold / record) + 1;
    const session = new Session({ eventSize, ringSize: 1 << 16, submit, wakeupThreshold: threshold });
    const native = addon();
    const epfd = native.epollOpen(session.object.ringFd);
    try {
      const packet = buildPacket(0, eventSize);
      session.produce(packet, crossing - 1);
      assert.equal(woken(epfd, 100), false, `${(crossing - 1) * record} bytes waiting, below ${threshold}: no wake-up`);
      session.produce(packet, 1);
      assert.equal(woken(epfd, 2000), true, `the event that makes ${crossing * record} bytes wait wakes the waiter`);
      // Drain: the waiter sleeps again until the threshold is reached anew.
      const reader = new RingReader(session.ring);
      while (reader.peek() >= 0) reader.consume();
      const epfd2 = native.epollOpen(session.object.ringFd);
      try {
        session.produce(packet, 3);
        assert.equal(woken(epfd2, 100), false, 'after a drain, a few events wake nobody');
      } finally {
        native.closeFd(epfd2);
      }
    } finally {
      native.closeFd(epfd);
      session.close();
    }
  });
}

test('ringbuf without a threshold (adaptive): the first event wakes the waiter (the control for the tests above)', { skip: kernelSkip }, () => {
  const session = new Session({ eventSize: 128, ringSize: 1 << 16 });
  const epfd = addon().epollOpen(session.object.ringFd);
  try {
    session.produce(buildPacket(0, 128), 1);
    assert.equal(woken(epfd, 2000), true);
  } finally {
    addon().closeFd(epfd);
    session.close();
  }
});

test('perfbuf threshold wake-ups (wakeup_watermark): no wake-up below the watermark, one from the record that passes it', { skip: kernelSkipFor({ buffer: 'perfbuf' }) }, async () => {
  const eventSize = 128;
  const threshold = 4096;
  const record = perfRecordSize(eventSize); // 144
  // kernel/events/ring_buffer.c, __perf_output_begin(): a wake-up once head - rb->wakeup > watermark.
  const crossing = Math.floor(threshold / record) + 1;
  const session = new Session({ eventSize, ringSize: 1 << 16, buffer: 'perfbuf', perfWakeup: { bytes: threshold } });
  try {
    const cpu = session.perfRings[0].cpu; // the watermark is per CPU ring: produce on one CPU
    const epfd = session.perf!.epollFd;
    await runProducerThread({ fds: session.triggerFds, producerId: 0, eventSize, events: crossing - 1, cpu });
    assert.equal(woken(epfd, 100), false, `${(crossing - 1) * record} bytes written, not past ${threshold}: no wake-up`);
    await runProducerThread({ fds: session.triggerFds, producerId: 0, eventSize, events: 1, cpu });
    assert.equal(woken(epfd, 2000), true, `${crossing * record} bytes written: woken`);
  } finally {
    session.close();
  }
});

test('perfbuf with a wake-up per event (libbpf\'s default): the first event wakes the waiter', { skip: kernelSkipFor({ buffer: 'perfbuf' }) }, async () => {
  const session = new Session({ eventSize: 128, ringSize: 1 << 16, buffer: 'perfbuf' });
  try {
    await runProducerThread({ fds: session.triggerFds, producerId: 0, eventSize: 128, events: 1, cpu: session.perfRings[0].cpu });
    assert.equal(woken(session.perf!.epollFd, 2000), true);
  } finally {
    session.close();
  }
});
