/**
 * A worker that fails stops the whole pipeline with a clear error, promptly,
 * instead of leaving the others waiting. The failures are real: pinning to a
 * CPU id the kernel's cpu_set_t cannot hold, which the addon refuses (the CLI
 * would refuse it earlier, so the config is edited after parsing).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { parseArgs } from '../src/cli/options.js';
import { runPipeline } from '../src/runners/pipeline.js';
import type { PipelineConfig } from '../src/shared/config.js';
import { kernelSkip } from './helpers/kernel.js';

function config(edit: (p: PipelineConfig) => void): PipelineConfig {
  const invocation = parseArgs(['--producers', '2', '-n', '20000', '--ring-size', '1M', '--mode', 'both']);
  assert.equal(invocation.pattern, 'pipeline');
  const run = (invocation.config as { run: PipelineConfig }).run;
  edit(run);
  return run;
}

test('a producer that fails stops the run with an error naming it', { skip: kernelSkip }, async () => {
  const t0 = performance.now();
  await assert.rejects(
    runPipeline(config((p) => (p.producerCpus = [0, 100_000]))),
    /^Error: producer 1 failed: setAffinity: cpu out of range$/,
  );
  assert.ok(performance.now() - t0 < 10_000, 'the failure took too long to stop the run');
});

test('a consumer that fails stops the run with an error naming it', { skip: kernelSkip }, async () => {
  const t0 = performance.now();
  await assert.rejects(runPipeline(config((p) => (p.consumerCpu = 100_000))), /^Error: consumer \(copy\) failed: setAffinity: cpu out of range$/);
  assert.ok(performance.now() - t0 < 10_000, 'the failure took too long to stop the run');
});

test('a producer thread that cannot start (EMFILE) fails the run with that reason, promptly, without crashing', { skip: kernelSkip, timeout: 60_000 }, () => {
  // The runner on its own (the CLI would refuse a limit this low up front):
  // piscina reports the thread as an 'error' on the pool, which crashed the
  // process with a stack trace, and its destroy() then hid the reason. The
  // limit is lowered once the program is loaded (onStart, before any thread
  // starts), to a few descriptors above what is open: the threads run out.
  const runner = path.resolve(__dirname, '..', 'src', 'runners', 'pipeline.js');
  const script = `
    const fs = require('node:fs');
    const { spawnSync } = require('node:child_process');
    const { runPipeline } = require(${JSON.stringify(runner)});
    const config = { modes: ['view'], eventSize: 128, ringSize: 1 << 20, batch: 1, touch: 'field', runs: 1, warmup: 0, readTimeoutMs: 100, producers: 4, chunk: 1000,
      events: 10000, durationMs: undefined, rate: undefined, poll: 'epoll', wakeup: 'adaptive', consumerCpu: undefined, producerCpus: undefined };
    const onStart = () => {
      const open = fs.readdirSync('/proc/self/fd').length;
      const r = spawnSync('prlimit', ['--pid', String(process.pid), '--nofile=' + (open + 14)]);
      if (r.status !== 0) throw new Error('prlimit failed: ' + r.stderr);
    };
    runPipeline(config, undefined, undefined, { onStart }).then(() => console.log('resolved'), (e) => console.log('rejected: ' + e.message));
  `;
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 50_000 });
  assert.equal(r.status, 0, r.stderr);
  // Whatever runs out first (a producer or the consumer thread, the pool's error, the run's waker): each names the cause.
  assert.match(r.stdout.trim(), /^rejected: (producer \d+ failed: |consumer \(view\) failed: |a producer thread failed to start: |eventfd\(waker\): ).*EMFILE/);
  assert.ok(performance.now() - t0 < 10_000);
});
