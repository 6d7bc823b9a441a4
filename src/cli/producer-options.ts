/**
 * The producer side's flags, shared by bench and sweep: what runs the program
 * (--trigger), how an event enters the ring (--submit), when the consumer is
 * woken (--wakeup, including sampled wake-ups) and --report-interval. Their
 * parsers check each value alone; the checks here that involve other flags
 * (the event size, the ring, the duration) run in toConfig, all before
 * anything is loaded (exit 2, one line naming the flags).
 */
import { InvalidArgumentError, Option } from 'commander';
import type { SubmitMode, Trigger } from '../lib/addon.js';
import { recordSize, recordsThatFit } from '../lib/ring-layout.js';
import { SUBMIT_CHOICES, TRIGGER_CHOICES, WAKEUP_CHOICES, wakeupThreshold, type WakeupMode } from '../shared/config.js';
import { OUTPUT_MAX_EVENT_SIZE } from '../shared/event.js';
import { formatMs, human } from '../shared/units.js';
import { bytes, choice, duration } from './arg-parsers.js';

/** --report-interval's range: timers on a busy machine are a few ms late, and a run of more intervals than this prints a wall. */
export const MIN_REPORT_INTERVAL_MS = 10;
export const MAX_REPORT_INTERVAL_MS = 3600e3;
export const MAX_INTERVALS_PER_RUN = 100_000;

export function triggerOption(): Option {
  return new Option(
    '--trigger <trigger>',
    'what runs the BPF program: test-run (BPF_PROG_TEST_RUN of a tc program, --chunk events per run) or syscall ' +
      '(attached at the getpgid() syscall entry, fentry, else tp_btf, else raw_tp; each producer thread makes --chunk syscalls per native loop; needs CAP_PERFMON)',
  )
    .argParser(choice('--trigger', TRIGGER_CHOICES))
    .default('test-run');
}

export function submitOption(): Option {
  return new Option(
    '--submit <mode>',
    `how an event enters the ring buffer: reserve (bpf_ringbuf_reserve + submit, in place) or output (bpf_ringbuf_output from the program's stack; events up to ${OUTPUT_MAX_EVENT_SIZE} B)`,
  )
    .argParser(choice('--submit', SUBMIT_CHOICES))
    .default('reserve');
}

export function wakeupOption(): Option {
  return new Option(
    '--wakeup <mode>',
    "when the consumer is woken: adaptive (the program's submit flag 0), none (BPF_RB_NO_WAKEUP), force (BPF_RB_FORCE_WAKEUP), " +
      'or threshold:SIZE (sampled: force a wake-up once SIZE bytes wait, else none; K/M suffixes)',
  )
    .argParser(wakeupMode('--wakeup'))
    .default('adaptive');
}

export function reportIntervalOption(): Option {
  return new Option(
    '--report-interval <time>',
    `with --producers: a line per interval (1s, 500ms) of produced/s, consumed/s and drops/s, then mean ± stddev (${formatMs(MIN_REPORT_INTERVAL_MS)}..${formatMs(MAX_REPORT_INTERVAL_MS)})`,
  ).argParser(duration('--report-interval', MIN_REPORT_INTERVAL_MS, MAX_REPORT_INTERVAL_MS));
}

/** adaptive, none, force, or threshold:SIZE (a byte count with K/M/G suffixes) -> "threshold:<bytes>". */
export function wakeupMode(flag: string): (value: string) => WakeupMode {
  const size = bytes(flag, 1, 2 ** 40);
  return (value) => {
    if ((WAKEUP_CHOICES as readonly string[]).includes(value)) return value as WakeupMode;
    const m = /^threshold:(.*)$/.exec(value.trim());
    let threshold = NaN;
    try {
      if (m) threshold = size(m[1]);
    } catch {
      // reported below, with the whole syntax
    }
    if (!Number.isSafeInteger(threshold))
      throw new InvalidArgumentError(`${flag} must be one of ${WAKEUP_CHOICES.join(', ')} or threshold:SIZE (bytes, K/M/G suffixes, e.g. threshold:64K), got '${value}'`);
    return `threshold:${threshold}`;
  };
}

