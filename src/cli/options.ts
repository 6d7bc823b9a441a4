/**
 * The bench command's flags. Everything is validated here, before anything is
 * loaded into the kernel: per-flag types and ranges in the parsers, then the
 * checks that involve several flags in toConfig().
 */
import * as os from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { DrainCommandConfig } from '../commands/drain.js';
import type { PipelineCommandConfig } from '../commands/pipeline.js';
import { histogramTargets } from '../commands/pipeline-report.js';
import { MIN_PACED_CHUNKS } from '../producer/pacing.js';
import type { PrefillCommandConfig } from '../commands/prefill.js';
import type { StressCommandConfig } from '../commands/stress.js';
import { MAX_RING_SIZE, recordSize, recordsThatFit } from '../lib/ring-layout.js';
import { onlineCpus, perfRecordSize, perfRecordsThatFit } from '../lib/perf-layout.js';
import { MAX_PERF_RING_SIZE, MIN_PERF_RING_SIZE, perfRingSizeFor, POLL_CHOICES, type PipelineConfig, type PollStrategy, type WakeupMode } from '../shared/config.js';
import { MAX_EVENT_SIZE, MAX_PRODUCERS, MIN_EVENT_SIZE } from '../shared/event.js';
import { bufferOf, readsBuffer, PERFBUF_MODES, RINGBUF_MODES, type ModeName } from '../shared/types.js';
import { PIPELINE_MODES } from '../consumer/consumer-task.js';
import { TOUCH_CHOICES, type Touch } from '../shared/event.js';
import { formatMs, human } from '../shared/units.js';
import { parseDrainArgs } from './drain-options.js';
import { allowedCpus, bytes, checkOutputFiles, choice, choiceList, count, cpuId, cpuList, duration, outputFile } from './arg-parsers.js';
import { parseCommand } from './parse.js';
import { checkReportInterval, checkSubmit, checkSubmitApplies, checkWakeup, reportIntervalOption, submitOption, triggerOption, wakeupOption, type SubmitMode, type Trigger } from './producer-options.js';

export const MODE_GROUP_NAMES = ['both', 'ringbuf', 'perfbuf', 'all'] as const;
export type ModeGroup = (typeof MODE_GROUP_NAMES)[number];
/** What --mode takes: modes and groups, or a comma-separated list of them ("view,perf-view"). */
export const MODE_CHOICES = [...RINGBUF_MODES, ...PERFBUF_MODES, ...MODE_GROUP_NAMES] as const;
export type ModeChoice = ModeName | ModeGroup;
/**
 * What the groups expand to in the prefill pattern: `both` the two
 * JavaScript readers; `ringbuf` every ring buffer mode (the JavaScript
 * readers, the native references in place and copying, the usual Node
 * binding); `perfbuf` every perf buffer mode; `all` both kinds, side by side.
 */
export const MODE_GROUPS: Record<ModeGroup, ModeName[]> = {
  both: ['copy', 'view'],
  ringbuf: [...RINGBUF_MODES],
  perfbuf: [...PERFBUF_MODES],
  all: [...RINGBUF_MODES, ...PERFBUF_MODES],
};
/** The modes the concurrent pipeline runs (src/consumer/consumer-task.ts). */
export const PIPELINE_MODE_CHOICES: readonly ModeName[] = PIPELINE_MODES;
/** What the groups mean in the pipeline: its modes of each buffer kind. */
export const PIPELINE_MODE_GROUPS: Record<ModeGroup, ModeName[]> = {
  both: ['copy', 'view'],
  ringbuf: PIPELINE_MODES.filter((m) => bufferOf(m) === 'ringbuf'),
  perfbuf: PIPELINE_MODES.filter((m) => bufferOf(m) === 'perfbuf'),
  all: [...PIPELINE_MODES],
};

