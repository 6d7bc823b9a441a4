/**
 * Ctrl-C / SIGTERM in each phase of a real run: the CLI is spawned, the test
 * waits until the child is in the phase (its BPF program loaded; its
 * program's sequence counter, read with bpftool, moving = a fill, or complete
 * = the drain after it; the pipeline running), sends the signal and checks that the child
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
import { missingPrivileges } from '../src/shared/privileges.js';

const BENCH = path.resolve(__dirname, '..', 'src', 'bench.js');
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
  // The first fill has begun and is far from done (10M events take a good fraction of a second).
  await waitForCounter(child, bssMapId(held.maps), (n) => n > 0 && n < 5e6);
  await interruptAndCheck(child, held, 'SIGINT');
  assert.match(child.stdout, /the fill of \w+ round \d+ stopped after \d+ of 10000000 events, which were drained and verified/);
});

test('SIGTERM during a prefill drain: the drain finishes, completed runs are reported', { skip, timeout: 60_000 }, async () => {
  // Large events in copy mode: the drain is user-space time; the fill is short.
  const child = start(['-n', '300k', '--event-size', '2048', '--ring-size', '1G', '--mode', 'copy', '--runs', '20', '--warmup', '0']);
  const held = await waitForLoad(child);
  // The first fill is complete, so the first drain is running (it takes about a second).
  await waitForCounter(child, bssMapId(held.maps), (n) => n === 300_000);
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
