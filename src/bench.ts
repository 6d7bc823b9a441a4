#!/usr/bin/env node
/**
 * bpf-ringbuf-bench: measure reading a BPF ring buffer from Node.js, copy vs
 * zero-copy. Without --producers the prefill pattern runs; with --producers N
 * the concurrent pipeline; with --stress the stress cycle; `bench drain`
 * attaches to a ring another program fills. Exit codes: 0
 * verified, 1 a run failed verification or the kernel refused, 2 bad input,
 * 3 verified but the consumer stalled (the watchdog), 128 + signal number
 * after SIGINT/SIGTERM (partial results printed), 141 stdout closed.
 */
import { main } from './cli/main.js';
import { parseArgs, type BenchInvocation } from './cli/options.js';
import { mappingBytes, perfFds, perfMappingBytes } from './cli/limits.js';
import { STRESS_MAX_RING } from './runners/stress.js';
import { runDrainCommand } from './commands/drain.js';
import { runPipelineCommand } from './commands/pipeline.js';
import { runPrefillCommand } from './commands/prefill.js';
import { runStressCommand, STRESS_MAPPED_BYTES } from './commands/stress.js';
import { kernelTooOld, missingPrivileges, type PrivilegeNeeds } from './shared/privileges.js';
import { STRESS_TRIGGERS } from './runners/stress.js';
import { BUFFER_KINDS, buffersOf, PERFBUF_MODES } from './shared/types.js';

/**
 * What each pattern loads, for the privilege check before anything is loaded:
 * the buffer kinds its modes read (the perf buffer: CAP_PERFMON) with its
 * trigger (test-run: a tc program, CAP_NET_ADMIN; syscall: a tracing program,
 * CAP_PERFMON); stress cycles both buffers and both triggers.
 */
function benchPrivileges(invocation: BenchInvocation): PrivilegeNeeds[] {
  switch (invocation.pattern) {
    case 'prefill':
    case 'pipeline':
      return buffersOf(invocation.config.run.modes).map((buffer) => ({ buffer, trigger: invocation.config.run.trigger ?? 'test-run' }));
    case 'stress':
      return STRESS_TRIGGERS.flatMap((trigger) => BUFFER_KINDS.map((buffer) => ({ buffer, trigger })));
    case 'drain':
      return [];
  }
}

main<BenchInvocation>({
  name: 'bench',
  parse: parseArgs,
  privileges: benchPrivileges,
  // drain opens a ring someone else loaded: no program of ours, so none of its privileges (opening says what it lacks).
  preflight: (invocation) => (invocation.pattern === 'drain' ? kernelTooOld() : (missingPrivileges(...benchPrivileges(invocation)) ?? kernelTooOld())),
  resources: (invocation) => {
    switch (invocation.pattern) {
      case 'prefill':
        return { threads: 0, mappedBytes: mappingBytes(invocation.config.run, invocation.config.run.modes), fds: perfFds(invocation.config.run.modes) };
      case 'pipeline':
        return {
          threads: invocation.config.run.producers + 1,
          mappedBytes: mappingBytes(invocation.config.run, invocation.config.run.modes),
          fds: perfFds(invocation.config.run.modes),
        };
      case 'stress':
        // Its largest ring buffer (STRESS_MAPPED_BYTES) and, in a prefill step, perf rings of that size per CPU too.
        return { threads: invocation.config.run.producers + 1, mappedBytes: STRESS_MAPPED_BYTES + perfMappingBytes(STRESS_MAX_RING, PERFBUF_MODES), fds: perfFds(PERFBUF_MODES) };
      case 'drain':
        // Someone else's ring, its size known once opened: the check is for descriptors only.
        return { threads: 0, mappedBytes: 0 };
    }
  },
  run: (invocation, ctx) => {
    switch (invocation.pattern) {
      case 'prefill':
        return runPrefillCommand(invocation.config, ctx);
      case 'pipeline':
        return runPipelineCommand(invocation.config, ctx);
      case 'stress':
        return runStressCommand(invocation.config, ctx);
      case 'drain':
        return runDrainCommand(invocation.config, ctx);
    }
  },
});
