/**
 * The shape every command has: it takes its config and a CommandContext, runs
 * a runner, formats what the runner returns (text, or JSON with --json),
 * writes it, and returns the process's exit code:
 *   0           everything measured was verified
 *   1           a run failed verification, or the kernel refused
 *   2           bad input (decided by the CLI before any command runs)
 *   3           verified, but the consumer stalled: a wait broke the
 *               --read-timeout bound (the stall watchdog); the data is intact,
 *               the latency promise is not (a stopped or starved process, or
 *               a lost wake-up)
 *   128 + N     stopped by signal N (SIGINT: 130, SIGTERM: 143); what was
 *               measured before the stop is printed, marked partial
 *   141         stdout's reader went away (128 + SIGPIPE, as a tool the
 *               signal killed; src/cli/main.ts)
 */
import * as os from 'node:os';
import type { StopSignal } from '../shared/stop.js';

export interface CommandContext {
  /** The command's name, for messages ("bench", "sweep"). */
  name: string;
  stop: StopSignal;
  stdout(text: string): void;
  stderr(text: string): void;
}

/** A context writing to this process's stdout and stderr. */
export function processContext(name: string, stop: StopSignal): CommandContext {
  return {
    name,
    stop,
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
  };
}

export const EXIT_STALLED = 3;

/** 1 if anything failed; else 128 + the signal's number if the run was stopped; else 3 if it stalled; else 0. */
export function exitCode(failed: boolean, stop: StopSignal, stalled = false): number {
  if (failed) return 1;
  if (!stop.requested()) return stalled ? EXIT_STALLED : 0;
  const signo = os.constants.signals[stop.reason() as keyof typeof os.constants.signals];
  return 128 + (signo ?? os.constants.signals.SIGINT);
}

/** Each failure on its own stderr line, "<name>: FAILED: ...". */
export function reportFailures(ctx: CommandContext, failures: readonly string[]): void {
  for (const f of failures) ctx.stderr(`${ctx.name}: FAILED: ${f}\n`);
}

/** How a line that marks printed results as partial begins: "INTERRUPTED by SIGINT". */
export function interruptedBy(stop: StopSignal): string {
  return `INTERRUPTED by ${stop.reason() ?? 'a signal'}`;
}