/** --mode's items, groups expanded (`groups`: the pattern's meaning of them), each mode once, in the order given. */
export function expandModes(items: readonly ModeChoice[], groups: Record<ModeGroup, ModeName[]> = MODE_GROUPS): ModeName[] {
  const out: ModeName[] = [];
  for (const item of items) for (const mode of (MODE_GROUP_NAMES as readonly string[]).includes(item) ? groups[item as ModeGroup] : [item as ModeName]) if (!out.includes(mode)) out.push(mode);
  return out;
}
const PAGE_SIZE = 4096;
export const cpuCount = os.cpus().length;
/**
 * The pipeline's defaults when neither -n nor --duration is given: runs long
 * enough to measure (50,000 events at millions a second are over in tens of
 * ms, noise rather than a result), and fewer rounds than the prefill so the
 * headline `--mode both --producers 2` takes about 15 s.
 */
export const PIPELINE_DEFAULT_DURATION_MS = 1000;
export const PIPELINE_DEFAULT_RUNS = 3;
/** CPU ids --consumer-cpu / --producer-cpus may name: this process's affinity mask. */
const CPUS = allowedCpus();
const CPUS_TEXT = CPUS.length === CPUS[CPUS.length - 1] + 1 ? `0..${CPUS.length - 1}` : CPUS.join(',');

/** What the bench command was asked to run: one of its three patterns, with that pattern's command config. */
export type BenchInvocation =
  | { pattern: 'prefill'; config: PrefillCommandConfig }
  | { pattern: 'pipeline'; config: PipelineCommandConfig }
  | { pattern: 'stress'; config: StressCommandConfig }
  | { pattern: 'drain'; config: DrainCommandConfig };

interface RawOptions {
  events: number;
  mode: ModeChoice[];
  eventSize: number;
  ringSize: number;
  perfRingSize?: number;
  readTimeout: number;
  batch: number;
  touch: Touch;
  runs: number;
  warmup: number;
  json: boolean;
  producers?: number;
  chunk: number;
  duration?: number;
  rate?: number;
  poll: PollStrategy;
  wakeup: WakeupMode;
  histogram?: string;
  consumerCpu?: number;
  producerCpus?: number[];
  stress: boolean;
  trigger: Trigger;
  submit: SubmitMode;
  reportInterval?: number;
}

/** Flags --stress sets itself, step by step (src/runners/stress.ts): giving one would be silently ignored. */
const STRESS_CYCLES = ['events', 'mode', 'eventSize', 'ringSize', 'perfRingSize', 'batch', 'touch', 'runs', 'warmup', 'rate', 'poll', 'wakeup', 'histogram', 'trigger', 'submit'] as const;
/** Flags that only mean something in the concurrent pattern (with --producers); the prefill never waits, so --read-timeout is one. */
const PIPELINE_ONLY = ['chunk', 'duration', 'rate', 'poll', 'wakeup', 'histogram', 'consumerCpu', 'producerCpus', 'stress', 'readTimeout', 'reportInterval'] as const;


