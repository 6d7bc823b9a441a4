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
import { ringMappingBytes } from './cli/limits.js';
import { runDrainCommand } from './commands/drain.js';
import { runPipelineCommand } from './commands/pipeline.js';
import { runPrefillCommand } from './commands/prefill.js';
import { runStressCommand, STRESS_MAPPED_BYTES } from './commands/stress.js';
import { kernelTooOld, missingPrivileges, type PrivilegeNeeds } from './shared/privileges.js';
import { STRESS_TRIGGERS } from './runners/stress.js';

/**
 * What each pattern loads, for the privilege check before anything is loaded:
 * its trigger (test-run: a tc program, CAP_NET_ADMIN; syscall: a tracing
 * program, CAP_PERFMON) with the ring buffer; stress cycles both triggers.
 */
function benchPrivileges(invocation: BenchInvocation): PrivilegeNeeds[] {
  switch (invocation.pattern) {
    case 'prefill':
    case 'pipeline':
      return [{ buffer: 'ringbuf', trigger: invocation.config.run.trigger ?? 'test-run' }];
    case 'stress':
      return STRESS_TRIGGERS.map((trigger) => ({ buffer: 'ringbuf', trigger }));
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
        return { threads: 0, mappedBytes: ringMappingBytes(invocation.config.run.ringSize, invocation.config.run.modes) };
      case 'pipeline':
        return { threads: invocation.config.run.producers + 1, mappedBytes: ringMappingBytes(invocation.config.run.ringSize, invocation.config.run.modes) };
      case 'stress':
        return { threads: invocation.config.run.producers + 1, mappedBytes: STRESS_MAPPED_BYTES };
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
