/**
 * The sweep command's flags, validated before anything is loaded (the bench
 * command's rules: one line naming the flag and what it allows, exit 2).
 */
import * as path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { eventsFor, type SweepConfig } from '../commands/sweep/config.js';
import { SWEEP_CSV, SWEEP_JSON } from '../commands/sweep/output.js';
import { PIPELINE_MODES } from '../consumer/consumer-task.js';
import { makeDirectory, outputProblem } from '../shared/output-file.js';
import { MAX_RING_SIZE, recordsThatFit } from '../lib/ring-layout.js';
import { perfRecordsThatFit } from '../lib/perf-layout.js';
import { MAX_PERF_RING_SIZE, MIN_PERF_RING_SIZE, perfRingSizeFor, perfRingsInUse } from '../shared/config.js';
import { MAX_EVENT_SIZE, MAX_PRODUCERS, MIN_EVENT_SIZE, TOUCH_CHOICES, type Touch } from '../shared/event.js';
import { readsBuffer, PERFBUF_MODES, type ModeName } from '../shared/types.js';
import { human } from '../shared/units.js';
import { bytes, choiceList, count } from './arg-parsers.js';
import { expandModes, MODE_CHOICES, type ModeChoice } from './options.js';
import { parseCommand } from './parse.js';
import { checkSubmit, checkSubmitApplies, checkWakeup, submitOption, triggerOption, wakeupOption, type SubmitMode, type Trigger } from './producer-options.js';
import type { WakeupMode } from '../shared/config.js';

/**
 * "16..2048:16" (start..end:step), "64,128,1000", or both mixed:
 * "16..256:16,512,1024". Sizes come out sorted, without repeats.
 */
export function parseSizes(value: string): number[] {
  const flag = '--sizes';
  const bad = (why: string) =>
    new InvalidArgumentError(`${flag} must be sizes or ranges start..end:step from ${MIN_EVENT_SIZE} to ${MAX_EVENT_SIZE} B, comma-separated (${why}), got '${value}'`);
  const out = new Set<number>();
  for (const item of value.split(',')) {
    const m = /^\s*(\d+)(?:\s*\.\.\s*(\d+)(?::(\d+))?)?\s*$/.exec(item);
    if (!m) throw bad(`'${item}' is neither`);
    const start = Number(m[1]);
    const end = m[2] === undefined ? start : Number(m[2]);
    const step = m[3] === undefined ? 1 : Number(m[3]);
    if (start < MIN_EVENT_SIZE || end > MAX_EVENT_SIZE || start > end) throw bad(`'${item}' is out of range`);
    if (step < 1) throw bad('a step is at least 1');
    if ((end - start) / step >= 10_000) throw bad('at most 10000 sizes');
    for (let s = start; s <= end; s += step) out.add(s);
  }
  return [...out].sort((a, b) => a - b);
}

/** "1,2" or "1..4": producer counts. */
export function parseProducers(value: string): number[] {
  const flag = '--producers';
  const out = new Set<number>();
  for (const item of value.split(',')) {
    const m = /^\s*(\d+)(?:\s*\.\.\s*(\d+))?\s*$/.exec(item);
    const start = m ? Number(m[1]) : NaN;
    const end = m?.[2] === undefined ? start : Number(m[2]);
    if (!(start >= 1 && end <= MAX_PRODUCERS && start <= end))
      throw new InvalidArgumentError(`${flag} must be counts or ranges a..b from 1 to ${MAX_PRODUCERS}, comma-separated, got '${value}'`);
    for (let p = start; p <= end; p++) out.add(p);
  }
  return [...out].sort((a, b) => a - b);
}

/** "field,all": touch levels, each a point of its own. */
export function parseTouches(value: string): Touch[] {
  const out = new Set<Touch>();
  for (const item of value.split(',')) {
    const t = item.trim();
    if (!(TOUCH_CHOICES as readonly string[]).includes(t))
      throw new InvalidArgumentError(`--touch must be ${TOUCH_CHOICES.join(', ')} or a comma-separated list of them, got '${value}'`);
    out.add(t as Touch);
  }
  return TOUCH_CHOICES.filter((t) => out.has(t));
}