export function buildCommand(): Command {
  return new Command('bench')
    .description('Measure reading a BPF ring buffer from Node.js: copy vs zero-copy view.')
    .addHelpText('after', '\nOther command:\n  drain [options]  attach to a ring another program fills and report whether Node.js keeps up (bench drain --help)')
    .addOption(new Option('-n, --events <count>', `events per run (k/M suffixes allowed); with --producers and no -n, the pipeline runs for --duration (default ${PIPELINE_DEFAULT_DURATION_MS / 1000}s per run) instead`).argParser(count('-n/--events', 1, 1e12)).default(50_000))
    .addOption(
      new Option(
        '--mode <modes>',
        'consumer modes, comma-separated: copy, view, native, native-copy, callback (BPF ring buffer), perf-copy, perf-view, perf-native, perf-native-copy (perf buffer), ' +
          'or the groups both (copy, view), ringbuf, perfbuf (every mode of that buffer), all (both buffers); with --producers: copy, view, native and their perf- twins',
      )
        .argParser(choiceList('--mode', MODE_CHOICES))
        .default(['both'], 'both'),
    )
    .addOption(new Option('--event-size <bytes>', `whole sample size, header included (${MIN_EVENT_SIZE}..${MAX_EVENT_SIZE})`).argParser(bytes('--event-size', MIN_EVENT_SIZE, MAX_EVENT_SIZE)).default(128))
    .addOption(new Option('--ring-size <bytes>', `ring size, a power of two (${human(PAGE_SIZE)}..${human(MAX_RING_SIZE)}; K/M/G suffixes)`).argParser(bytes('--ring-size', PAGE_SIZE, MAX_RING_SIZE, true)).default(512 * 1024 ** 2, '512M'))
    .addOption(
      new Option('--perf-ring-size <bytes>', `perf buffer modes: each CPU's perf ring, a power of two (${human(MIN_PERF_RING_SIZE)}..${human(MAX_PERF_RING_SIZE)}; default --ring-size over the ${onlineCpus().length} online CPUs)`).argParser(
        bytes('--perf-ring-size', MIN_PERF_RING_SIZE, MAX_PERF_RING_SIZE, true),
      ),
    )
    .addOption(new Option('--read-timeout <time>', 'longest single wait for data: 100ms, 2s (a bare number is ms; 1ms..60s)').argParser(duration('--read-timeout', 1, 60_000, true)).default(100))
    .addOption(new Option('--batch <records>', 'publish the consumer position every K records (1 = every record, like libbpf); above 1 the JS modes read runs of up to K records (copy: one set() per run)').argParser(count('--batch', 1, 1_000_000)).default(1))
    .addOption(new Option('--touch <level>', 'per-event work of every mode: field (read the 8-byte producer/sequence field) or all (every word after the timestamp)').argParser(choice('--touch', TOUCH_CHOICES)).default('field'))
    .addOption(new Option('--runs <count>', `measured rounds; each round runs every mode once, interleaved (1..1000; default 5, ${PIPELINE_DEFAULT_RUNS} with --producers)`).argParser(count('--runs', 1, 1000)).default(5))
    .addOption(new Option('--warmup <count>', 'unmeasured rounds before the measured ones (0..100)').argParser(count('--warmup', 0, 100)).default(1))
    .addOption(new Option('--json', 'print one JSON object instead of text').default(false))
    .addOption(new Option('--producers <count>', `run the concurrent pipeline with N producer threads (1..${MAX_PRODUCERS}); without it, the prefill pattern runs`).argParser(count('--producers', 1, MAX_PRODUCERS)))
    .addOption(new Option('--chunk <events>', 'events per BPF_PROG_TEST_RUN in the pipeline (1..1,000,000)').argParser(count('--chunk', 1, 1_000_000)).default(1000))
    .addOption(new Option('--duration <time>', 'stop producing after this long: 500ms, 5s, 2m, 1h (1ms..24h)').argParser(duration('--duration', 1, 24 * 3600e3)))
    .addOption(new Option('--rate <events/s>', 'total events per second over all producers, paced open-loop (1..1,000,000,000; k/M suffixes)').argParser(count('--rate', 1, 1e9)))
    .addOption(new Option('--poll <strategy>', 'how the consumer waits for data').argParser(choice('--poll', POLL_CHOICES)).default('epoll'))
    .addOption(wakeupOption())
    .addOption(new Option('--histogram <file>', 'write the latency distribution in HdrHistogram text (.hgrm) format').argParser(outputFile('--histogram')))
    .addOption(new Option('--consumer-cpu <id>', `pin the consumer thread to this CPU (${CPUS_TEXT}; default: not pinned)`).argParser(cpuId('--consumer-cpu', CPUS)))
    .addOption(new Option('--producer-cpus <ids>', `pin producer i to the i-th CPU of this comma-separated list, cycling (${CPUS_TEXT}; default: not pinned)`).argParser(cpuList('--producer-cpus', CPUS)))
    .addOption(triggerOption())
    .addOption(submitOption())
    .addOption(reportIntervalOption())
    .addOption(new Option('--stress', 'stress mode: cycle event sizes and modes for --duration, verify everything, print status lines').default(false))
    .allowExcessArguments(false);
}

