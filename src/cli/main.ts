/**
 * What every entry point (bench, sweep, plot) does around its command:
 *  - parse the arguments; bad input is one line on stderr naming the flag and
 *    what it allows, and exit code 2, before anything touches the kernel;
 *  - check the command can run here (privileges, kernel, and the process's
 *    limits: src/cli/limits.ts) before it starts;
 *  - install Ctrl-C / SIGTERM handling (a stop the runners see);
 *  - run the command and exit with its code; anything unexpected, anywhere
 *    (a rejected promise, an 'error' event nobody listened to), becomes one
 *    line with advice where there is some, and exit code 1: never a stack trace;
 *  - when stdout's (or stderr's) reader goes away (`bench | head`), exit at
 *    once and quietly with 141 (128 + SIGPIPE), as a tool the signal killed.
 */
import * as os from 'node:os';
import { CommanderError } from 'commander';
import { processContext, type CommandContext } from '../commands/context.js';
import { kernelTooOld, loadFailureAdvice, missingPrivileges, type PrivilegeNeeds } from '../shared/privileges.js';
import { NEVER_STOP } from '../shared/stop.js';
import { interruption } from './interrupt.js';
import { limitAdvice, resourceShortfall, type Resources } from './limits.js';

export interface Entry<C> {
  /** Used in every message: "bench: ...". */
  name: string;
  /** argv without node and the script; throws CommanderError (or InvalidArgumentError) on bad input. */
  parse(argv: string[]): C;
  /**
   * What the invocation will load, as far as privileges go (each kind of BPF
   * object it opens: the trigger, the buffer); default: the test-run trigger
   * and the ring buffer. The default preflight names exactly what these
   * need, and so does the advice after a refused load.
   */
  privileges?(config: C): PrivilegeNeeds[];
  /**
   * Why this invocation cannot run here (missing privileges, an old kernel),
   * checked before it starts; default: what loading what privileges() lists
   * needs, and the kernel version. Return undefined when it can run.
   */
  preflight?(config: C): string | undefined;
  /** Whether Ctrl-C / SIGTERM wind the command down (partial results) rather than end the process; default: yes. */
  windsDown?: boolean;
  /** What the run asks of the process's limits (checked before it starts); default: nothing is checked. */
  resources?(config: C): Resources;
  run(config: C, ctx: CommandContext): number | Promise<number>;
}

/** The exit code when stdout's reader has gone: 128 + SIGPIPE. */
export const EXIT_PIPE_CLOSED = 128 + os.constants.signals.SIGPIPE;
/** Longest quoted value echoed back in a bad-input line, and the longest line. */
const ECHO_MAX = 64;
const LINE_MAX = 500;

export function main<C>(entry: Entry<C>, argv = process.argv.slice(2)): void {
  let needs: PrivilegeNeeds[] = [];
  const fail = failure(entry.name, () => needs);
  guardProcess(fail);
  const config = parseOrExit(entry, argv);
  try {
    needs = entry.privileges?.(config) ?? [];
    const denied =
      (entry.preflight ? entry.preflight(config) : (missingPrivileges(...needs) ?? kernelTooOld())) ??
      (entry.resources ? resourceShortfall(entry.resources(config)) : undefined);
    if (denied) {
      process.stderr.write(`${entry.name}: ${denied}\n`);
      process.exit(1);
    }
    const windsDown = entry.windsDown ?? true;
    // From here on a Ctrl-C / SIGTERM winds the run down instead of killing it.
    if (windsDown) interruption.install();
    const ctx = processContext(entry.name, windsDown ? interruption : NEVER_STOP);
    Promise.resolve(entry.run(config, ctx)).then((code) => process.exit(pipeClosed(process.stdout.errored) ? EXIT_PIPE_CLOSED : code), fail);
  } catch (err) {
    fail(err);
  }
}

/** Writes an unexpected error as one line (with advice where a cause is known) and exits 1. */
function failure(name: string, needs: () => PrivilegeNeeds[]): (err: unknown) => never {
  return (err) => {
    process.stderr.write(`${failureLine(name, err, needs())}\n`);
    process.exit(1);
  };
}

/**
 * An unexpected error as the one line the CLI prints: the message on one line
 * (the addon's can carry libbpf's log, require() errors their require stack),
 * cut to length, with advice where a cause is known (`needs`: what the run
 * loads, so privilege advice names exactly its capabilities).
 */
export function failureLine(name: string, err: unknown, needs: PrivilegeNeeds[] = [], release = os.release()): string {
  const e = err as NodeJS.ErrnoException;
  const advice = limitAdvice(e ?? {}) ?? loadFailureAdvice(e ?? {}, release, ...needs);
  const message = String(e?.message ?? err)
    .replace(/\nRequire stack:[\s\S]*$/, '')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
  return `${name}: ${clip(message)}${advice ? ` (${advice})` : ''}`;
}

/** The write error of a pipe whose reader has gone (a failed write destroys the stream at once; 'error' comes a tick later). */
function pipeClosed(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED';
}

/** No error leaves the process as a stack trace, and a closed pipe ends it quietly. */
function guardProcess(fail: (err: unknown) => never): void {
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (pipeClosed(err)) process.exit(EXIT_PIPE_CLOSED);
    fail(new Error(`cannot write to stdout: ${err.message}`));
  });
  // Nothing can be said on a broken stderr: just leave.
  process.stderr.on('error', (err: NodeJS.ErrnoException) => process.exit(pipeClosed(err) ? EXIT_PIPE_CLOSED : 1));
}

function parseOrExit<C>(entry: Entry<C>, argv: string[]): C {
  try {
    return entry.parse(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') process.exit(0);
      process.stderr.write(`${entry.name}: ${badInputLine(err)}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/** Commander's message as one line without its "error: " prefix ("(Did you mean --events?)" goes on the same line). */
export function badInputLine(err: CommanderError): string {
  if (err.code === 'commander.excessArguments')
    return 'unexpected argument: every input is a --flag (flags such as --json take no value); see --help';
  return clip(err.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').trim());
}

/** Cuts each quoted value (a 130 KB --mode, an unknown flag) to ECHO_MAX characters, and the line to LINE_MAX. */
function clip(line: string): string {
  // A quoted value opens after a space (or a bracket, or the start) and closes before one: the text
  // between two quoted values ("'fast' is invalid. --mode must be one of ..., got 'fast'") is not one.
  const long = new RegExp(`(^|[\\s(=])'([^']{${ECHO_MAX + 1},})'(?=$|[\\s,.;:)])`, 'g');
  const cut = line.replace(long, (_, before: string, value: string) => `${before}'${value.slice(0, ECHO_MAX)}…' (${value.length} characters)`);
  return cut.length > LINE_MAX ? `${cut.slice(0, LINE_MAX)}…` : cut;
}
