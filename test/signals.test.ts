/**
 * Ctrl-C / SIGTERM in each phase of a real run: the CLI is spawned, the test
 * waits until the child is in the phase (its BPF program loaded; its
 * program's sequence counter, read with bpftool, moving = a fill, or complete
 * = the drain after it; its worker threads started but not yet released; the
 * pipeline running, asleep in epoll_wait, or with a backlog to drain), sends
 * the signal and checks that the child
 *  - prints its partial results, marked INTERRUPTED, within 0.5 s of the
 *    signal (whatever --read-timeout, --chunk or the backlog), and exits within 2 s
 *    with 128 + the signal's number,
 *  - prints no stack trace and nothing FAILED,
 *  - leaves nothing behind: the program and map ids it held (read from its
 *    /proc/<pid>/fdinfo while it ran) are gone from the kernel afterwards.
 * A second SIGINT ends the child at once. A process stopped from outside
 * (SIGSTOP) is reported as a stall, not as corrupted data.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { missingPrivileges } from '../src/shared/privileges.js';
import { bpffsSkip } from './helpers/bpffs.js';
import { kernelSkipFor } from './helpers/kernel.js';
import { ProducerProcess } from './helpers/producer-process.js';

const BENCH = path.resolve(__dirname, '..', 'src', 'bench.js');
const skip = missingPrivileges() ?? false;
const syscallSkip = kernelSkipFor({ trigger: 'syscall' });
const EXIT_BUDGET_MS = 2000;
/** The README's promise: partial results out within half a second of the stop. */
const REPORT_BUDGET_MS = 500;

interface Child {
  proc: ChildProcess;
  stdout: string;
  stderr: string;
  /** When the INTERRUPTED line first appeared (stdout, or stderr with --json). */
  interruptedAt: number | undefined;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

function start(args: string[]): Child {
  const proc = spawn(process.execPath, [BENCH, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const child: Child = {
    proc,
    stdout: '',
    stderr: '',
    interruptedAt: undefined,
    exited: new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() }))),
  };
  const seen = () => {
    if (child.interruptedAt === undefined && /INTERRUPTED by/.test(child.stdout + child.stderr)) child.interruptedAt = performance.now();
  };
  proc.stdout!.on('data', (d: Buffer) => {
    child.stdout += d.toString();
    seen();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    child.stderr += d.toString();
    seen();
  });
  return child;
}

/** Threads of a live process (/proc/<pid>/task): a worker thread adds one. */
function threadsOf(pid: number): number {
  try {
    return fs.readdirSync(`/proc/${pid}/task`).length;
  } catch {
    return 0;
  }
}

/** The BPF program and map ids a live process holds fds to (fdinfo shows prog_id / map_id). */
function bpfIdsOf(pid: number): { progs: number[]; maps: number[] } {
  const ids = { progs: [] as number[], maps: [] as number[] };
  let fds: string[] = [];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return ids;
  }
  for (const fd of fds) {
    try {
      const info = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
      const prog = /^prog_id:\s*(\d+)$/m.exec(info);
      const map = /^map_id:\s*(\d+)$/m.exec(info);
      if (prog) ids.progs.push(Number(prog[1]));
      if (map) ids.maps.push(Number(map[1]));
    } catch {
      // fd closed meanwhile
    }
  }
  return ids;
}

/** Waits until the child holds its program (loaded), and returns the ids it holds. */
async function waitForLoad(child: Child, timeoutMs = 20_000): Promise<{ progs: number[]; maps: number[] }> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const ids = bpfIdsOf(child.proc.pid!);
    if (ids.progs.length && ids.maps.length) return ids;
    await sleep(5);
  }
  throw new Error(`the child never loaded its program; stderr: ${child.stderr}`);
}

