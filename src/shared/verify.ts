/**
 * End-of-run integrity: every sequence number a producer handed out was either
 * consumed or counted by the program as dropped or discarded, exactly once, in
 * order. Returns human-readable failures; an empty list means verified.
 */
import { MAX_PRODUCERS } from './event.js';
import type { ProducerState } from '../lib/addon.js';
import type { DrainOutcome } from './types.js';

export interface CounterDelta {
  produced: number[];
  drops: number[];
  discards: number[];
}

/** Program counters after minus before: what this run produced, dropped and discarded. */
export function counterDelta(before: ProducerState, after: ProducerState): CounterDelta {
  const diff = (a: number[], b: number[]) => a.map((v, i) => v - b[i]);
  return {
    produced: diff(after.nextSeq, before.nextSeq),
    drops: diff(after.drops, before.drops),
    discards: diff(after.discards, before.discards),
  };
}

export function sum(values: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i];
  return total;
}

/**
 * `unread`: records a stop's cut left in the ring (counted from the ring
 * positions). The ring does not say whose they are, so then each producer may
 * fall short of its expected count, and the total must come out exact instead:
 * consumed + unread + dropped + discarded == produced. Discarded records take
 * ring space too, so with discards (only tests make them) the unread ones may
 * include some: then consumed + unread + dropped may exceed produced - discarded
 * by at most the discards.
 */
export function verifyDrain(outcome: DrainOutcome, delta: CounterDelta, after: ProducerState, unread = 0): string[] {
  const failures: string[] = [];
  if (outcome.anomalies > 0)
    failures.push(`${outcome.anomalies} events out of order or repeated; first: ${outcome.firstAnomaly}`);
  if (unread !== 0) {
    const expected = sum(delta.produced) - sum(delta.drops) - sum(delta.discards);
    const seen = outcome.events + unread;
    if (seen < expected || seen > expected + sum(delta.discards))
      failures.push(
        `consumed ${outcome.events} events and left ${unread} unread at the cut, but the producers made ${sum(delta.produced)} ` +
          `with ${sum(delta.drops)} dropped and ${sum(delta.discards)} discarded (expected ${expected} in all)`,
      );
  }
  for (let p = 0; p < MAX_PRODUCERS; p++) {
    const expected = delta.produced[p] - delta.drops[p] - delta.discards[p];
    if (unread !== 0 ? outcome.perProducer[p] > expected : outcome.perProducer[p] !== expected)
      failures.push(
        `producer ${p}: consumed ${outcome.perProducer[p]} events, but it produced ${delta.produced[p]} ` +
          `with ${delta.drops[p]} dropped and ${delta.discards[p]} discarded (expected ${expected})`,
      );
    else if (delta.produced[p] > 0 && outcome.expectedSeq[p] > after.nextSeq[p])
      failures.push(`producer ${p}: consumed sequence ${outcome.expectedSeq[p] - 1} that the program never issued`);
  }
  return failures;
}

/**
 * Perf buffer: the kernel's PERF_RECORD_LOST counts against the program's
 * drops. Every sample the kernel could not write is a failed
 * bpf_perf_event_output() the program counted as a drop, but the kernel
 * writes the lost record only with the next sample that fits in that CPU's
 * ring (kernel/events/ring_buffer.c, __perf_output_begin()), which may come in
 * a later run of the same session, or never. So, per session, the lost counts
 * read never pass the drops: lost <= drops + pending, where `pending` is the
 * drops of earlier runs not yet reported; what is left is pending for the
 * next run. Equality holds once the kernel has written every lost record.
 */
export function verifyLost(lost: number, drops: number, pending = 0): { failures: string[]; pending: number } {
  if (lost <= drops + pending) return { failures: [], pending: drops + pending - lost };
  return {
    failures: [
      `the kernel reported ${lost} lost samples (PERF_RECORD_LOST), but the program counted ${drops} drops in this run` +
        (pending ? ` and ${pending} earlier ones not yet reported` : '') +
        ': samples were lost that the program did not count',
    ],
    pending: 0,
  };
}
