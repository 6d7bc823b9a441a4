/**
 * Ctrl-C / SIGTERM in each phase of a real run: the CLI is spawned, the test
 * waits until the child is in the phase (its BPF program loaded; its main
 * thread burning CPU in the kernel = a fill, or in user space = a drain; the
 * pipeline running), sends the signal and checks that the child
 *  - exits within 2 s, with 128 + the signal's number,
 *  - prints partial results marked INTERRUPTED, with no stack trace,
 *  - leaves nothing behind: the program and map ids it held (read from its
 *    /proc/<pid>/fdinfo while it ran) are gone from the kernel afterwards.
 * A second SIGINT ends the child at once.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { missingPrivileges } from '../dist/cli/privileges.js';

const BENCH = path.resolve(__dirname, '..', 'dist', 'bench.js');
const skip = missingPrivileges() ?? false;
const EXIT_BUDGET_MS = 2000;

interface Child {
  proc: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

function start(args: string[]): Child {
  const proc = spawn(process.execPath, [BENCH, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const child: Child = {
    proc,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() }))),
  };
  proc.stdout!.on('data', (d: Buffer) => (child.stdout += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (child.stderr += d.toString()));
  return child;
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

/** utime and stime (clock ticks) of the child's main thread. */
function cpuTicks(pid: number): { user: number; sys: number } {
  const stat = fs.readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]), sys: Number(fields[12]) };
}

/**
 * Waits until the main thread has spent `samples` consecutive 20 ms periods
 * busy only in user space (a drain: reading the mapped ring needs no system
 * call) or only in the kernel (a fill: BPF_PROG_TEST_RUN).
 */
async function waitForMainThreadIn(child: Child, where: 'user' | 'sys', samples = 3, timeoutMs = 20_000): Promise<void> {
  const pid = child.proc.pid!;
  const deadline = performance.now() + timeoutMs;
  let last = cpuTicks(pid);
  let streak = 0;
  while (performance.now() < deadline) {
    await sleep(20);
    const now = cpuTicks(pid);
    const user = now.user - last.user;
    const sys = now.sys - last.sys;
    last = now;
    streak = (where === 'user' ? user > 0 && sys === 0 : sys > 0 && user === 0) ? streak + 1 : 0;
    if (streak >= samples) return;
  }
  throw new Error(`the child's main thread was never busy in ${where} mode only; stdout: ${child.stdout}`);
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
  for (const id of held.progs) assert.ok(!exists('prog', id), `program ${id} is gone`);
  const deadline = performance.now() + 3000;
  let left = held.maps.filter((id) => exists('map', id));
  while (left.length && performance.now() < deadline) {
    await sleep(50);
    left = left.filter((id) => exists('map', id));
  }
  assert.deepEqual(left, [], 'every map the process held is freed by the kernel');
}

async function interruptAndCheck(child: Child, held: { progs: number[]; maps: number[] }, signal: NodeJS.Signals): Promise<void> {
  const sent = performance.now();
  child.proc.kill(signal);
  const { code, at } = await child.exited;
  const tookMs = at - sent;
  console.log(`${signal}: exited with ${(await child.exited).code} ${tookMs.toFixed(0)} ms after the signal`);
  assert.ok(tookMs < EXIT_BUDGET_MS, `exited ${tookMs.toFixed(0)} ms after ${signal}, budget ${EXIT_BUDGET_MS} ms`);
  const expected = 128 + (signal === 'SIGINT' ? 2 : 15);
  assert.equal(code, expected, `exit code; stderr: ${child.stderr}`);
  assert.match(child.stdout, new RegExp(`INTERRUPTED by ${signal}`));
  assert.doesNotMatch(child.stderr, /^\s+at /m, 'no stack trace');
  assert.doesNotMatch(child.stderr, /FAILED/, 'the partial results verify');
  await assertGone(held);
}

test('SIGINT during a prefill fill: the fill stops, what it made is drained and verified', { skip, timeout: 60_000 }, async () => {
  // 16 B events, many of them: a fill takes seconds of kernel time.
  const child = start(['-n', '10M', '--event-size', '16', '--ring-size', '256M', '--runs', '3', '--warmup', '0']);
  const held = await waitForLoad(child);
  await waitForMainThreadIn(child, 'sys');
  await interruptAndCheck(child, held, 'SIGINT');
  assert.match(child.stdout, /the fill of \w+ round \d+ stopped after \d+ of 10000000 events, which were drained and verified/);
});

test('SIGTERM during a prefill drain: the drain finishes, completed runs are reported', { skip, timeout: 60_000 }, async () => {
  // Large events in copy mode: the drain is user-space time; the fill is short.
  const child = start(['-n', '300k', '--event-size', '2048', '--ring-size', '1G', '--mode', 'copy', '--runs', '20', '--warmup', '0']);
  const held = await waitForLoad(child);
  await waitForMainThreadIn(child, 'user');
  await interruptAndCheck(child, held, 'SIGTERM');
  assert.match(child.stdout, /INTERRUPTED by SIGTERM after [1-9]\d* of 20 runs/);
  assert.doesNotMatch(child.stdout, /fill of .* stopped/, 'the signal came during a drain, not a fill');
});

test('SIGINT right after the load: stops before or during the first fill, exits cleanly', { skip, timeout: 60_000 }, async () => {
  const child = start(['-n', '1M', '--ring-size', '512M', '--runs', '5']);
  const held = await waitForLoad(child);
  await interruptAndCheck(child, held, 'SIGINT');
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
  await waitForMainThreadIn(child, 'sys');
  child.proc.kill('SIGINT');
  const second = performance.now();
  child.proc.kill('SIGINT');
  const { code, at } = await child.exited;
  assert.ok(at - second < 500, `exited ${(at - second).toFixed(0)} ms after the second SIGINT`);
  assert.equal(code, 130);
  assert.doesNotMatch(child.stderr, /^\s+at /m);
  await assertGone(held);
});
