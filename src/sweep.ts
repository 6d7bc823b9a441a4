#!/usr/bin/env node
/**
 * bpf-ringbuf-sweep: the consumer modes over a range of event sizes (and producer counts).
 *   node dist/sweep.js --sizes 16..2048:16 --modes all --out results/
 * writes results/sweep.json and results/sweep.csv (rewritten after every
 * point); plot them with dist/plot.js. Exit codes as bench: 0 all verified,
 * 1 a run failed verification or the kernel refused, 2 bad input, 3 a
 * pipeline point stalled, 128 + signal when stopped (completed points kept).
 */
import { mappingBytes, perfFds } from './cli/limits.js';
import { main } from './cli/main.js';
import { parseSweepArgs } from './cli/sweep-options.js';
import { runSweepCommand } from './commands/sweep/index.js';
import { buffersOf } from './shared/types.js';

main({
  name: 'sweep',
  parse: parseSweepArgs,
  // Prefill points load in this process (the perf buffer needs CAP_PERFMON too); pipeline points' children check again.
  privileges: (config) => buffersOf(config.modes).map((buffer) => ({ buffer, trigger: config.trigger ?? 'test-run' })),
  // Pipeline points run as child processes, which check their own limits.
  resources: (config) => ({ threads: 0, mappedBytes: mappingBytes(config, config.modes), fds: perfFds(config.modes) }),
  run: runSweepCommand,
});