/** The id of the child's .bss map (the program's per-producer counters), among the maps it holds. */
function bssMapId(maps: number[]): number {
  const id = maps.find((m) => {
    const r = spawnSync('bpftool', ['-j', 'map', 'show', 'id', String(m)], { encoding: 'utf8' });
    return r.status === 0 && (JSON.parse(r.stdout) as { name: string }).name.endsWith('.bss');
  });
  if (id === undefined) throw new Error(`no .bss map among ${maps.join(', ')}`);
  return id;
}

/** Producer 0's next sequence number in the child's program: how far the current fill has got. */
function producedSoFar(bssId: number): number {
  const r = spawnSync('bpftool', ['-j', 'map', 'lookup', 'id', String(bssId), 'key', '0', '0', '0', '0'], { encoding: 'utf8' });
  if (r.status !== 0) return NaN;
  const bytes = (JSON.parse(r.stdout) as { value: string[] }).value.slice(0, 8).map((b) => parseInt(b, 16));
  return bytes.reduceRight((n, b) => n * 256 + b, 0);
}

/** Waits until the child's program counters satisfy `ready` (read through bpftool, from outside the child). */
async function waitForCounter(child: Child, bssId: number, ready: (produced: number) => boolean, timeoutMs = 20_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const produced = producedSoFar(bssId);
    if (ready(produced)) return produced;
    await sleep(5);
  }
  throw new Error(`the child's counters never got there; stdout: ${child.stdout}`);
}

function exists(kind: 'prog' | 'map', id: number): boolean {
  return spawnSync('bpftool', [kind, 'show', 'id', String(id)], { encoding: 'utf8' }).status === 0;
}

/**
 * Asserts that none of `held` is left in the kernel. The program's id goes the
 * moment the last fd closes, but the maps it uses are put only when the
 * program itself is freed, after an RCU grace period and a workqueue pass
 * (kernel/bpf/syscall.c, __bpf_prog_put -> bpf_prog_free_deferred), so a map
 * id can outlive the process by some milliseconds: allow 3 s for that.
 */
async function assertGone(held: { progs: number[]; maps: number[] }): Promise<void> {
  const deadline = performance.now() + 3000;
  // An attached tracing program (the syscall trigger's) is held by its link, whose release waits
  // for the tracepoint's users to finish (tracepoint_synchronize_unregister) before the program is
  // put: its id, too, can outlive the process by a few milliseconds. A test-run program goes at once.
  let progs = held.progs.filter((id) => exists('prog', id));
  while (progs.length && performance.now() < deadline) {
    await sleep(20);
    progs = progs.filter((id) => exists('prog', id));
  }
  assert.deepEqual(progs, [], 'every program the process held is freed by the kernel');
  let left = held.maps.filter((id) => exists('map', id));
  while (left.length && performance.now() < deadline) {
    await sleep(50);
    left = left.filter((id) => exists('map', id));
  }
  assert.deepEqual(left, [], 'every map the process held is freed by the kernel');
}

async function interruptAndCheck(child: Child, held: { progs: number[]; maps: number[] }, signal: NodeJS.Signals, reportBudgetMs = REPORT_BUDGET_MS): Promise<void> {
  const sent = performance.now();
  child.proc.kill(signal);
  const { code, at } = await child.exited;
  const tookMs = at - sent;
  const reportMs = child.interruptedAt === undefined ? NaN : child.interruptedAt - sent;
  console.log(`${signal}: INTERRUPTED line ${reportMs.toFixed(0)} ms, exit ${code} ${tookMs.toFixed(0)} ms after the signal`);
  assert.ok(reportMs <= reportBudgetMs, `partial results ${reportMs.toFixed(0)} ms after ${signal}, budget ${reportBudgetMs} ms; stdout: ${child.stdout}`);
  assert.ok(tookMs < EXIT_BUDGET_MS, `exited ${tookMs.toFixed(0)} ms after ${signal}, budget ${EXIT_BUDGET_MS} ms`);
  const expected = 128 + (signal === 'SIGINT' ? 2 : 15);
  assert.equal(code, expected, `exit code; stderr: ${child.stderr}`);
  // On stdout, or on stderr when stdout is one JSON object (--json).
  assert.match(child.stdout + child.stderr, new RegExp(`INTERRUPTED by ${signal}`));
  assert.doesNotMatch(child.stderr, /^\s+at /m, 'no stack trace');
  assert.doesNotMatch(child.stdout + child.stderr, /FAILED/, 'the partial results verify');
  await assertGone(held);
}

