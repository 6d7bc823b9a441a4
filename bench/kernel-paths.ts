#!/usr/bin/env node
/**
 * Quick evidence for the kernel paths of issue 11, before the CLI has them:
 *  1. producer cost per event, by trigger x buffer x wake-up: BPF_PROG_TEST_RUN's
 *     own per-run average, or the wall time of a native getpgid loop (the
 *     syscall itself included) with the hook attached - and without any
 *     program, as the baseline;
 *  2. drain rates of one prefilled batch, ring buffer vs perf buffer, with the
 *     JavaScript copy and view readers and the native libbpf consumers (the
 *     producer pinned to one CPU, so the perf buffer has one busy ring).
 * Rounds interleave the modes; medians of `rounds`. On a shared 2-vCPU VM
 * compare only ratios within one run.
 * Run as root after npm test (which compiles it):
 *   node build/bench/kernel-paths.js [events] [rounds] [produce|drain|both]
 *   node build/bench/kernel-paths.js once ringbuf|perfbuf js-copy|js-view|native SIZE EVENTS
 * The second form fills and drains once, for callgrind (bench/perf-instructions.sh).
 */
import { CopyBuffer } from '../src/consumer/drain.js';
import { EventSink } from '../src/consumer/event-sink.js';
import { drainNative, nativeConsumerFor, nativePerfConsumerFor, releaseNativeConsumers } from '../src/consumer/native-consumer.js';
import { addon, type BufferKind, type PerfWakeup, type Trigger } from '../src/lib/addon.js';
import { EMPTY, PerfBufferReader, perfCopyBuffer } from '../src/lib/perf-reader.js';
import { RingReader } from '../src/lib/ring-reader.js';
import { buildPacket } from '../src/shared/event.js';
import { Session, type SessionOptions } from '../src/shared/session.js';
import { ProducerTrigger } from '../src/shared/trigger.js';

