/**
 * --report-interval, the way the kernel's ring buffer bench reports
 * (tools/testing/selftests/bpf/benchs: a line per interval, then mean ±
 * stddev): while a pipeline run goes, the main thread samples, every interval
 * from the release,
 *   produced  the program's per-producer sequence counters (events asked of
 *             the program, dropped ones included), read from the state map;
 *   drops     the program's drop counters (no room in the buffer);
 *   consumed  the count the consumer publishes at each latency batch in the
 *             control block (LatencySink.progress; the native consumer's C++
 *             twin publishes it too);
 * and once more when the run has ended, so the intervals add up to the run's
 * totals exactly: Σ produced = produced, Σ drops = drops, Σ consumed = the
 * events the consumer reported (test/report-interval.test.ts checks it).
 *
 * Timers fire late on a busy machine, so every interval carries its measured
 * length and rates are per that length. The samples are scheduled on the
 * release time (k × interval), not one after the other, so lateness does not
 * accumulate.
 */
import type { ProducerState } from '../lib/addon.js';
import { sum } from './verify.js';

/** One interval of a run, as --json records it. Counts are events in the interval. */
export interface IntervalSample {
  /** When the interval ended, seconds after the release. */
  t_s: number;
  /** Its measured length, seconds. */
  seconds: number;
  /**
   * Whether it counts in the mean ± stddev: every interval that ended at its
   * tick, and the last one (ending with the run) if it lasted at least half an
   * interval; a shorter last one is the drain after the producers stopped.
   */
  full: boolean;
  produced: number;
  consumed: number;
  drops: number;
}

/** What the sampler reads: the program's counters and the consumer's published count (mod 2^32). */
export interface IntervalSources {
  state(): ProducerState;
  consumed(): number;
}

export class IntervalSampler {
  private readonly samples: IntervalSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private ticks = 0;
  private lastNs: number;
  private lastProduced = 0;
  private lastDrops = 0;
  private lastConsumedRaw: number;
  private finished = false;

  /**
   * `start`: the program's counters when the run began; `startNs`: the release
   * (process.hrtime ns). `onSample` is called with each interval as it ends.
   */
  constructor(
    private readonly sources: IntervalSources,
    readonly intervalMs: number,
    private readonly start: ProducerState,
    private readonly startNs: number,
    private readonly onSample: (sample: IntervalSample) => void = () => {},
  ) {
    this.lastNs = startNs;
    this.lastConsumedRaw = sources.consumed();
  }

  /** Schedules the samples; call right after the release. */
  begin(): void {
    this.schedule();
  }

  /** Takes the last sample (the run has ended: every producer and the consumer are done) and returns the series. */
  finish(): IntervalSample[] {
    if (!this.finished) {
      this.finished = true;
      clearTimeout(this.timer);
      const now = Number(process.hrtime.bigint());
      // Nothing left to sample only if the run ended exactly on a tick and nothing moved since.
      this.take(now, (now - this.lastNs) / 1e6 >= this.intervalMs / 2, true);
    }
    return this.samples;
  }

  private schedule(): void {
    const dueNs = this.startNs + (this.ticks + 1) * this.intervalMs * 1e6;
    const waitMs = Math.max(0, (dueNs - Number(process.hrtime.bigint())) / 1e6);
    this.timer = setTimeout(() => {
      if (this.finished) return;
      // libuv's timers run on the loop's cached millisecond clock and can fire up to a millisecond
      // before the high-resolution deadline: then wait out the rest, so a tick never ends an interval early.
      if (Number(process.hrtime.bigint()) < dueNs) return this.schedule();
      this.ticks++;
      this.take(Number(process.hrtime.bigint()), true, false);
      this.schedule();
    }, Math.ceil(waitMs));
  }

  private take(now: number, full: boolean, last: boolean): void {
    const state = this.sources.state();
    const produced = sum(state.nextSeq) - sum(this.start.nextSeq);
    const drops = sum(state.drops) - sum(this.start.drops);
    const raw = this.sources.consumed();
    const sample: IntervalSample = {
      t_s: (now - this.startNs) / 1e9,
      seconds: (now - this.lastNs) / 1e9,
      full,
      produced: produced - this.lastProduced,
      // The word wraps at 2^32; fewer events than that pass in one interval.
      consumed: (raw - this.lastConsumedRaw) >>> 0,
      drops: drops - this.lastDrops,
    };
    this.lastNs = now;
    this.lastProduced = produced;
    this.lastDrops = drops;
    this.lastConsumedRaw = raw;
    // A last sample with nothing in it and no time (the run ended on a tick) adds nothing.
    if (last && sample.seconds === 0 && sample.produced === 0 && sample.consumed === 0 && sample.drops === 0) return;
    this.samples.push(sample);
    this.onSample(sample);
  }
}

/** mean ± sample standard deviation (n - 1, as the kernel bench's summary; 0 for a single value). */
export interface MeanStddev {
  mean: number;
  stddev: number;
}

export function meanStddev(values: readonly number[]): MeanStddev {
  if (values.length === 0) return { mean: NaN, stddev: NaN };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (values.length === 1) return { mean, stddev: 0 };
  const squares = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { mean, stddev: Math.sqrt(squares / (values.length - 1)) };
}

/** Mean ± stddev of the per-second rates over the full intervals of some runs (--json interval_summary). */
export interface IntervalSummary {
  interval_ms: number;
  /** Full intervals summarized (a short last interval of each run is left out). */
  intervals: number;
  produced_per_s: MeanStddev;
  consumed_per_s: MeanStddev;
  drops_per_s: MeanStddev;
}

export function summarizeIntervals(intervalMs: number, series: readonly (readonly IntervalSample[])[]): IntervalSummary {
  const full = series.flat().filter((s) => s.full && s.seconds > 0);
  const rate = (key: 'produced' | 'consumed' | 'drops') => meanStddev(full.map((s) => s[key] / s.seconds));
  return { interval_ms: intervalMs, intervals: full.length, produced_per_s: rate('produced'), consumed_per_s: rate('consumed'), drops_per_s: rate('drops') };
}