/**
 * A sampled wake-up's threshold must be reachable and mean something: at
 * least one record (below that every event forces a wake-up: --wakeup force),
 * and at most what the ring can hold waiting (the kernel keeps the producer
 * less than the ring size ahead; a threshold above that never wakes anyone).
 */
export function checkWakeup(wakeup: WakeupMode, eventSize: number, ringSize: number | undefined, perfRingSize?: number): void {
  const threshold = wakeupThreshold(wakeup);
  if (threshold === undefined) return;
  const least = recordSize(eventSize);
  if (threshold < least)
    throw new InvalidArgumentError(`--wakeup threshold:SIZE must be at least ${human(least)} (one record of --event-size ${eventSize}), got ${human(threshold)}`);
  // The ring buffer's bound, when a ring buffer mode runs.
  const most = ringSize === undefined ? Infinity : recordsThatFit(ringSize, eventSize) * least;
  if (ringSize !== undefined && threshold > most)
    throw new InvalidArgumentError(
      `--wakeup threshold:SIZE must be from ${human(least)} (one record of --event-size ${eventSize}) to ${human(most)} ` +
        `(the most data a --ring-size ${human(ringSize)} ring holds waiting), got ${human(threshold)}`,
    );
  // The perf buffer's watermark: the kernel clamps one above the ring's size to the size, a different wake-up from the one asked for.
  if (perfRingSize !== undefined && threshold > perfRingSize)
    throw new InvalidArgumentError(
      `--wakeup threshold:SIZE is the perf buffer's wake-up watermark too, at most one CPU's perf ring (${human(perfRingSize)}), got ${human(threshold)}: lower it or raise --perf-ring-size`,
    );
}

/** --submit output applies to the ring buffer's program; the perf buffer's always sends from the stack (bpf_perf_event_output). */
export function checkSubmitApplies(submit: SubmitMode, explicit: boolean, hasRingModes: boolean): void {
  if (explicit && submit === 'output' && !hasRingModes)
    throw new InvalidArgumentError('--submit chooses how events enter the ring buffer, and --mode has no ring buffer mode (the perf buffer always uses bpf_perf_event_output)');
}

/** bpf_ringbuf_output() sends the event from the program's 512-byte stack: OUTPUT_MAX_EVENT_SIZE at most (bpf/ringbuf_bench.h). */
export function checkSubmit(submit: SubmitMode, eventSize: number, flag = '--event-size'): void {
  if (submit === 'output' && eventSize > OUTPUT_MAX_EVENT_SIZE)
    throw new InvalidArgumentError(
      `--submit output sends each event from the BPF program's stack (bpf_ringbuf_output), at most ${OUTPUT_MAX_EVENT_SIZE} B: ` +
        `${flag} asks for ${eventSize} B (use --submit reserve, or ${flag} of at most ${OUTPUT_MAX_EVENT_SIZE})`,
    );
}

/** --report-interval needs whole intervals in a run: at most the run's duration, and not more than MAX_INTERVALS_PER_RUN of them. */
export function checkReportInterval(intervalMs: number, durationMs: number | undefined, durationIsDefault: boolean): void {
  if (durationMs === undefined) return;
  const which = durationIsDefault ? ` (the default without -n or --duration)` : '';
  if (intervalMs > durationMs)
    throw new InvalidArgumentError(
      `--report-interval ${formatMs(intervalMs)} is longer than --duration ${formatMs(durationMs)}${which}: not one whole interval would be reported`,
    );
  if (durationMs / intervalMs > MAX_INTERVALS_PER_RUN)
    throw new InvalidArgumentError(
      `--report-interval ${formatMs(intervalMs)} over --duration ${formatMs(durationMs)} is more than ${MAX_INTERVALS_PER_RUN.toLocaleString('en-US')} intervals per run: use a longer interval`,
    );
}

export type { SubmitMode, Trigger };
