/**
 * How every command (bench, sweep, plot) parses its argv with commander, so
 * the rules hold for every flag, including flags added later:
 *  - --version (-V) prints the package and version;
 *  - a flag given twice is refused (commander would silently keep the last:
 *    `--mode copy --mode view` measured only view);
 *  - commander prints nothing itself: its errors become one stderr line in
 *    src/cli/main.ts (exit 2), --help and --version go to stdout (exit 0).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { repoRoot } from '../lib/addon.js';

/** "bpf-ringbuf-bench 0.1.0", from the package.json the code runs from. */
export function versionText(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { name?: string; version?: string };
    return `${pkg.name ?? 'bpf-ringbuf-bench'} ${pkg.version ?? 'unknown'}`;
  } catch {
    return 'bpf-ringbuf-bench (version unknown)';
  }
}

/** Refuses a second occurrence of any of the command's options (-n 5 --events 6 counts as twice). */
function refuseRepeats(command: Command): void {
  for (const option of command.options) {
    if (option.long === '--version') continue;
    let seen = 0;
    command.on(`option:${option.name()}`, () => {
      if (++seen === 2) {
        const names = [option.short, option.long].filter(Boolean).join('/');
        throw new InvalidArgumentError(`${names} is given more than once: give each flag once`);
      }
    });
  }
}

/** Parses argv (without node and the script) with the command's own options; throws CommanderError on bad input. */
export function parseCommand(command: Command, argv: string[]): Command {
  command
    .version(versionText(), '-V, --version', 'print the version and exit')
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: (s) => process.stdout.write(s) });
  refuseRepeats(command);
  command.parse(argv, { from: 'user' });
  return command;
}
