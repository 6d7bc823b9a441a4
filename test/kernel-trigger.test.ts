/**
 * The syscall trigger on the real kernel: the program attached at the entry of
 * getpgid, producer threads registered by tid, events byte-identical to the
 * test-run ones (same checksum, computed independently), nothing from threads
 * or processes that did not register; the hook chosen at run time from what
 * the kernel accepts, each failure's reason kept, and a clear error when none
 * works.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { CONSUMER_MODES } from '../src/consumer/modes.js';
import { drainNative, nativePerfConsumerFor, releaseNativeConsumers } from '../src/consumer/native-consumer.js';
import { addon, bpfObjectPath, repoRoot, SYSCALL_HOOKS, type BufferKind, type HookFailure } from '../src/lib/addon.js';
import { PerfBufferReader } from '../src/lib/perf-reader.js';
import { RingReader } from '../src/lib/ring-reader.js';
import { buildPacket } from '../src/shared/event.js';
import { Session } from '../src/shared/session.js';
import { ControlBlock } from '../src/shared/control.js';
import type { ProducerReport, ProducerTask } from '../src/producer/producer-task.js';
import type { DrainOutcome } from '../src/shared/types.js';
import { kernelSkipFor } from './helpers/kernel.js';
import { drainPerf } from './helpers/perf-drain.js';
import { runProducerThread } from './helpers/producer-thread.js';
import { expectedSamples, range, referenceChecksum } from './helpers/reference.js';

const skip = kernelSkipFor({ trigger: 'syscall', buffer: 'perfbuf' });
const EVENTS = 5000;
const ADDON = path.join(repoRoot, 'native', 'build', 'Release', 'ringbuf_bench.node');

function zeros(): number[] {
  return new Array(64).fill(0);
}

/** Everything in the session's buffer, read once: the ring with the view mode, or every perf ring. */
function drainAll(session: Session, eventSize: number, mode: 'copy' | 'view' = 'view'): DrainOutcome {
  if (session.options.buffer === 'perfbuf')
    return drainPerf(new PerfBufferReader(session.perfRings, { sampleLength: eventSize }), mode, eventSize, zeros());
  return CONSUMER_MODES[mode].drain({
    reader: new RingReader(session.ring),
    ring: session.ring,
    ringFd: session.object.ringFd,
    touch: 'all',
    eventSize,
    startSeq: zeros(),
    idle: () => false,
  });
}

function assertHookReport(session: Session): void {
  const hooks = ['fentry/', 'tp_btf/sys_enter', 'raw_tp/sys_enter'];
  const chosen = hooks.findIndex((h) => session.hook.startsWith(h));
  assert.ok(chosen >= 0, `a syscall hook is attached: ${session.hook}`);
  // Every hook tried before the chosen one is listed with its reason, in order.
  assert.equal(session.object.hookFailures.length, chosen);
  session.object.hookFailures.forEach((f, i) => assert.match(f, new RegExp(`^${hooks[i]}.*: .+ \\(E[A-Z]+\\)$`)));
}

for (const buffer of ['ringbuf', 'perfbuf'] as BufferKind[]) {
  for (const eventSize of [16, 100, 3072]) {
    test(`syscall trigger, ${buffer}, ${eventSize} B: two registered threads make events with the test-run checksum`, { skip }, async () => {
      const expected = referenceChecksum([
        ...expectedSamples(buildPacket(0, eventSize), eventSize, 0, range(0, EVENTS)),
        ...expectedSamples(buildPacket(1, eventSize), eventSize, 1, range(0, EVENTS)),
      ]);
      const outcomes: Record<string, DrainOutcome> = {};
      for (const trigger of ['syscall', 'test-run'] as const) {
        const session = new Session({ eventSize, ringSize: 32 << 20, buffer, trigger });
        try {
          if (trigger === 'syscall') assertHookReport(session);
          const cpus = session.perfRings.length >= 2 ? session.perfRings.map((r) => r.cpu) : [undefined, undefined];
          const results = await Promise.all(
            [0, 1].map((p) => runProducerThread({ fds: session.triggerFds, producerId: p, eventSize, events: EVENTS, cpu: cpus[p] })),
          );
          assert.deepEqual(results.map((r) => r.done), [EVENTS, EVENTS]);
          const state = session.readState();
          assert.deepEqual([state.nextSeq[0], state.nextSeq[1], state.drops[0], state.drops[1]], [EVENTS, EVENTS, 0, 0], `${trigger}: one event per syscall`);
          outcomes[trigger] = drainAll(session, eventSize);
        } finally {
          session.close();
        }
      }
      for (const [trigger, out] of Object.entries(outcomes)) {
        assert.equal(out.events, 2 * EVENTS, trigger);
        assert.equal(out.anomalies, 0, `${trigger}: ${out.firstAnomaly}`);
        assert.deepEqual([out.perProducer[0], out.perProducer[1], out.expectedSeq[0], out.expectedSeq[1]], [EVENTS, EVENTS, EVENTS, EVENTS], trigger);
        assert.equal(out.checksum, expected, `${trigger} checksum`);
      }
    });
  }
}

