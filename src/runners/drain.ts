/**
 * drain: attach to a ring buffer that another program fills, consume it for a
 * while, and say how it went: events/s and bytes/s, the sizes of the samples,
 * how much of the time the consumer worked and how much it waited, and
 * whether it kept up — the ring's fill level (the gap between the producer's
 * and the consumer's position) sampled throughout.
 *
 * The consumer runs on this thread with the library's own reader (src/lib):
 * it drains what is there, then blocks in epoll_wait (Ring.wait) for at most
 * the read timeout. Per record it does only what the mode means — view: read
 * the length in place; copy: copy the sample into a reused buffer — because a
 * foreign ring's format is unknown. A producer's failed reservations are
 * invisible from user space: a ring that reached full is the sign.
 */
import { openRing, type Ring } from '../lib/ring.js';
import type { MapSource } from '../lib/bpf-map.js';
import { EMPTY } from '../lib/ring-reader.js';
import { recordSize } from '../lib/ring-layout.js';
import { LatencyBuckets } from '../consumer/latency-buckets.js';
import { NEVER_STOP, type StopSignal } from '../shared/stop.js';

export type DrainMode = 'copy' | 'view';

export interface DrainConfig {
  source: MapSource;
  mode: DrainMode;
  /** Publish the consumer position every `batch` records (always before waiting). */
  batch: number;
  /** Stop after this long; undefined: until stopped. */
  durationMs: number | undefined;
  /** Longest single wait for data, ms. */
  readTimeoutMs: number;
}