interface RawSweepOptions {
  sizes: number[];
  modes: ModeChoice[];
  producers: number[];
  events?: number;
  bytesPerRun: number;
  ringSize: number;
  perfRingSize?: number;
  batch: number;
  touch: Touch[];
  runs: number;
  warmup: number;
  out: string;
  trigger: Trigger;
  submit: SubmitMode;
  wakeup: WakeupMode;
}

export function buildSweepCommand(): Command {
  return new Command('sweep')
    .description('Measure the consumer modes over a range of event sizes (and producer counts); write JSON and CSV.')
    .addOption(new Option('--sizes <list>', `event sizes: start..end:step and/or comma-separated sizes (${MIN_EVENT_SIZE}..${MAX_EVENT_SIZE})`).argParser(parseSizes).default(parseSizes('16..2048:16'), '16..2048:16'))
    .addOption(new Option('--modes <modes>', 'consumer modes, as bench --mode (comma-separated modes and groups; all: both buffers)').argParser(choiceList('--modes', MODE_CHOICES)).default(['all'], 'all'))
    .addOption(new Option('--producers <list>', `producer counts, e.g. 1,2 (1..${MAX_PRODUCERS}); above 1 runs the concurrent pipeline (bench --producers)`).argParser(parseProducers).default([1], '1'))
    .addOption(new Option('-n, --events <count>', 'events per run at every size (default: --bytes-per-run worth)').argParser(count('-n/--events', 1, 1e12)))
    .addOption(new Option('--bytes-per-run <bytes>', 'ring traffic per run when -n is not given (K/M/G)').argParser(bytes('--bytes-per-run', 4096, MAX_RING_SIZE)).default(64 * 1024 ** 2, '64M'))
    .addOption(new Option('--ring-size <bytes>', `ring size, a power of two (4K..${human(MAX_RING_SIZE)})`).argParser(bytes('--ring-size', 4096, MAX_RING_SIZE, true)).default(256 * 1024 ** 2, '256M'))
    .addOption(
      new Option('--perf-ring-size <bytes>', `perf buffer modes: each CPU's perf ring, a power of two (4K..${human(MAX_PERF_RING_SIZE)}; default --ring-size over the online CPUs)`).argParser(
        bytes('--perf-ring-size', MIN_PERF_RING_SIZE, MAX_PERF_RING_SIZE, true),
      ),
    )
    .addOption(new Option('--batch <records>', 'publish the consumer position every K records (1..1,000,000)').argParser(count('--batch', 1, 1_000_000)).default(1))
    .addOption(new Option('--touch <levels>', `per-event work, comma-separated: ${TOUCH_CHOICES.join(', ')}; a point per level (as bench --touch)`).argParser(parseTouches).default(['field'], 'field'))
    .addOption(new Option('--runs <count>', 'measured rounds per size (1..1000)').argParser(count('--runs', 1, 1000)).default(3))
    .addOption(new Option('--warmup <count>', 'unmeasured rounds per size (0..100)').argParser(count('--warmup', 0, 100)).default(1))
    .addOption(new Option('--out <dir>', 'directory for sweep.json and sweep.csv').default('results'))
    .addOption(triggerOption())
    .addOption(submitOption())
    .addOption(wakeupOption())
    .allowExcessArguments(false);
}