test('syscall trigger, perfbuf: the native perf consumer reads the syscall-made events too', { skip }, async () => {
  const eventSize = 128;
  const session = new Session({ eventSize, ringSize: 4 << 20, buffer: 'perfbuf', trigger: 'syscall' });
  try {
    await runProducerThread({ fds: session.triggerFds, producerId: 4, eventSize, events: EVENTS, cpu: session.perfRings[0].cpu });
    const out = drainNative(nativePerfConsumerFor(session.perf!, eventSize, 'copy', 'all'), zeros(), () => false);
    assert.equal(out.events, EVENTS);
    assert.equal(out.anomalies, 0, out.firstAnomaly);
    assert.equal(out.checksum, referenceChecksum(expectedSamples(buildPacket(4, eventSize), eventSize, 4, range(0, EVENTS))));
  } finally {
    releaseNativeConsumers();
    session.close();
  }
});

test('syscall trigger: Session.produce() on the calling thread, in order, then the thread is unregistered', { skip }, () => {
  const eventSize = 100;
  const session = new Session({ eventSize, ringSize: 1 << 22, trigger: 'syscall' });
  try {
    const packet = buildPacket(5, eventSize);
    assert.equal(session.produce(packet, 1000, 5), 1000);
    const reader = new RingReader(session.ring);
    const seqs: number[] = [];
    const view = new DataView(session.ring.producer);
    for (let length = reader.peek(); length >= 0; length = reader.peek()) {
      seqs.push(Number(view.getBigUint64(reader.sampleOffset + 8, true) & 0xffffffffffffn));
      reader.consume();
    }
    assert.deepEqual(seqs, range(0, 1000));
    addon().syscallLoop(100); // no longer registered
    assert.equal(session.readState().nextSeq[5], 1000);
  } finally {
    session.close();
  }
});

