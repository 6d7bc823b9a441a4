/** What a sweep measures: event sizes × touch levels × producer counts, each point a full interleaved run of the modes. */
import { recordSize } from '../../lib/ring-layout.js';
import type { SubmitMode, Trigger } from '../../lib/addon.js';
import type { WakeupMode } from '../../shared/config.js';
import type { Touch } from '../../shared/event.js';
import type { ModeName } from '../../shared/types.js';

export interface SweepConfig {
  sizes: number[];
  modes: ModeName[];
  /** Producer counts; [1] alone runs the prefill pattern in process. */
  producers: number[];
  /** Events per run; undefined: derived from bytesPerRun for each size. */
  events: number | undefined;
  bytesPerRun: number;
  ringSize: number;
  /** Each CPU's perf ring for the perf buffer modes; undefined: the default (perfRingSizeFor). */
  perfRingSize?: number;
  batch: number;
  /** Touch levels (per-event work); each is a point of its own at every size. */
  touches: Touch[];
  runs: number;
  warmup: number;
  outDir: string;
  /** What runs the program at every point (prefill fills and pipeline producers); default test-run. */
  trigger?: Trigger;
  /** Ring buffer submit mode at every point; default reserve. */
  submit?: SubmitMode;
  /** Pipeline points' wake-ups (bench --wakeup); default adaptive. */
  wakeup?: WakeupMode;
}

/** Events per run at one size: -n if given, else what bytesPerRun of ring traffic holds. */
export function eventsFor(config: Pick<SweepConfig, 'events' | 'bytesPerRun'>, eventSize: number): number {
  return config.events ?? Math.max(1, Math.floor(config.bytesPerRun / recordSize(eventSize)));
}