/** `explicit(name)`: whether the flag was given on the command line (not its default). */
export function toSweepConfig(raw: RawSweepOptions, explicit: (name: string) => boolean = () => false): SweepConfig {
  const modes: ModeName[] = expandModes(raw.modes);
  const perfRingSize = explicit('perfRingSize') ? raw.perfRingSize : undefined;
  if (perfRingSize !== undefined && !readsBuffer(modes, 'perfbuf'))
    throw new InvalidArgumentError(`--perf-ring-size applies to the perf buffer modes (${PERFBUF_MODES.join(', ')}), and --modes ${raw.modes.join(',')} has none`);
  if (raw.events !== undefined && explicit('bytesPerRun'))
    throw new InvalidArgumentError('-n/--events and --bytes-per-run both set the events per run: give one of them');
  // Points with more producers run the pipeline, which runs only some modes: refuse a sweep whose points could only fail.
  const pipelined = raw.producers.filter((p) => p > 1);
  if (pipelined.length && !modes.some((m) => (PIPELINE_MODES as readonly ModeName[]).includes(m)))
    throw new InvalidArgumentError(
      `--modes ${raw.modes.join(',')} with --producers ${pipelined.join(',')}: points with more than one producer run the concurrent pipeline, which runs ${PIPELINE_MODES.join(', ')} only`,
    );
  // The producer side applies to every point, checked at every size; wake-ups only matter to pipeline points (prefill never waits).
  for (const size of raw.sizes) checkSubmit(raw.submit, size, '--sizes');
  checkSubmitApplies(raw.submit, explicit('submit'), readsBuffer(modes, 'ringbuf'));
  if (explicit('wakeup') && !pipelined.length)
    throw new InvalidArgumentError('--wakeup needs --producers above 1: single-producer points run the prefill pattern, whose consumer never waits');
  const perfRingOfPoints = readsBuffer(modes, 'perfbuf') ? perfRingSizeFor({ ringSize: raw.ringSize, perfRingSize }) : undefined;
  for (const size of pipelined.length ? raw.sizes : []) checkWakeup(raw.wakeup, size, readsBuffer(modes, 'ringbuf') ? raw.ringSize : undefined, perfRingOfPoints);
  const config: SweepConfig = {
    sizes: raw.sizes,
    modes,
    producers: raw.producers,
    events: raw.events,
    bytesPerRun: raw.bytesPerRun,
    ringSize: raw.ringSize,
    perfRingSize,
    batch: raw.batch,
    touches: raw.touch,
    runs: raw.runs,
    warmup: raw.warmup,
    outDir: raw.out,
    trigger: raw.trigger,
    submit: raw.submit,
    wakeup: raw.wakeup,
  };
  if (raw.producers.includes(1)) {
    // Prefill runs must fit the ring at every size (the kernel keeps the producer
    // less than the ring size ahead, so a ring holds recordsThatFit(), not size / record).
    const ring = readsBuffer(modes, 'ringbuf');
    const perfRing = perfRingsInUse(config);
    const flag = raw.events === undefined ? '--bytes-per-run' : '-n/--events';
    for (const size of raw.sizes) {
      const fit = recordsThatFit(raw.ringSize, size);
      const need = eventsFor(config, size);
      if (ring && need > fit)
        throw new InvalidArgumentError(`${flag}: ${need} events of ${size} B do not fit --ring-size ${human(raw.ringSize)} (at most ${fit}; raise --ring-size)`);
      // The fill may run on one CPU: -n must fit one CPU's perf ring.
      if (perfRing !== undefined && need > perfRecordsThatFit(perfRing, size))
        throw new InvalidArgumentError(
          `${flag}: ${need} events of ${size} B do not fit one CPU's perf ring of ${human(perfRing)} (at most ${perfRecordsThatFit(perfRing, size)}; give --perf-ring-size)`,
        );
    }
  }
  // Last, once everything else is valid: the folder is made now, and both files must be writable into it.
  const problem = makeDirectory(raw.out) ?? [SWEEP_JSON, SWEEP_CSV].map((f) => outputProblem(path.join(raw.out, f))).find(Boolean);
  if (problem) throw new InvalidArgumentError(`--out must be a folder sweep.json and sweep.csv can be written to: '${raw.out}': ${problem}`);
  return config;
}

export function parseSweepArgs(argv: string[]): SweepConfig {
  const command = parseCommand(buildSweepCommand(), argv);
  return toSweepConfig(command.opts<RawSweepOptions>(), (name) => command.getOptionValueSource(name) === 'cli');
}
