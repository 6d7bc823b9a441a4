/**
 * The shape every command has: it takes its config and a CommandContext, runs
 * a runner, formats what the runner returns (text, or JSON with --json),
 * writes it, and returns the process's exit code:
 *   0           everything measured was verified
 *   1           a run failed verification, or the kernel refused
 *   2           bad input (decided by the CLI before any command runs)
 *   128 + N     stopped by signal N (SIGINT: 130, SIGTERM: 143); what was
 *               measured before the stop is printed, marked partial
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

/** 1 if anything failed; else 128 + the signal's number if the run was stopped; else 0. */
export function exitCode(failed: boolean, stop: StopSignal): number {
  if (failed) return 1;
  if (!stop.requested()) return 0;
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