test('SIGINT during a prefill fill: the fill stops, what it made is drained and verified', { skip, timeout: 60_000 }, async () => {
  // 16 B events, many of them: a fill takes seconds of kernel time.
  const child = start(['-n', '10M', '--event-size', '16', '--ring-size', '256M', '--runs', '3', '--warmup', '0']);
  const held = await waitForLoad(child);
  // The first fill has begun and is far from done (10M events take a good fraction of a second).
  await waitForCounter(child, bssMapId(held.maps), (n) => n > 0 && n < 5e6);
  await interruptAndCheck(child, held, 'SIGINT');
  assert.match(child.stdout, /the fill of \w+ round \d+ stopped after \d+ of 10000000 events, which were drained and verified/);
});

test('SIGTERM during a long prefill drain: the drain is cut after the wind-down, completed runs are reported in time', { skip, timeout: 60_000 }, async () => {
  // 20 million 16 B events in copy mode: a drain is about a second of user-space time.
  const child = start(['-n', '20M', '--event-size', '16', '--ring-size', '1G', '--mode', 'copy', '--runs', '20', '--warmup', '0']);
  const held = await waitForLoad(child);
  const bss = bssMapId(held.maps);
  // The second fill is complete (the counter restarts at 0 for every fill), so
  // one run is complete and the second drain is running.
  await waitForCounter(child, bss, (n) => n === 20_000_000, 40_000);
  await waitForCounter(child, bss, (n) => n < 20_000_000, 40_000);
  await waitForCounter(child, bss, (n) => n === 20_000_000, 40_000);
  await interruptAndCheck(child, held, 'SIGTERM');
  assert.match(child.stdout, /INTERRUPTED by SIGTERM after [1-9]\d* of 20 runs/);
  assert.match(child.stdout, /the drain of copy round \d+ was still running when the wind-down time ran out: cut short, not measured/);
  assert.match(child.stdout, /read-into \(copy\): +20000000 events/, 'the completed run is reported');
});

test('SIGINT right after the load: stops before or during the first fill, exits cleanly', { skip, timeout: 60_000 }, async () => {
  const child = start(['-n', '1M', '--ring-size', '512M', '--runs', '5']);
  const held = await waitForLoad(child);
  await interruptAndCheck(child, held, 'SIGINT');
});

test('SIGINT while a perf session is set up (256 MiB rings per CPU): no fill starts; results once the kernel has handed over the ring it was allocating', { skip: kernelSkipFor({ buffer: 'perfbuf' }), timeout: 60_000 }, async () => {
  // Setting up takes about a second here: the kernel allocates each CPU's ring inside one mmap() that
  // no signal interrupts (and that holds the process's mmap lock, so no other thread could report
  // meanwhile either), then the rings are pre-faulted in steps a stop ends. Before: a fill began past
  // the stop and results came 0.6-1.6 s late (hostile review of issue 11), or never when the set-up
  // outlasted the grace period. The README's guarantee names this exception.
  const child = start(['--mode', 'perf-copy,perf-view', '--event-size', '3072', '-n', '40000', '--perf-ring-size', '256M', '--runs', '5']);
  const held = await waitForLoad(child);
  // The README's exception: one ring's allocation at most, then a pre-faulting step.
  await interruptAndCheck(child, held, 'SIGINT', EXIT_BUDGET_MS);
  assert.match(child.stdout, /INTERRUPTED by SIGINT after 0 of \d+ runs/, 'nothing measured: no fill started');
  assert.doesNotMatch(child.stdout, /still running when the wind-down time ran out/, 'nothing was running but the set-up');
});

