/**
 * The bench command's rules for bad input, shared by sweep and plot: commander
 * errors become one line "<name>: <what is wrong>" on stderr and exit code 2
 * (help and version exit 0); anything else is rethrown.
 */
import { CommanderError } from 'commander';

export function parseOrExit<T>(name: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') process.exit(0);
      process.stderr.write(`${name}: ${err.message.replace(/^error: /, '')}\n`);
      process.exit(2);
    }
    throw err;
  }
}