test('syscall trigger: syscalls from unregistered threads and other processes make no events', { skip }, async () => {
  const eventSize = 64;
  const session = new Session({ eventSize, ringSize: 1 << 20, trigger: 'syscall' });
  try {
    // Another thread of this process, not registered.
    const stray = await runProducerThread({ fds: session.triggerFds, producerId: 0, eventSize, events: 2000, register: false });
    assert.equal(stray.done, 2000);
    // This thread, not registered.
    addon().syscallLoop(2000);
    // Another process making the same syscall.
    const child = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(ADDON)}).syscallLoop(2000)`], { encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    // A registered thread, while those ran: only its events exist.
    await runProducerThread({ fds: session.triggerFds, producerId: 2, eventSize, events: 10 });
    const state = session.readState();
    assert.equal(state.nextSeq.reduce((a, b) => a + b, 0), 10, 'only the registered thread\'s 10 syscalls made events');
    const out = drainAll(session, eventSize);
    assert.equal(out.events, 10);
    assert.equal(out.perProducer[2], 10);
  } finally {
    session.close();
  }
});

test('syscall trigger: the hook can be chosen (raw_tp), and then fires as well', { skip }, async () => {
  const session = new Session({ eventSize: 32, ringSize: 1 << 20, trigger: 'syscall', hooks: ['raw_tp'] });
  try {
    assert.equal(session.hook, 'raw_tp/sys_enter');
    assert.deepEqual(session.object.hookFailures, []);
    await runProducerThread({ fds: session.triggerFds, producerId: 1, eventSize: 32, events: 300 });
    assert.equal(drainAll(session, 32, 'copy').perProducer[1], 300);
  } finally {
    session.close();
  }
});

test('syscall trigger: when no hook works, one error lists every hook tried and why it failed', { skip }, (t) => {
  // On this project's VM fentry is refused at load (EPERM); elsewhere it may load, and then there is nothing to show.
  let error: (Error & { code?: string; hookFailures?: HookFailure[] }) | undefined;
  try {
    new Session({ eventSize: 32, ringSize: 1 << 16, trigger: 'syscall', hooks: ['fentry'] }).close();
  } catch (err) {
    error = err as typeof error;
  }
  if (!error) return t.skip('fentry loads on this kernel');
  assert.match(error.message, /^no syscall hook works on this kernel: fentry\/\S+: bpf_object__load: .+ \(E[A-Z]+\)$/);
  assert.equal(error.hookFailures?.length, 1);
  assert.equal(error.hookFailures?.[0].syscall, 'bpf_object__load');
  assert.equal(error.code, error.hookFailures?.[0].code);
});

test('syscall trigger without CAP_PERFMON: every hook is refused (EPERM), and the error lists all of them', { skip: skip || (!fs.existsSync('/usr/sbin/capsh') && !fs.existsSync('/sbin/capsh') && 'capsh not installed') }, () => {
  const script = `
    const a = require(${JSON.stringify(ADDON)});
    try { new a.BpfObject(${JSON.stringify(bpfObjectPath)}, { eventSize: 64, ringSize: 65536, trigger: 'syscall' }); console.log('loaded'); }
    catch (e) { console.log(JSON.stringify({ message: e.message, code: e.code, hooks: e.hookFailures.map((f) => [f.hook, f.code]) })); }`;
  const capsh = fs.existsSync('/usr/sbin/capsh') ? '/usr/sbin/capsh' : '/sbin/capsh';
  const r = spawnSync(capsh, ['--drop=cap_sys_admin,cap_perfmon', '--', '-c', `'${process.execPath}' -e "$0"`, script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { message: string; code: string; hooks: [string, string][] };
  assert.equal(out.code, 'EPERM', 'all refused for privileges: the CLI can advise CAP_PERFMON');
  assert.deepEqual(out.hooks.map(([, code]) => code), SYSCALL_HOOKS.map(() => 'EPERM'));
  assert.deepEqual(out.hooks.map(([hook]) => hook.split('/')[0]), [...SYSCALL_HOOKS]);
  for (const [hook] of out.hooks) assert.ok(out.message.includes(hook), `the message names ${hook}`);
});

test('syscall trigger in a new pid namespace: tids are matched in the caller\'s namespace', { skip: skip || (!fs.existsSync('/usr/bin/unshare') && 'unshare not installed') }, () => {
  const script = `
    const a = require(${JSON.stringify(ADDON)});
    const o = new a.BpfObject(${JSON.stringify(bpfObjectPath)}, { eventSize: 64, ringSize: 65536, trigger: 'syscall' });
    a.registerSyscallProducer(o.producerThreadsFd, o.producerEventsFd, 3, new Uint8Array(48));
    a.syscallLoop(500);
    console.log(JSON.stringify({ pid: process.pid, events: a.readState(o.stateFd).nextSeq[3] }));`;
  const r = spawnSync('/usr/bin/unshare', ['--pid', '--fork', '--mount-proc', process.execPath, '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { pid: number; events: number };
  assert.equal(out.pid, 1, 'the child ran as pid 1 of a new namespace');
  assert.equal(out.events, 500);
});

test('syscall trigger through the pipeline\'s producer workers (piscina, ProducerTask with the trigger fds)', { skip }, async () => {
  const eventSize = 128;
  const session = new Session({ eventSize, ringSize: 16 << 20, buffer: 'perfbuf', trigger: 'syscall' });
  const pool = new Piscina<ProducerTask, ProducerReport>({
    filename: path.resolve(__dirname, '..', 'src', 'producer', 'producer-worker.js'),
    minThreads: 2,
    maxThreads: 2,
    concurrentTasksPerWorker: 1,
  });
  try {
    const control = ControlBlock.create();
    const { progFd, stateFd, trigger, producerThreadsFd, producerEventsFd } = session.triggerFds;
    const cpus = session.perfRings.map((r) => r.cpu);
    const tasks = [0, 1].map((id) =>
      pool.run({
        id, producers: 2, progFd, stateFd, trigger, producerThreadsFd, producerEventsFd, eventSize,
        chunk: 700, events: EVENTS, durationMs: undefined, rate: undefined, cpu: cpus[id % cpus.length],
        control: control.buffer, startTimeoutMs: 15_000,
      }),
    );
    assert.ok(await control.waitAllReady(2, 15_000));
    control.release(process.hrtime.bigint());
    const reports = await Promise.all(tasks);
    assert.deepEqual(reports.map((r) => r.events), [EVENTS, EVENTS]);
    const state = session.readState();
    assert.deepEqual([state.nextSeq[0], state.nextSeq[1]], [EVENTS, EVENTS]);
    assert.deepEqual([state.drops[0], state.drops[1]], [0, 0]);
    const out = drainAll(session, eventSize, 'copy');
    assert.equal(out.events, 2 * EVENTS);
    assert.equal(out.anomalies, 0, out.firstAnomaly);
    assert.equal(
      out.checksum,
      referenceChecksum([0, 1].flatMap((p) => [...expectedSamples(buildPacket(p, eventSize), eventSize, p, range(0, EVENTS))])),
    );
  } finally {
    await pool.destroy();
    session.close();
  }
});

/** Runs syscallLoop(n, stop, deadlineNs) on a thread of its own; resolves with the calls it made and when it returned (process.hrtime ns). */
function loopOnThread(n: number, stop: SharedArrayBuffer | undefined, deadlineNs?: number): Promise<{ done: number; endNs: number }> {
  const script = `
    const { parentPort, workerData } = require('node:worker_threads');
    const a = require(${JSON.stringify(ADDON)});
    const done = a.syscallLoop(workerData.n, workerData.stop && new Int32Array(workerData.stop, 0, 1), workerData.deadlineNs);
    parentPort.postMessage({ done, endNs: Number(process.hrtime.bigint()) });`;
  return new Promise((resolve, reject) => {
    const w = new Worker(script, { eval: true, workerData: { n, stop, deadlineNs } });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

test('syscallLoop: a set stop word ends a billion-call loop within a few ms, and it returns how many calls it made', async () => {
  // No hook is needed to show it: the loop is the same with or without a program attached.
  const stop = new SharedArrayBuffer(4);
  const running = loopOnThread(1e9, stop);
  await new Promise((r) => setTimeout(r, 200));
  const set = performance.now();
  Atomics.store(new Int32Array(stop), 0, 1);
  const { done } = await running;
  const after = performance.now() - set;
  assert.ok(done > 0 && done < 1e9, `made ${done} calls`);
  assert.ok(after < 500, `returned ${after.toFixed(0)} ms after the stop`);
});

test('syscallLoop: a deadline (CLOCK_MONOTONIC ns, process.hrtime\'s clock) ends it; without stop or deadline it makes all n calls', async () => {
  const deadline = Number(process.hrtime.bigint()) + 300e6;
  const { done, endNs } = await loopOnThread(1e9, undefined, deadline);
  const late = (endNs - deadline) / 1e6;
  assert.ok(done > 0 && done < 1e9, `${done} calls`);
  assert.ok(late >= 0 && late < 100, `returned ${late.toFixed(1)} ms after the deadline`);
  assert.equal((await loopOnThread(1000, new SharedArrayBuffer(4))).done, 1000);
  assert.throws(() => addon().syscallLoop(1, new Float64Array(1) as unknown as Int32Array), /stop must be an Int32Array/);
});

test('syscall trigger: a producer worker told to stop mid-chunk (--chunk 1000000) stops within 0.5 s and reports the events it made', { skip }, async () => {
  const eventSize = 3072;
  const session = new Session({ eventSize, ringSize: 1 << 30, trigger: 'syscall' });
  const pool = new Piscina<ProducerTask, ProducerReport>({ filename: path.resolve(__dirname, '..', 'src', 'producer', 'producer-worker.js'), minThreads: 1, maxThreads: 1 });
  try {
    const control = ControlBlock.create();
    const { progFd, stateFd, trigger, producerThreadsFd, producerEventsFd } = session.triggerFds;
    const task = pool.run({
      id: 0, producers: 1, progFd, stateFd, trigger, producerThreadsFd, producerEventsFd, eventSize,
      chunk: 1_000_000, events: undefined, durationMs: 30_000, rate: undefined, cpu: undefined, control: control.buffer, startTimeoutMs: 15_000,
    });
    assert.ok(await control.waitAllReady(1, 15_000));
    control.release(process.hrtime.bigint());
    while (session.readState().nextSeq[0] < 20_000) await new Promise((r) => setTimeout(r, 5));
    const stopped = performance.now();
    control.requestStop();
    const report = await task;
    const took = performance.now() - stopped;
    assert.ok(took < 500, `the producer returned ${took.toFixed(0)} ms after the stop`);
    assert.ok(report.events < 1_000_000, `stopped inside its first chunk (${report.events} events)`);
    const state = session.readState();
    assert.equal(state.nextSeq[0], report.events, 'the report counts exactly the events the program made');
  } finally {
    await pool.destroy();
    session.close();
  }
});
