/**
 * The bench command's flags. Everything is validated here, before anything is
 * loaded into the kernel: per-flag types and ranges in the parsers, then the
 * checks that involve several flags in toConfig().
 */
import * as os from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { MAX_EVENT_SIZE, MIN_EVENT_SIZE } from '../shared/event.js';
import { MAX_RING_SIZE, recordSize } from '../shared/ring-layout.js';
import type { ModeName } from '../shared/types.js';
import { bytes, choice, count, human } from './arg-parsers.js';

export const MODE_CHOICES = ['copy', 'view', 'both'] as const;
const PAGE_SIZE = 4096;

export interface BenchConfig {
  events: number;
  modes: ModeName[];
  eventSize: number;
  ringSize: number;
  readTimeoutMs: number;
  batch: number;
  runs: number;
  warmup: number;
  json: boolean;
}

interface RawOptions {
  events: number;
  mode: (typeof MODE_CHOICES)[number];
  eventSize: number;
  ringSize: number;
  readTimeout: number;
  batch: number;
  runs: number;
  warmup: number;
  json: boolean;
}

export function buildCommand(): Command {
  return new Command('bench')
    .description('Measure reading a BPF ring buffer from Node.js: copy vs zero-copy view.')
    .addOption(new Option('-n, --events <count>', 'events per run (k/M suffixes allowed)').argParser(count('-n/--events', 1, 1e12)).default(50_000))
    .addOption(new Option('--mode <mode>', 'consumer modes to measure').argParser(choice('--mode', MODE_CHOICES)).default('both'))
    .addOption(new Option('--event-size <bytes>', `whole sample size, header included (${MIN_EVENT_SIZE}..${MAX_EVENT_SIZE})`).argParser(bytes('--event-size', MIN_EVENT_SIZE, MAX_EVENT_SIZE)).default(128))
    .addOption(new Option('--ring-size <bytes>', `ring size, a power of two (${human(PAGE_SIZE)}..${human(MAX_RING_SIZE)}; K/M/G suffixes)`).argParser(bytes('--ring-size', PAGE_SIZE, MAX_RING_SIZE, true)).default(512 * 1024 ** 2, '512M'))
    .addOption(new Option('--read-timeout <ms>', 'longest single wait for data, in milliseconds (1..60000)').argParser(count('--read-timeout', 1, 60_000)).default(100))
    .addOption(new Option('--batch <records>', 'publish the consumer position every K records (1 = every record, like libbpf)').argParser(count('--batch', 1, 1_000_000)).default(1))
    .addOption(new Option('--runs <count>', 'measured rounds; each round runs every mode once, interleaved (1..1000)').argParser(count('--runs', 1, 1000)).default(5))
    .addOption(new Option('--warmup <count>', 'unmeasured rounds before the measured ones (0..100)').argParser(count('--warmup', 0, 100)).default(1))
    .addOption(new Option('--json', 'print one JSON object instead of text').default(false))
    .allowExcessArguments(false);
}

export function toConfig(raw: RawOptions): BenchConfig {
  const modes: ModeName[] = raw.mode === 'both' ? ['copy', 'view'] : [raw.mode];
  const perEvent = recordSize(raw.eventSize);
  const fit = Math.floor(raw.ringSize / perEvent);
  if (raw.events > fit)
    throw new InvalidArgumentError(
      `-n/--events: ${raw.events} events of ${raw.eventSize} B need ${human(raw.events * perEvent)} of ring, ` +
        `but --ring-size is ${human(raw.ringSize)} (at most ${fit} events fit; raise --ring-size up to ${human(MAX_RING_SIZE)})`,
    );
  return {
    events: raw.events,
    modes,
    eventSize: raw.eventSize,
    ringSize: raw.ringSize,
    readTimeoutMs: raw.readTimeout,
    batch: raw.batch,
    runs: raw.runs,
    warmup: raw.warmup,
    json: raw.json,
  };
}

/** Parses argv (without node and script) into a validated config; throws CommanderError on bad input. */
export function parseArgs(argv: string[]): BenchConfig {
  const command = buildCommand()
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: (s) => process.stdout.write(s) });
  command.parse(argv, { from: 'user' });
  return toConfig(command.opts<RawOptions>());
}

export const cpuCount = os.cpus().length;
