/**
 * Open-loop pacing for --rate: every chunk has an intended start time fixed in
 * advance from the common start, not from when the previous chunk finished.
 * A producer that falls behind runs its late chunks at once (it does not skip
 * them and does not shift the schedule), so a slow moment shows up as extra
 * latency instead of being hidden by a lower offered rate (coordinated omission).
 *
 * Producers interleave: with N producers, global chunk slot k*N + id belongs to
 * producer `id`, and slots are `chunk / rate` seconds apart, so the total
 * offered rate is `rate` and the chunks of different producers are spread
 * evenly rather than bunched at the same instants.
 */
/**
 * A paced run is spread over at least this many chunks (test runs): the
 * schedule overshoots by at most one chunk, so --rate then holds within 1 %.
 * (A 1000-event chunk at --rate 500 was one burst at the start of a 1 s run.)
 */
export const MIN_PACED_CHUNKS = 100;

export class OpenLoopSchedule {
  /** Nanoseconds between consecutive chunk slots over all producers. */
  readonly slotNs: number;

  constructor(
    readonly startNs: number,
    readonly ratePerSecond: number,
    readonly chunk: number,
    readonly producers: number,
    readonly producerId: number,
  ) {
    this.slotNs = (chunk * 1e9) / ratePerSecond;
  }

  /** When this producer's chunk number `index` (from 0) should start, in ns on the same clock as startNs. */
  intendedStartNs(index: number): number {
    return this.startNs + (index * this.producers + this.producerId) * this.slotNs;
  }
}

/** Events producer `id` of `producers` makes out of `total`: an even split, the remainder to the first ones. */
export function producerShare(total: number, producers: number, id: number): number {
  return Math.floor(total / producers) + (id < total % producers ? 1 : 0);
}