export interface Distribution {
  samples: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface DrainReport {
  map: { id: number; name: string; type: string; ring_size: number };
  mode: DrainMode;
  batch: number;
  seconds: number;
  events: number;
  /** Sample bytes consumed (record headers and padding not counted). */
  bytes: number;
  /** Ring bytes consumed: what the consumer position advanced by, headers and padding included. */
  ring_bytes: number;
  events_per_s: number;
  bytes_per_s: number;
  /** Sample sizes in bytes, and the most common ones as [size, count]. */
  sample_sizes: Distribution & { most_common: [number, number][] };
  /** Time spent reading records vs blocked waiting for them. */
  working_seconds: number;
  waiting_seconds: number;
  waits: number;
  wait_timeouts: number;
  /** Producer position − published consumer position, in bytes, sampled before every drain and every 256 records. */
  backlog_bytes: Distribution;
  /** Per interval of the run: the largest backlog seen, bytes. */
  backlog_series: { interval_ms: number; max_bytes: number[] };
  /** The largest backlog as a fraction of the ring. */
  max_fill: number;
  /** True when the ring was ever too full for the largest record seen: the producer's reservations may have failed then. */
  ring_full_seen: boolean;
  kept_up: boolean;
}

const BACKLOG_EVERY = 256;
const SERIES_POINTS = 50;
const MOST_COMMON = 5;
/** Distinct sizes tracked exactly; a ring with more is summarised by the percentiles alone. */
const MAX_DISTINCT_SIZES = 4096;

/** Opens the ring (OpenRingError on a bad source), drains it until the duration ends or a stop, closes it. */
export function runDrain(config: DrainConfig, stop: StopSignal = NEVER_STOP): DrainReport {
  const ring = openRing(config.source, { batch: config.batch });
  try {
    return drain(ring, config, stop);
  } finally {
    ring.close();
  }
}

function drain(ring: Ring, config: DrainConfig, stop: StopSignal): DrainReport {
  const reader = ring.reader;
  const sizes = new LatencyBuckets();
  const sizeCounts = new Map<number, number>();
  const backlog = new LatencyBuckets();
  const seriesMs = Math.max(10, Math.round((config.durationMs ?? 10_000) / SERIES_POINTS));
  const series: number[] = [];
  let copy = new Uint8Array(0);
  let events = 0;
  let bytes = 0;
  let waits = 0;
  let timeouts = 0;
  let waitingMs = 0;
  let largestRecord = 0;
  let fullSeen = false;

  const startPosition = reader.position;
  const started = performance.now();
  const deadline = config.durationMs === undefined ? Infinity : started + config.durationMs;
  const sampleBacklog = (now: number): void => {
    const gap = ring.producerPosition - ring.consumerPosition;
    backlog.record(gap);
    const slot = Math.floor((now - started) / seriesMs);
    while (series.length <= slot) series.push(0);
    if (gap > series[slot]) series[slot] = gap;
    // Before the first record is read, the one waiting at the head tells the size.
    if (largestRecord === 0) {
      const next = reader.peek();
      if (next >= 0) largestRecord = recordSize(next);
    }
    // The kernel refuses a reservation that would bring the producer size bytes ahead (recordsThatFit).
    if (largestRecord && gap + largestRecord > ring.size - 1) fullSeen = true;
  };

  for (;;) {
    let now = performance.now();
    if (now >= deadline || stop.requested()) break;
    sampleBacklog(now);
    // Drain what is there.
    for (let n = 0; ; n++) {
      const length = reader.peek();
      if (length < 0) break;
      if (config.mode === 'copy') {
        if (copy.length < length) copy = new Uint8Array(Math.max(length, copy.length * 2, 64));
        copy.set(reader.bytes.subarray(reader.sampleOffset, reader.sampleOffset + length));
      }
      reader.consume();
      events++;
      bytes += length;
      sizes.record(length);
      const count = sizeCounts.get(length);
      if (count !== undefined) sizeCounts.set(length, count + 1);
      else if (sizeCounts.size < MAX_DISTINCT_SIZES) sizeCounts.set(length, 1);
      if (recordSize(length) > largestRecord) largestRecord = recordSize(length);
      if (n % BACKLOG_EVERY === BACKLOG_EVERY - 1) {
        reader.commit();
        now = performance.now();
        sampleBacklog(now);
        if (now >= deadline || stop.requested()) break;
      }
    }
    reader.commit();
    now = performance.now();
    if (now >= deadline || stop.requested()) break;
    // Wait (a BUSY record is retried at once: its submit is a few instructions away).
    if (reader.peek() === EMPTY) {
      const timeout = Math.max(1, Math.min(config.readTimeoutMs, Math.ceil(deadline - now)));
      waits++;
      if (!ring.wait(timeout)) timeouts++;
      waitingMs += performance.now() - now;
    }
  }
  const seconds = (performance.now() - started) / 1e3;
  const ringBytes = reader.position - startPosition;
  const maxBacklog = backlog.total ? backlog.max : 0;
  return {
    map: { id: ring.info.id, name: ring.info.name, type: ring.info.typeName, ring_size: ring.size },
    mode: config.mode,
    batch: config.batch,
    seconds,
    events,
    bytes,
    ring_bytes: ringBytes,
    events_per_s: seconds > 0 ? events / seconds : 0,
    bytes_per_s: seconds > 0 ? bytes / seconds : 0,
    sample_sizes: {
      ...distribution(sizes),
      mean: events ? bytes / events : 0,
      most_common: [...sizeCounts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, MOST_COMMON),
    },
    working_seconds: seconds - waitingMs / 1e3,
    waiting_seconds: waitingMs / 1e3,
    waits,
    wait_timeouts: timeouts,
    backlog_bytes: distribution(backlog),
    backlog_series: { interval_ms: seriesMs, max_bytes: series },
    max_fill: maxBacklog / ring.size,
    ring_full_seen: fullSeen,
    kept_up: !fullSeen,
  };
}

/** Percentiles of what a LatencyBuckets recorder holds (HdrHistogram bucketing: exact below 2048, within 0.1% above). */
function distribution(b: LatencyBuckets): Distribution {
  if (b.total === 0) return { samples: 0, min: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  const h = b.toHistogram();
  const at = (p: number) => Math.min(h.getValueAtPercentile(p), b.max);
  return { samples: b.total, min: b.min, p50: at(50), p90: at(90), p99: at(99), max: b.max, mean: h.mean };
}