const events = Number(process.argv[2] ?? 200_000);
const rounds = Number(process.argv[3] ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const zeros = () => new Array(64).fill(0);
const native = addon();

const CHUNK = 1000;

/**
 * ns per event of producing `n` events on this thread, CHUNK at a time, the
 * buffer drained (natively, untimed) after each chunk as a consumer keeping up
 * would: wake-up settings then cost what they cost in a running pipeline (with
 * nothing consuming, a threshold forces a wake-up on every event once reached).
 */
function producerCost(session: Session | undefined, trigger: Trigger, eventSize: number, n: number): number {
  let ns = 0;
  if (!session) {
    for (let done = 0; done < n; done += CHUNK) {
      const t = process.hrtime.bigint();
      native.syscallLoop(CHUNK);
      ns += Number(process.hrtime.bigint() - t);
    }
    return ns / n;
  }
  const packet = buildPacket(0, eventSize);
  const consumer =
    session.options.buffer === 'perfbuf'
      ? nativePerfConsumerFor(session.perf!, eventSize, 'in-place', 'all')
      : nativeConsumerFor(session.ring, session.object.ringFd, eventSize, 'in-place', 'all');
  session.resetState();
  const producer = new ProducerTrigger(session.triggerFds, 0, packet);
  try {
    for (let done = 0; done < n; done += CHUNK) {
      const t = process.hrtime.bigint();
      if (trigger === 'test-run') native.testRun(session.object.progFd, packet, CHUNK);
      else producer.run(CHUNK, done);
      ns += Number(process.hrtime.bigint() - t);
      drainNative(consumer, zeros(), () => false);
    }
  } finally {
    producer.close();
  }
  return ns / n;
}

function part1(): void {
  console.log(`1. producer ns/event, wall clock of the producing call (median of ${rounds}; ${events} events per run in chunks of ${CHUNK}, drained between chunks)`);
  const eventSize = 128;
  const configs: [string, SessionOptions | undefined][] = [
    ['getpgid, no program attached', undefined],
    ...(['test-run', 'syscall'] as Trigger[]).flatMap((trigger): [string, SessionOptions][] => [
      [`${trigger}, ringbuf, adaptive wake-up`, { eventSize, ringSize: 1 << 24, trigger }],
      [`${trigger}, ringbuf, no wake-up`, { eventSize, ringSize: 1 << 24, trigger, submitFlags: 1 }],
      [`${trigger}, ringbuf, force wake-up`, { eventSize, ringSize: 1 << 24, trigger, submitFlags: 2 }],
      [`${trigger}, ringbuf, threshold 64K`, { eventSize, ringSize: 1 << 24, trigger, wakeupThreshold: 65536 }],
      [`${trigger}, ringbuf, output`, { eventSize, ringSize: 1 << 24, trigger, submit: 'output' }],
      [`${trigger}, perfbuf, wake-up per event`, { eventSize, ringSize: 1 << 24, trigger, buffer: 'perfbuf' as BufferKind }],
      [`${trigger}, perfbuf, watermark 64K`, { eventSize, ringSize: 1 << 24, trigger, buffer: 'perfbuf' as BufferKind, perfWakeup: { bytes: 65536 } as PerfWakeup }],
    ]),
  ];
  const results = configs.map((): number[] => []);
  let hook = '';
  for (let r = 0; r < rounds; r++)
    configs.forEach(([, options], i) => {
      // One session at a time: every attached sys_enter program runs on every syscall of the machine.
      const session = options ? new Session(options) : undefined;
      try {
        if (options?.trigger === 'syscall') hook = session!.hook;
        results[i].push(producerCost(session, options?.trigger ?? 'syscall', eventSize, events));
      } finally {
        releaseNativeConsumers();
        session?.close();
      }
    });
  configs.forEach(([label], i) => console.log(`  ${label.padEnd(40)} ${median(results[i]).toFixed(0).padStart(6)} ns`));
  console.log(`  (syscall hook: ${hook})`);
}

type Drain = 'js-copy' | 'js-copy-unaligned' | 'js-view' | 'native';

function drainRing(session: Session, mode: Drain, eventSize: number): number {
  if (mode === 'native') return drainNative(nativeConsumerFor(session.ring, session.object.ringFd, eventSize, 'in-place', 'all'), zeros(), () => false).events;
  const reader = new RingReader(session.ring);
  const sink = new EventSink(zeros(), 'all');
  if (mode === 'js-copy') {
    const copy = new CopyBuffer(eventSize);
    for (let n = reader.readInto(copy.bytes); n !== EMPTY; n = reader.readInto(copy.bytes)) sink.accept(copy.words, copy.bytes, 0, n);
  } else {
    for (let n = reader.peek(); n !== EMPTY; n = reader.peek()) {
      sink.accept(reader.words, reader.bytes, reader.sampleOffset, n);
      reader.consume();
    }
  }
  return sink.events;
}

function drainPerfBuffer(session: Session, mode: Drain, eventSize: number): number {
  if (mode === 'native') return drainNative(nativePerfConsumerFor(session.perf!, eventSize, 'in-place', 'all'), zeros(), () => false).events;
  const reader = new PerfBufferReader(session.perfRings, { sampleLength: eventSize });
  const sink = new EventSink(zeros(), 'all'); // the producer is pinned: one ring, one order
  if (mode === 'js-copy' || mode === 'js-copy-unaligned') {
    // perfCopyBuffer() starts 4 bytes into its ArrayBuffer, like every sample in the ring; CopyBuffer at 0.
    const bytes = mode === 'js-copy' ? perfCopyBuffer(eventSize) : new CopyBuffer(eventSize).bytes;
    const words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
    for (let n = reader.readInto(bytes); n !== EMPTY; n = reader.readInto(bytes)) sink.accept(words, bytes, 0, n);
  } else {
    for (let n = reader.peek(); n !== EMPTY; n = reader.peek()) {
      sink.accept(reader.words, reader.bytes, reader.sampleOffset, n);
      reader.consume();
    }
  }
  return sink.events;
}

function part2(): void {
  console.log(`2. drain Mevents/s of ${events} prefilled events (median of ${rounds}, after 1 warm-up round; producer pinned to CPU 0)`);
  native.setAffinity(0);
  for (const eventSize of [128, 2048]) {
    const ringSize = 2 ** Math.ceil(Math.log2(events * (eventSize + 16) * 1.1));
    const sessions: Record<BufferKind, Session> = {
      ringbuf: new Session({ eventSize, ringSize }),
      perfbuf: new Session({ eventSize, ringSize, buffer: 'perfbuf', perfWakeup: { bytes: ringSize } }),
    };
    try {
      const modes: [BufferKind, Drain][] = [
        ...(['js-copy', 'js-view', 'native'] as Drain[]).map((m): [BufferKind, Drain] => ['ringbuf', m]),
        ...(['js-copy', 'js-copy-unaligned', 'js-view', 'native'] as Drain[]).map((m): [BufferKind, Drain] => ['perfbuf', m]),
      ];
      const rates = new Map<string, number[]>(modes.map(([b, m]) => [`${b} ${m}`, []]));
      for (let r = 0; r <= rounds; r++) {
        for (const [buffer, mode] of modes) {
          const s = sessions[buffer];
          s.resetState();
          s.produce(buildPacket(0, eventSize), events);
          const t = process.hrtime.bigint();
          const n = buffer === 'ringbuf' ? drainRing(s, mode, eventSize) : drainPerfBuffer(s, mode, eventSize);
          const seconds = Number(process.hrtime.bigint() - t) / 1e9;
          if (n !== events) throw new Error(`${buffer} ${mode}: drained ${n} of ${events}`);
          if (r > 0) rates.get(`${buffer} ${mode}`)!.push(n / seconds / 1e6);
        }
      }
      console.log(`  ${eventSize} B:`);
      for (const [key, xs] of rates) console.log(`    ${key.padEnd(26)} ${median(xs).toFixed(2).padStart(7)} Mevents/s`);
      for (const mode of ['js-copy', 'js-view', 'native'] as Drain[])
        console.log(`    perfbuf/ringbuf ${mode.padEnd(8)} ${(median(rates.get(`perfbuf ${mode}`)!) / median(rates.get(`ringbuf ${mode}`)!)).toFixed(2)}x`);
    } finally {
      releaseNativeConsumers();
      sessions.ringbuf.close();
      sessions.perfbuf.close();
    }
  }
}

/**
 * One fill and one drain of `n` events, for instruction counts under callgrind
 * (bench/instructions-per-event.sh's method: the difference between two n).
 */
function once(buffer: BufferKind, mode: Drain, eventSize: number, n: number): void {
  native.setAffinity(0);
  const ringSize = 2 ** Math.ceil(Math.log2(n * (eventSize + 16) * 1.1 + 8192));
  const session = new Session({ eventSize, ringSize, buffer, perfWakeup: buffer === 'perfbuf' ? { bytes: ringSize } : undefined });
  try {
    session.produce(buildPacket(0, eventSize), n);
    const drained = buffer === 'ringbuf' ? drainRing(session, mode, eventSize) : drainPerfBuffer(session, mode, eventSize);
    if (drained !== n) throw new Error(`drained ${drained} of ${n}`);
  } finally {
    releaseNativeConsumers();
    session.close();
  }
}

if (process.argv[2] === 'once') {
  once(process.argv[3] as BufferKind, process.argv[4] as Drain, Number(process.argv[5]), Number(process.argv[6]));
} else {
  const which = process.argv[4] ?? 'both';
  if (which !== 'drain') part1();
  if (which !== 'produce') part2();
}
