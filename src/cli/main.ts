/**
 * What every entry point (bench, sweep, plot) does around its command:
 *  - parse the arguments; bad input is one line on stderr naming the flag and
 *    what it allows, and exit code 2, before anything touches the kernel;
 *  - for commands that load BPF, check privileges and the kernel first;
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
  /** Whether this invocation loads BPF (privileges are checked first); default: yes. */
  needsKernel?(config: C): boolean;
  run(config: C, ctx: CommandContext): number | Promise<number>;
}

export function main<C>(entry: Entry<C>, argv = process.argv.slice(2)): void {
  const config = parseOrExit(entry, argv);
  const needsKernel = entry.needsKernel?.(config) ?? true;
  if (needsKernel) {
    const denied = missingPrivileges() ?? kernelTooOld();
    if (denied) {
      process.stderr.write(`${entry.name}: ${denied}\n`);
      process.exit(1);
    }
    // From here on a Ctrl-C / SIGTERM winds the run down instead of killing it.
    interruption.install();
  }
  const ctx = processContext(entry.name, needsKernel ? interruption : NEVER_STOP);
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
