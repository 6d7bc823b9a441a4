/**
 * bench drain's flags: which ring (exactly one of --pinned / --map-id), how to
 * read it, for how long. Validated before the ring is opened.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { DrainCommandConfig } from '../commands/drain.js';
import { choice, count, duration } from './arg-parsers.js';
import { parseCommand } from './parse.js';

interface RawDrainOptions {
  pinned?: string;
  mapId?: number;
  mode: 'copy' | 'view';
  batch: number;
  duration?: number;
  readTimeout: number;
  json: boolean;
}

export function buildDrainCommand(): Command {
  return new Command('drain')
    .description('Attach to a BPF ring buffer another program fills and report whether a Node.js consumer keeps up: rates, sample sizes, working vs waiting, the ring\'s fill level.')
    .addOption(new Option('--pinned <path>', 'the ring map pinned on a bpffs (BPF_OBJ_GET), e.g. /sys/fs/bpf/events'))
    .addOption(new Option('--map-id <id>', 'the ring map by id (BPF_MAP_GET_FD_BY_ID; needs CAP_SYS_ADMIN): see bpftool map list').argParser(count('--map-id', 1, 0xffffffff)))
    .addOption(new Option('--mode <mode>', 'view: read each sample in place; copy: copy each into a reused buffer').argParser(choice('--mode', ['copy', 'view'] as const)).default('view'))
    .addOption(new Option('--batch <records>', 'publish the consumer position every K records (always before waiting; 1..1,000,000)').argParser(count('--batch', 1, 1_000_000)).default(1))
    .addOption(new Option('--duration <time>', 'stop after this long: 500ms, 5s, 2m (1ms..24h); default: until Ctrl-C').argParser(duration('--duration', 1, 24 * 3600e3)))
    .addOption(new Option('--read-timeout <time>', 'longest single wait for data (1ms..60s; a bare number is ms)').argParser(duration('--read-timeout', 1, 60_000, true)).default(100))
    .addOption(new Option('--json', 'print one JSON object instead of text').default(false))
    .allowExcessArguments(false);
}

export function toDrainConfig(raw: RawDrainOptions): DrainCommandConfig {
  if ((raw.pinned === undefined) === (raw.mapId === undefined))
    throw new InvalidArgumentError('drain needs exactly one of --pinned PATH or --map-id N: the ring to read');
  if (raw.pinned !== undefined && raw.pinned.trim() === '') throw new InvalidArgumentError('--pinned must be a path on a bpffs, got an empty string');
  const source = raw.pinned !== undefined ? { pinned: raw.pinned } : { mapId: raw.mapId! };
  return { run: { source, mode: raw.mode, batch: raw.batch, durationMs: raw.duration, readTimeoutMs: raw.readTimeout }, json: raw.json };
}

/** Parses `drain`'s arguments (after the word drain); throws CommanderError on bad input. */
export function parseDrainArgs(argv: string[]): DrainCommandConfig {
  const command = parseCommand(buildDrainCommand(), argv);
  return toDrainConfig(command.opts<RawDrainOptions>());
}
