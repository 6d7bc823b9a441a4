/**
 * Stress mode, short: the cycle covers every size, mode, wake-up, wait and
 * pattern; a real --stress run of a few seconds prints status lines and a
 * summary with zero failures and consumed + dropped == produced, leaves no
 * ring mapped, and exits 0; interrupted, it ends quickly with its partial
 * summary; and any failure makes the exit code 1.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { missingPrivileges } from '../src/shared/privileges.js';
import { stressExitCode } from '../src/commands/stress.js';
import { newTotals, STRESS_SIZES, stressStep } from '../src/runners/stress.js';
import { NEVER_STOP, StopController } from '../src/shared/stop.js';

const skip = missingPrivileges() ?? false;
const BENCH = path.resolve(__dirname, '..', 'src', 'bench.js');

test('70 steps of the cycle cover every size, every pipeline mode of both buffers, both touch levels, every wake-up, spin and epoll, paced and flat out, both triggers and submit modes, and prefill', () => {
  const steps = Array.from({ length: 70 }, (_, i) => stressStep(i));
  const pipeline = steps.filter((s) => s.pattern === 'pipeline');
  assert.deepEqual(new Set(steps.map((s) => s.eventSize)), new Set(STRESS_SIZES));
  assert.deepEqual(new Set(pipeline.flatMap((s) => s.modes)), new Set(['copy', 'view', 'native', 'perf-copy', 'perf-view', 'perf-native']));
  assert.deepEqual(new Set(pipeline.map((s) => (s.wakeup.startsWith('threshold:') ? 'threshold' : s.wakeup))), new Set(['adaptive', 'none', 'force', 'threshold']));
  // Sampled wake-ups at an eighth of the ring, never below one record (what the CLI would accept).
  for (const s of steps.filter((x) => x.wakeup.startsWith('threshold:'))) {
    const threshold = Number(s.wakeup.slice('threshold:'.length));
    assert.ok(threshold >= s.eventSize + 8 && threshold <= s.ringSize, `${s.wakeup} for ${s.eventSize} B in ${s.ringSize}`);
  }
  // Both triggers in both patterns, and both submit modes (output only where the event fits the stack).
  for (const pattern of ['pipeline', 'prefill'] as const)
    assert.deepEqual(new Set(steps.filter((s) => s.pattern === pattern).map((s) => s.trigger)), new Set(['test-run', 'syscall']), pattern);
  assert.deepEqual(new Set(pipeline.map((s) => s.submit)), new Set(['reserve', 'output']));
  assert.ok(steps.every((s) => s.submit === 'reserve' || s.eventSize <= 472));
  assert.equal(new Set(pipeline.map((s) => `${s.eventSize}/${s.trigger}`)).size, STRESS_SIZES.length * 2, 'every size meets both triggers');
  assert.deepEqual(new Set(pipeline.map((s) => s.poll)), new Set(['epoll', 'spin']));
  assert.ok(pipeline.some((s) => s.rate !== undefined) && pipeline.some((s) => s.rate === undefined));
  // Prefill steps run all nine modes: both buffers' checksums compared on identical events.
  assert.deepEqual(
    new Set(steps.filter((s) => s.pattern === 'prefill').flatMap((s) => s.modes)),
    new Set(['copy', 'view', 'native', 'native-copy', 'callback', 'perf-copy', 'perf-view', 'perf-native', 'perf-native-copy']),
  );
  // Every size meets both touch levels, and so do the prefill steps.
  assert.equal(new Set(steps.map((s) => `${s.eventSize}/${s.touch}`)).size, STRESS_SIZES.length * 2);
  assert.deepEqual(new Set(steps.filter((s) => s.pattern === 'prefill').map((s) => s.touch)), new Set(['field', 'all']));
  // Every (size, pipeline mode) pair comes up over 140 steps, not just every size and every mode; and each buffer meets every ring size.
  const longer = Array.from({ length: 140 }, (_, i) => stressStep(i)).filter((s) => s.pattern === 'pipeline');
  assert.equal(new Set(longer.map((s) => `${s.eventSize}/${s.modes[0]}`)).size, STRESS_SIZES.length * 6);
  for (const buffer of ['perf-', ''])
    assert.equal(new Set(longer.filter((s) => s.modes[0].startsWith('perf-') === (buffer === 'perf-')).map((s) => s.ringSize)).size, 4, `${buffer || 'ring '}modes meet every ring size`);
});

test('exit code: 0 verified, 1 on any failure or an accounting mismatch, 3 on a stall, 128 + signal when stopped', () => {
  const ok = { ...newTotals(), consumed: 10, dropped: 5, produced: 15 };
  assert.equal(stressExitCode({ totals: ok }, NEVER_STOP), 0);
  assert.equal(stressExitCode({ totals: { ...ok, failures: ['x'] } }, NEVER_STOP), 1);
  assert.equal(stressExitCode({ totals: { ...ok, produced: 16 } }, NEVER_STOP), 1);
  assert.equal(stressExitCode({ totals: { ...ok, produced: 16, unread: 1 } }, NEVER_STOP), 0, 'events a stop left unread are accounted for');
  assert.equal(stressExitCode({ totals: { ...ok, stalls: ['x'] } }, NEVER_STOP), 3, 'a stall is not an integrity failure');
  assert.equal(stressExitCode({ totals: { ...ok, stalls: ['x'], failures: ['y'] } }, NEVER_STOP), 1);
  const stopped = new StopController();
  stopped.stop('SIGTERM');
  assert.equal(stressExitCode({ totals: ok }, stopped), 143, 'a verified run stopped by SIGTERM exits 128 + 15');
  assert.equal(stressExitCode({ totals: { ...ok, failures: ['x'] } }, stopped), 1, 'a failure outranks the stop');
});

test('a 12 s stress run: status lines, summary with 0 failures, consumed + dropped == produced, exit 0', { skip, timeout: 120_000 }, () => {
  const r = spawnSync(process.execPath, [BENCH, '--stress', '--duration', '12s', '--producers', '2'], { encoding: 'utf8', timeout: 110_000 });
  console.log(r.stdout.split('\n').filter((l) => l.startsWith('stress summary')).join('\n'));
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const status = r.stdout.split('\n').filter((l) => l.startsWith('stress status'));
  assert.ok(status.length >= 2, `periodic status lines, got ${status.length}`);
  const m = /stress summary: \S+, (\d+) steps; events consumed ([\d,]+), dropped ([\d,]+), produced ([\d,]+) \(consumed \+ dropped == produced\); failures 0/.exec(r.stdout);
  assert.ok(m, `summary line: ${r.stdout}`);
  const [steps, consumed, dropped, produced] = m.slice(1).map((v) => Number(v.replace(/,/g, '')));
  assert.ok(steps >= 5, `${steps} steps`);
  assert.ok(consumed > 0);
  assert.equal(consumed + dropped, produced);
  assert.equal(r.stderr, '');
});

test('SIGINT during stress: the current step winds down, the summary is marked interrupted, exit 130 within 2 s', { skip, timeout: 120_000 }, async () => {
  const child = spawn(process.execPath, [BENCH, '--stress', '--duration', '5m', '--producers', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Wait for the first status line: the run is in full swing.
  for (let i = 0; i < 600 && !stdout.includes('stress status'); i++) await new Promise((r) => setTimeout(r, 50));
  const sent = performance.now();
  child.kill('SIGINT');
  const code = await exited;
  const took = performance.now() - sent;
  assert.ok(took < 2000, `exited ${took.toFixed(0)} ms after SIGINT`);
  assert.equal(code, 130, stdout);
  assert.match(stdout, /stress summary \(INTERRUPTED by SIGINT: partial\).*failures 0/);
});
