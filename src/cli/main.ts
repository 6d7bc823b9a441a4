/**
 * What every entry point (bench, sweep, plot) does around its command:
 *  - parse the arguments; bad input is one line on stderr naming the flag and
 *    what it allows, and exit code 2, before anything touches the kernel;
 *  - check the command can run here (privileges, kernel) before it starts;
 *  - install Ctrl-C / SIGTERM handling (a stop the runners see);
 *  - run the command and exit with its code; anything unexpected becomes one
 *    line with advice where there is some, and exit code 1.
 */
import { CommanderError } from 'commander';
import { processContext, type CommandContext } from '../commands/context.js';
import { kernelTooOld, loadFailureAdvice, missingPrivileges } from '../shared/privileges.js';
import { NEVER_STOP } from '../shared/stop.js';
import { interruption } from './interrupt.js';

export interface Entry<C> {
  /** Used in every message: "bench: ...". */
  name: string;
  /** argv without node and the script; throws CommanderError (or InvalidArgumentError) on bad input. */
  parse(argv: string[]): C;
  /**
   * Why this invocation cannot run here (missing privileges, an old kernel),
   * checked before it starts; default: what loading the benchmark's program
   * needs. Return undefined when it can run.
   */
  preflight?(config: C): string | undefined;
  /** Whether Ctrl-C / SIGTERM wind the command down (partial results) rather than end the process; default: yes. */
  windsDown?: boolean;
  run(config: C, ctx: CommandContext): number | Promise<number>;
}

export function main<C>(entry: Entry<C>, argv = process.argv.slice(2)): void {
  const config = parseOrExit(entry, argv);
  const denied = entry.preflight ? entry.preflight(config) : (missingPrivileges() ?? kernelTooOld());
  if (denied) {
    process.stderr.write(`${entry.name}: ${denied}\n`);
    process.exit(1);
  }
  const windsDown = entry.windsDown ?? true;
  // From here on a Ctrl-C / SIGTERM winds the run down instead of killing it.
  if (windsDown) interruption.install();
  const ctx = processContext(entry.name, windsDown ? interruption : NEVER_STOP);
  const fail = (err: unknown): never => {
    const e = err as NodeJS.ErrnoException;
    const advice = loadFailureAdvice(e);
    // One line: the addon's messages can carry libbpf's multi-line log.
    const message = String(e?.message ?? err).replace(/\s*\n\s*/g, ' ').trim();
    process.stderr.write(`${entry.name}: ${message}${advice ? ` (${advice})` : ''}\n`);
    process.exit(1);
  };
  try {
    Promise.resolve(entry.run(config, ctx)).then((code) => process.exit(code), fail);
  } catch (err) {
    fail(err);
  }
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
function badInputLine(err: CommanderError): string {
  if (err.code === 'commander.excessArguments')
    return 'unexpected argument: every input is a --flag (flags such as --json take no value); see --help';
  return err.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').trim();
}