test('SIGINT during the pipeline: producers stop, the consumer drains, the partial run verifies', { skip, timeout: 60_000 }, async () => {
  const child = start(['--producers', '2', '--duration', '30s', '--ring-size', '16M', '--mode', 'both']);
  const held = await waitForLoad(child);
  await sleep(800); // workers started and producing
  await interruptAndCheck(child, held, 'SIGINT');
  assert.match(child.stdout, /integrity: verified/);
  assert.doesNotMatch(child.stdout, /read-view/, 'the second mode never started');
});

test('a second SIGINT exits at once', { skip, timeout: 60_000 }, async () => {
  const child = start(['-n', '10M', '--event-size', '16', '--ring-size', '256M', '--runs', '5', '--warmup', '0']);
  const held = await waitForLoad(child);
  await waitForCounter(child, bssMapId(held.maps), (n) => n > 0 && n < 5e6);
  child.proc.kill('SIGINT');
  const second = performance.now();
  child.proc.kill('SIGINT');
  const { code, at } = await child.exited;
  assert.ok(at - second < 500, `exited ${(at - second).toFixed(0)} ms after the second SIGINT`);
  assert.equal(code, 130);
  assert.doesNotMatch(child.stderr, /^\s+at /m);
  await assertGone(held);
});

test('SIGINT while the consumer sleeps in epoll_wait with --read-timeout 60s: results within 0.5 s (issue 10, 1)', { skip, timeout: 60_000 }, async () => {
  // Paced far below what the consumer drains: it spends nearly all its time in epoll_wait.
  const child = start(['--producers', '1', '--read-timeout', '60s', '--rate', '1000', '--chunk', '10', '--duration', '30s', '--ring-size', '1M', '--mode', 'view']);
  const held = await waitForLoad(child);
  await sleep(1500); // released and paced
  await interruptAndCheck(child, held, 'SIGINT');
  assert.match(child.stdout, /read-view \(zero-copy\): +[1-9]\d* events/);
  assert.match(child.stdout, /integrity: verified/);
});

for (const json of [false, true]) {
  test(`SIGINT during pipeline set-up (workers started, not released)${json ? ', --json' : ''}: an interruption, exit 130, not a failure (issue 10, 2)`, { skip, timeout: 60_000 }, async () => {
    const child = start(['--producers', '2', '--duration', '5s', '--ring-size', '64M', ...(json ? ['--json'] : [])]);
    const held = await waitForLoad(child);
    // The program is loaded; once the producers' and the consumer's threads exist
    // the run is in its set-up (each worker loads the addon and warms up before
    // reporting ready, well over 50 ms), before the release.
    const base = threadsOf(child.proc.pid!);
    const deadline = performance.now() + 20_000;
    while (threadsOf(child.proc.pid!) < base + 3 && performance.now() < deadline) await sleep(1);
    await interruptAndCheck(child, held, 'SIGINT');
    assert.doesNotMatch(child.stderr + child.stdout, /failed/i);
    assert.match(json ? child.stderr : child.stdout, /INTERRUPTED by SIGINT before the first run started: no results/);
    if (json) {
      const out = JSON.parse(child.stdout) as { results: unknown[]; runs: unknown[]; failures: string[]; stalls: string[]; interrupted: unknown };
      assert.deepEqual([out.results, out.runs, out.failures, out.stalls, out.interrupted], [[], [], [], [], { signal: 'SIGINT' }]);
    }
  });
}