export function toInvocation(raw: RawOptions, explicit: (name: string) => boolean = () => true): BenchInvocation {
  if (raw.producers === undefined) {
    const stray = PIPELINE_ONLY.find((name) => explicit(name));
    if (stray) throw new InvalidArgumentError(`--${kebab(stray)} needs --producers N (it applies to the concurrent pipeline only)`);
  }
  const modes = expandModes(raw.mode, raw.producers === undefined ? MODE_GROUPS : PIPELINE_MODE_GROUPS);
  const perfRingSize = explicit('perfRingSize') ? raw.perfRingSize : undefined;
  if (perfRingSize !== undefined && !raw.stress && !readsBuffer(modes, 'perfbuf'))
    throw new InvalidArgumentError(`--perf-ring-size applies to the perf buffer modes (${PERFBUF_MODES.join(', ')}), and --mode ${raw.mode.join(',')} has none`);
  // With perf modes alone, --ring-size only sets the default --perf-ring-size: with both given it would do nothing.
  if (perfRingSize !== undefined && explicit('ringSize') && !raw.stress && !readsBuffer(modes, 'ringbuf'))
    throw new InvalidArgumentError(`--ring-size sizes the ring buffer, and --mode ${raw.mode.join(',')} has no ring buffer mode (--perf-ring-size sizes the perf rings): leave --ring-size out`);
  if (raw.producers === undefined) {
    const perfRing = checkPrefillFits(raw, modes, perfRingSize);
    checkSubmit(raw.submit, raw.eventSize);
    checkSubmitApplies(raw.submit, explicit('submit'), readsBuffer(modes, 'ringbuf'));
    const run = {
      events: raw.events,
      modes,
      eventSize: raw.eventSize,
      ringSize: raw.ringSize,
      perfRingSize: perfRing.size,
      ...(perfRing.raised ? { perfRingSizeRaised: true } : {}),
      batch: raw.batch,
      touch: raw.touch,
      runs: raw.runs,
      warmup: raw.warmup,
      trigger: raw.trigger,
      submit: raw.submit,
    };
    return { pattern: 'prefill', config: { run, json: raw.json } };
  }
  const run = { ...toPipelineConfig(raw, modes, explicit), perfRingSize };
  if (raw.stress) {
    const { producers, chunk, readTimeoutMs, consumerCpu, producerCpus } = run;
    // toPipelineConfig has checked --duration is there.
    return { pattern: 'stress', config: { run: { durationMs: run.durationMs!, producers, chunk, readTimeoutMs, consumerCpu, producerCpus }, json: raw.json } };
  }
  // Exactly the files the run will write, one per mode: checked now, not after the run.
  if (raw.histogram !== undefined) checkOutputFiles('--histogram', raw.histogram, histogramTargets(raw.histogram, run.modes));
  const chunkLoweredFrom = run.chunk < raw.chunk ? raw.chunk : undefined;
  return { pattern: 'pipeline', config: { run: { ...run, histogram: raw.histogram !== undefined }, json: raw.json, histogramFile: raw.histogram, chunkLoweredFrom } };
}

/** The most memory the default perf rings of a prefill may be raised to, over all CPUs, so that -n fits one of them. */
export const PERF_RING_RAISE_MAX_TOTAL = 4 * 1024 ** 3;

/**
 * The prefill fills before it drains: -n must fit the ring, and with perf
 * modes one CPU's perf ring (the filling thread may stay on one CPU the whole
 * time, so every event can land in one ring). Without --perf-ring-size, a
 * default perf ring too small for -n is raised to the smallest power of two
 * that holds it, as long as the rings of all CPUs stay within
 * PERF_RING_RAISE_MAX_TOTAL (2 × 512 MiB for `--mode all -n 2000000` here; a
 * many-CPU machine gets the error and chooses). Returns the perf ring size to
 * use (undefined: the default) and whether it was raised.
 */
