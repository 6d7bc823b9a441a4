/**
 * The producer-side options through the real CLI on the kernel: sampled
 * wake-ups (--wakeup threshold:64K) and bpf_ringbuf_output (--submit output)
 * run and verify in the pipeline, with either trigger; a sampled wake-up
 * wakes the consumer far less often than the adaptive one under the same
 * paced load; a prefill filled by the syscall trigger and by output drains
 * the same events, with the same checksum, as one filled by test runs; and a
 * syscall trigger for which no hook loads fails with one line that lists
 * every hook tried.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { failureLine } from '../src/cli/main.js';
import { parseArgs } from '../src/cli/options.js';
import { runPipeline } from '../src/runners/pipeline.js';
import type { PipelineConfig } from '../src/shared/config.js';
import { Session } from '../src/shared/session.js';
import { kernelSkip, kernelSkipFor } from './helpers/kernel.js';

const BENCH = path.resolve(__dirname, '..', 'src', 'bench.js');
const syscallSkip = kernelSkipFor({ trigger: 'syscall' });

interface PipelineJson {
  settings: Record<string, unknown>;
  results: { mode: string; events: number; produced: number; drops: number; checksum: string; epoll_waits: number; wakeup: string; submit: string; trigger: string; hook: string }[];
  failures: string[];
  stalls: string[];
}

function bench(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BENCH, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function json<T>(args: string[]): T {
  const r = bench([...args, '--json']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

for (const trigger of ['test-run', 'syscall'] as const) {
  test(`--wakeup threshold:64K --submit output (trigger ${trigger}): every mode runs and verifies, and the settings say so`, { skip: trigger === 'syscall' ? syscallSkip : kernelSkip, timeout: 120_000 }, () => {
    const out = json<PipelineJson>(['--producers', '2', '--trigger', trigger, '--wakeup', 'threshold:64K', '--submit', 'output', '--duration', '700ms', '--mode', 'all', '--runs', '1', '--warmup', '0', '--ring-size', '16M']);
    assert.deepEqual(out.failures, []);
    assert.deepEqual([out.settings.wakeup, out.settings.submit, out.settings.trigger], ['threshold:65536', 'output', trigger]);
    // The perf buffer's modes too: threshold:64K is their watermark; their program always outputs (perf_event_output).
    assert.deepEqual(out.results.map((r) => r.mode), ['copy', 'view', 'native', 'perf-copy', 'perf-view', 'perf-native']);
    for (const r of out.results) {
      assert.ok(r.events > 0, `${r.mode} consumed events`);
      assert.equal(r.events + r.drops, r.produced, `${r.mode}: consumed + dropped == produced`);
      assert.deepEqual([r.submit, r.trigger], [r.mode.startsWith('perf-') ? 'perf_event_output' : 'output', trigger]);
      assert.match(r.hook, trigger === 'syscall' ? /^(fentry|tp_btf|raw_tp)\// : /^test-run/);
    }
  });
}

test('a sampled wake-up (threshold:64K) wakes the consumer far less often than the adaptive one under the same paced load', { skip: kernelSkip, timeout: 120_000 }, () => {
  // 20,000 events/s in chunks of 10: the adaptive wake-up wakes the waiting consumer
  // at about every chunk (2,000 a second); 64 KiB of 136 B records is 481 events,
  // so the sampled one forces about 40 wake-ups a second (plus a 100 ms read
  // timeout's worth when the load runs late).
  const waits = (wakeup: string) => {
    const out = json<PipelineJson>(['--producers', '1', '--rate', '20k', '--chunk', '10', '--duration', '1s', '--wakeup', wakeup, '--mode', 'view', '--runs', '1', '--warmup', '0', '--ring-size', '4M']);
    assert.deepEqual(out.failures, []);
    return out.results[0].epoll_waits;
  };
  const adaptive = waits('adaptive');
  const sampled = waits('threshold:64K');
  console.log(`epoll waits in 1 s at 20k events/s: adaptive ${adaptive}, threshold:64K ${sampled}`);
  assert.ok(sampled * 4 < adaptive, `threshold:64K waited ${sampled} times, adaptive ${adaptive}`);
  assert.ok(sampled <= 100, `about 40 forced wake-ups and at most 10 read timeouts, got ${sampled}`);
});

test('prefill: filled by the syscall trigger with bpf_ringbuf_output, the drains read the test-run fill\'s events (same checksum in every mode)', { skip: syscallSkip, timeout: 120_000 }, () => {
  // --mode all: the perf buffer's modes too, filled by the same trigger (its program has no --submit: it always outputs from the stack).
  const args = ['-n', '200000', '--mode', 'all', '--runs', '1', '--warmup', '0', '--ring-size', '64M', '--perf-ring-size', '64M', '--event-size', '200'];
  const plain = json<{ results: { checksum: string }[]; failures: string[]; hook: string; settings: Record<string, unknown> }>(args);
  const other = json<typeof plain>([...args, '--trigger', 'syscall', '--submit', 'output']);
  assert.deepEqual([plain.failures, other.failures], [[], []]);
  assert.equal(plain.results.length, 9);
  assert.deepEqual(new Set([...plain.results, ...other.results].map((r) => r.checksum)).size, 1, 'one checksum across triggers, submit modes and consumers');
  assert.match(other.hook, /^(fentry|tp_btf|raw_tp)\//);
  assert.deepEqual([other.settings.trigger, other.settings.submit], ['syscall', 'output']);
  const text = bench([...args, '--trigger', 'syscall']);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^prefill: 200000 events of 200 B per run, ring 64 MiB, .*perf.*, filled by getpgid\(\) calls on this thread \(trigger syscall: the program runs at \S+\)/m);
});

test('the hook fallback\'s error path: with no hook that loads, the pipeline fails before any worker starts, in one line listing each hook tried', { skip: syscallSkip }, async (t) => {
  let fentryLoads = false;
  try {
    new Session({ eventSize: 64, ringSize: 1 << 16, trigger: 'syscall', hooks: ['fentry'] }).close();
    fentryLoads = true;
  } catch {
    // refused, as on this project's VM (EPERM at load)
  }
  if (fentryLoads) return t.skip('fentry loads on this kernel: no hook to fail');
  const invocation = parseArgs(['--producers', '2', '--trigger', 'syscall', '--duration', '200ms', '--ring-size', '1M']);
  const config = { ...(invocation.config as { run: PipelineConfig }).run, hooks: ['fentry' as const] };
  const started = performance.now();
  const error = await runPipeline(config).then(
    () => undefined,
    (err: Error) => err,
  );
  assert.ok(error, 'the run was refused');
  assert.ok(performance.now() - started < 5000, 'refused at load, before any worker');
  assert.match(error.message, /^no syscall hook works on this kernel: fentry\/\S+: bpf_object__load: .+ \(E[A-Z]+\)$/);
  const line = failureLine('bench', error, [{ trigger: 'syscall' }]);
  assert.ok(!line.includes('\n'), 'one line');
  assert.match(line, /^bench: no syscall hook works on this kernel: fentry\//);
});