test('SIGINT with a backlog: the pipeline drains for the wind-down, then counts what it leaves unread, within 0.5 s', { skip, timeout: 60_000 }, async () => {
  // Without wake-ups and with a 60 s read timeout the consumer sleeps while the
  // producer fills a 256 MiB ring with 16 B events: about ten million events,
  // a second or more of draining, are waiting when the stop wakes it.
  const child = start(['--producers', '1', '--duration', '30s', '--event-size', '16', '--ring-size', '256M', '--wakeup', 'none', '--read-timeout', '60s', '--mode', 'view', '--json']);
  const held = await waitForLoad(child);
  await sleep(3000);
  await interruptAndCheck(child, held, 'SIGINT');
  const { results, failures } = JSON.parse(child.stdout) as { results: { events: number; drops: number; unread: number; produced: number; discards: number }[]; failures: string[] };
  assert.deepEqual(failures, []);
  const [r] = results;
  assert.ok(r.unread > 0, `the backlog was cut (unread ${r.unread})`);
  assert.equal(r.events + r.unread + r.drops + r.discards, r.produced, 'consumed + unread + dropped == produced');
});

for (const [mode, size] of [
  ['perf-view', '256M'],
  ['perf-native', '512M'],
] as const)
  test(`SIGINT with a backlog in the perf buffer, ${mode}: drained for the wind-down, the rest counted from each ring's data_tail to data_head, within 0.5 s`, { skip: kernelSkipFor({ buffer: 'perfbuf' }), timeout: 90_000 }, async (t) => {
    // The perf buffer's fewest wake-ups (--wakeup none: one per ring size written) and a 60 s read timeout:
    // the consumer sleeps while the producer fills its CPU's ring with 16 B events, more than the wind-down drains.
    const child = start(['--producers', '1', '--duration', '60s', '--event-size', '16', '--perf-ring-size', size, '--wakeup', 'none', '--read-timeout', '60s', '--mode', mode, '--json']);
    const held = await waitForLoad(child);
    await sleep(mode === 'perf-native' ? 9000 : 4000);
    await interruptAndCheck(child, held, 'SIGINT');
    const { results, failures } = JSON.parse(child.stdout) as { results: { events: number; drops: number; unread: number; produced: number; lost: number }[]; failures: string[] };
    assert.deepEqual(failures, []);
    const [r] = results;
    // libbpf drains 16 B samples at tens of millions a second: on a quiet machine the wind-down can
    // empty the rings the producer filled, and the count below is then the whole check.
    if (mode === 'perf-native' && r.unread === 0) t.diagnostic('the wind-down drained the whole backlog this time');
    else assert.ok(r.unread > 0, `the backlog was cut (unread ${r.unread})`);
    // Exact: a native drain stopped by the cut counts the record it stopped at (libbpf has consumed it).
    assert.equal(r.events + r.unread + r.drops, r.produced, 'consumed + unread + dropped == produced');
    assert.ok(r.lost <= r.drops);
  });

test('SIGINT during a 1,000,000-event test run of 3 KiB events: the producer is interrupted, results within 0.5 s', { skip, timeout: 60_000 }, async () => {
  // One test run of a million 3 KiB events into a 1 GiB ring takes more than a second.
  const child = start(['--producers', '1', '--chunk', '1000000', '--event-size', '3072', '--duration', '30s', '--ring-size', '1G', '--mode', 'view']);
  const held = await waitForLoad(child);
  await waitForCounter(child, bssMapId(held.maps), (n) => n > 10_000);
  await sleep(100);
  await interruptAndCheck(child, held, 'SIGINT');
  assert.match(child.stdout, /integrity: verified/);
});

test('SIGINT during a 1,000,000-call syscall chunk (--trigger syscall, 3 KiB events): the loop sees the stop, results within 0.5 s', { skip: syscallSkip, timeout: 60_000 }, async () => {
  // getpgid() is not interrupted by a signal: only the loop's own look at the stop can end a chunk
  // that takes over a second (a million 3 KiB events into a 1 GiB ring).
  const child = start(['--producers', '1', '--trigger', 'syscall', '--chunk', '1000000', '--event-size', '3072', '--duration', '30s', '--ring-size', '1G', '--mode', 'view']);
  const held = await waitForLoad(child);
  await waitForCounter(child, bssMapId(held.maps), (n) => n > 10_000);
  await sleep(100);
  await interruptAndCheck(child, held, 'SIGINT');
  assert.match(child.stdout, /trigger syscall: the program runs at/);
  assert.match(child.stdout, /integrity: verified/);
});

