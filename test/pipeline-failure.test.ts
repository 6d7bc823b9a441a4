/**
 * A worker that fails stops the whole pipeline with a clear error, promptly,
 * instead of leaving the others waiting. The failures are real: pinning to a
 * CPU id the kernel's cpu_set_t cannot hold, which the addon refuses (the CLI
 * would refuse it earlier, so the config is edited after parsing).
 */
import assert from 'node:assert/strict';
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