function checkPrefillFits(raw: RawOptions, modes: readonly ModeName[], perfRingSize: number | undefined): { size: number | undefined; raised: boolean } {
  if (readsBuffer(modes, 'ringbuf')) {
    const fit = recordsThatFit(raw.ringSize, raw.eventSize);
    if (raw.events > fit)
      throw new InvalidArgumentError(
        `-n/--events: ${raw.events} events of ${raw.eventSize} B need ${human(raw.events * recordSize(raw.eventSize))} of ring, ` +
          `but --ring-size is ${human(raw.ringSize)} (at most ${fit} events fit, the kernel keeps the producer less than the ring size ahead; raise --ring-size up to ${human(MAX_RING_SIZE)})`,
      );
  }
  if (readsBuffer(modes, 'perfbuf')) {
    const perRing = perfRingSizeFor({ ringSize: raw.ringSize, perfRingSize });
    const fit = perfRecordsThatFit(perRing, raw.eventSize);
    if (raw.events > fit && perfRingSize === undefined) {
      let raised = perRing;
      while (raised < MAX_PERF_RING_SIZE && perfRecordsThatFit(raised, raw.eventSize) < raw.events) raised *= 2;
      if (perfRecordsThatFit(raised, raw.eventSize) >= raw.events && raised * onlineCpus().length <= PERF_RING_RAISE_MAX_TOTAL) return { size: raised, raised: true };
    }
    if (raw.events > fit)
      throw new InvalidArgumentError(
        `-n/--events: ${raw.events} events of ${raw.eventSize} B need ${human(raw.events * perfRecordSize(raw.eventSize))} in one CPU's perf ring (the fill may run on one CPU), ` +
          `but the perf rings are ${human(perRing)} per CPU (${perfRingSize === undefined ? `by default --ring-size ${human(raw.ringSize)} over ${onlineCpus().length} CPUs` : '--perf-ring-size'}; ` +
          `at most ${fit} events fit): give --perf-ring-size up to ${human(MAX_PERF_RING_SIZE)}, or lower -n`,
      );
  }
  return { size: perfRingSize, raised: false };
}

function toPipelineConfig(raw: RawOptions, modes: ModeName[], explicit: (name: string) => boolean): PipelineConfig {
  const producers = raw.producers ?? 1;
  // -n bounds the run when given; else --duration, by default PIPELINE_DEFAULT_DURATION_MS.
  const events = explicit('events') ? raw.events : undefined;
  const durationIsDefault = events === undefined && raw.duration === undefined;
  const durationMs = durationIsDefault ? PIPELINE_DEFAULT_DURATION_MS : raw.duration;
  if (events !== undefined && events < producers)
    throw new InvalidArgumentError(`-n/--events must be at least --producers (${producers}), got ${events}`);
  if (raw.stress && raw.duration === undefined)
    throw new InvalidArgumentError('--stress needs --duration (for example --duration 10m)');
  const cycled = raw.stress ? STRESS_CYCLES.find((name) => explicit(name)) : undefined;
  if (cycled)
    throw new InvalidArgumentError(`--${kebab(cycled)} does not apply to --stress, which cycles event sizes, modes, rings, batches, wake-ups, pacing, triggers and submit modes itself`);
  if (raw.stress && raw.reportInterval !== undefined)
    throw new InvalidArgumentError('--report-interval does not apply to --stress: its steps are short and each different (stress prints a status line every few seconds)');
  const prefillOnly = modes.find((m) => !PIPELINE_MODE_CHOICES.includes(m));
  if (!raw.stress && prefillOnly)
    throw new InvalidArgumentError(
      `--mode ${raw.mode.join(',')}: the concurrent pipeline (--producers) measures ${PIPELINE_MODE_CHOICES.join(', ')} or the groups both, ringbuf, perfbuf and all of them (${prefillOnly} is a prefill mode)`,
    );
  if (raw.rate !== undefined && raw.rate < producers)
    throw new InvalidArgumentError(`--rate must be at least one event per second per producer (${producers}), got ${raw.rate}`);
  // Shorter lists cycle; a longer one would have CPUs nobody is pinned to.
  if (raw.producerCpus && raw.producerCpus.length > producers)
    throw new InvalidArgumentError(`--producer-cpus lists ${raw.producerCpus.length} CPUs for ${producers} producer(s): the last ${raw.producerCpus.length - producers} would be ignored`);
  if (!raw.stress) {
    checkSubmit(raw.submit, raw.eventSize);
    checkSubmitApplies(raw.submit, explicit('submit'), readsBuffer(modes, 'ringbuf'));
    const perfRing = readsBuffer(modes, 'perfbuf') ? perfRingSizeFor({ ringSize: raw.ringSize, perfRingSize: explicit('perfRingSize') ? raw.perfRingSize : undefined }) : undefined;
    checkWakeup(raw.wakeup, raw.eventSize, readsBuffer(modes, 'ringbuf') ? raw.ringSize : undefined, perfRing);
    if (raw.reportInterval !== undefined) checkReportInterval(raw.reportInterval, durationMs, durationIsDefault);
  }
  return {
    modes,
    eventSize: raw.eventSize,
    ringSize: raw.ringSize,
    batch: raw.batch,
    touch: raw.touch,
    readTimeoutMs: raw.readTimeout,
    producers,
    chunk: pacedChunk(raw, producers, events, durationMs, durationIsDefault, explicit),
    runs: explicit('runs') ? raw.runs : PIPELINE_DEFAULT_RUNS,
    warmup: raw.warmup,
    events,
    durationMs,
    durationIsDefault,
    rate: raw.rate,
    poll: raw.poll,
    wakeup: raw.wakeup,
    consumerCpu: raw.consumerCpu,
    producerCpus: raw.producerCpus,
    trigger: raw.trigger,
    submit: raw.submit,
    reportIntervalMs: raw.reportInterval,
  };
}