test('SIGINT during a prefill fill by the syscall trigger: the fill stops, what it made is drained and verified', { skip: syscallSkip, timeout: 60_000 }, async () => {
  // 10 million getpgid() calls on the main thread: seconds of filling.
  const child = start(['-n', '10M', '--trigger', 'syscall', '--event-size', '16', '--ring-size', '256M', '--runs', '3', '--warmup', '0']);
  const held = await waitForLoad(child);
  await waitForCounter(child, bssMapId(held.maps), (n) => n > 0 && n < 5e6);
  await interruptAndCheck(child, held, 'SIGINT');
  assert.match(child.stdout, /the fill of \w+ round \d+ stopped after \d+ of 10000000 events, which were drained and verified/);
});

test('SIGINT during a prefill drain in a native mode: cut in time too', { skip, timeout: 60_000 }, async () => {
  // The slowest native drain there is: a full 1 GiB ring of 16 B events, each copied (about 0.5 s here).
  const child = start(['-n', '44M', '--event-size', '16', '--ring-size', '1G', '--mode', 'native-copy', '--runs', '3', '--warmup', '0']);
  const held = await waitForLoad(child);
  await waitForCounter(child, bssMapId(held.maps), (n) => n === 44_000_000, 40_000);
  await interruptAndCheck(child, held, 'SIGINT');
  assert.match(child.stdout, /the drain of native-copy round 0 was still running when the wind-down time ran out/);
});

test('SIGSTOP for 1 s during a paced pipeline: reported as a stall (exit 3), the data verified (issue 10, 7)', { skip, timeout: 60_000 }, async () => {
  const child = start(['--producers', '1', '--rate', '1000', '--chunk', '10', '--duration', '3s', '--ring-size', '1M', '--mode', 'view', '--runs', '1', '--warmup', '0', '--json']);
  const held = await waitForLoad(child);
  await sleep(800);
  child.proc.kill('SIGSTOP');
  await sleep(1000);
  child.proc.kill('SIGCONT');
  const { code } = await child.exited;
  assert.equal(code, 3, `a stall exits 3; stderr: ${child.stderr}`);
  const out = JSON.parse(child.stdout) as { results: { stall: string | null }[]; failures: string[]; stalls: string[] };
  assert.deepEqual(out.failures, [], 'sequences, drops and checksum verified');
  assert.match(out.results[0].stall ?? '', /stall watchdog: .*epoll_wait returned after \d+\.\d ms/);
  assert.equal(out.stalls.length, 1);
  assert.match(child.stderr, /^bench: STALLED: view: stall watchdog/m);
  assert.doesNotMatch(child.stderr, /FAILED|integrity/);
  await assertGone(held);
});

test('SIGINT to bench drain waiting with --read-timeout 60s on a ring nobody wakes: results within 0.5 s', { skip: skip || bpffsSkip(), timeout: 60_000 }, async () => {
  // A separate process's ring, filled without wake-ups: the drain sleeps in epoll_wait on the main thread.
  const producer = await ProducerProcess.start({ eventSize: 200, ringSize: 1 << 22, submitFlags: 1 });
  try {
    const child = start(['drain', '--pinned', producer.pin, '--read-timeout', '60s']);
    await sleep(1000);
    await producer.produce(1000);
    await sleep(300);
    const sent = performance.now();
    child.proc.kill('SIGINT');
    const { code } = await child.exited;
    assert.equal(code, 130, child.stderr);
    assert.ok(child.interruptedAt !== undefined && child.interruptedAt - sent <= REPORT_BUDGET_MS, `INTERRUPTED ${((child.interruptedAt ?? NaN) - sent).toFixed(0)} ms after the signal`);
    assert.doesNotMatch(child.stderr, /^\s+at /m);
  } finally {
    await producer.stop();
  }
});