/**
 * The chunk a paced run uses: --chunk, unless --rate needs smaller chunks to
 * be honoured (at least MIN_PACED_CHUNKS test runs over the run's events).
 * The default chunk is lowered (the report's header says so); an explicit
 * --chunk that cannot pace the rate is refused.
 */
function pacedChunk(
  raw: RawOptions,
  producers: number,
  events: number | undefined,
  durationMs: number | undefined,
  durationIsDefault: boolean,
  explicit: (name: string) => boolean,
): number {
  if (raw.rate === undefined || raw.stress) return raw.chunk;
  const offered = durationMs === undefined ? Infinity : (raw.rate * durationMs) / 1000;
  if (offered < producers)
    throw new InvalidArgumentError(
      `--rate ${raw.rate} for --duration ${formatMs(durationMs!)}${durationIsDefault ? ' (the default without -n)' : ''} offers ${Number(offered.toPrecision(3))} events, fewer than one per producer (${producers}): raise --rate or --duration`,
    );
  const expected = Math.min(events ?? Infinity, offered);
  const largest = Math.max(1, Math.floor(expected / MIN_PACED_CHUNKS));
  if (raw.chunk <= largest) return raw.chunk;
  const chunks = raw.trigger === 'syscall' ? 'syscall loop(s)' : 'test run(s)';
  if (explicit('chunk'))
    throw new InvalidArgumentError(
      `--chunk ${raw.chunk} is too coarse to pace --rate ${raw.rate}: this run's ${Math.round(expected)} events would come in ${Math.ceil(expected / raw.chunk)} ${chunks}; ` +
        `use --chunk ${largest} or less (at least ${MIN_PACED_CHUNKS} ${chunks}, so the rate holds within 1 %), or leave --chunk out`,
    );
  return largest;
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/** Parses argv (without node and script) into a validated invocation; throws CommanderError on bad input. */
export function parseArgs(argv: string[]): BenchInvocation {
  if (argv[0] === 'drain') return { pattern: 'drain', config: parseDrainArgs(argv.slice(1)) };
  const command = parseCommand(buildCommand(), argv);
  return toInvocation(command.opts<RawOptions>(), (name) => command.getOptionValueSource(name) === 'cli');
}
