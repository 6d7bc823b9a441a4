/**
 * A recorder for latencies with exactly HdrHistogram's bucketing at 3
 * significant digits, but a few nanoseconds per value instead of the ~160 ns
 * hdr-histogram-js's recordValue costs here (more than handling the event).
 * toHistogram() hands the counts to an hdr-histogram-js histogram, which then
 * reports the same percentiles, max and .hgrm text as if every value had been
 * recorded in it directly (test/pipeline-logic.test.ts checks that).
 *
 * HdrHistogram's layout (lowest discernible value 1, 3 significant digits):
 * 2048 sub-buckets; bucket 0 holds 0..2047 at unit resolution, bucket b >= 1
 * holds [2^(b+10), 2^(b+11)) in steps of 2^b. A value v goes to bucket
 * b = max(floor(log2 v) − 10, 0), sub-bucket s = floor(v / 2^b), counts index
 * b·1024 + s; every value in one index is "equivalent" to the lowest, s·2^b.
 */
import * as hdr from 'hdr-histogram-js';

const SUB_BUCKET_HALF_MAGNITUDE = 10;
const SUB_BUCKET_HALF_COUNT = 1 << SUB_BUCKET_HALF_MAGNITUDE;
/** Values up to 2^53 (integers a double holds exactly): buckets 0..42. */
const MAX_BUCKET = 53 - SUB_BUCKET_HALF_MAGNITUDE - 1;
const TWO_TO_32 = 4294967296;

export class LatencyBuckets {
  private readonly counts = new Float64Array((MAX_BUCKET + 2) * SUB_BUCKET_HALF_COUNT);
  total = 0;
  /** The exact largest value recorded (HdrHistogram keeps it exactly too). */
  max = 0;
  /** The exact smallest value recorded. */
  min = Infinity;

  /**
   * Adds counts recorded elsewhere with this same bucketing (the native
   * consumer's, native/src/latency_sink.h), with their exact total, min and max.
   */
  addCounts(counts: ArrayLike<number>, total: number, min: number, max: number): void {
    if (counts.length !== this.counts.length) throw new RangeError(`LatencyBuckets.addCounts: ${counts.length} buckets, expected ${this.counts.length}`);
    if (total === 0) return;
    for (let i = 0; i < counts.length; i++) this.counts[i] += counts[i];
    this.total += total;
    if (max > this.max) this.max = max;
    if (min < this.min) this.min = min;
  }

  /** Records one non-negative integer value (ns). */
  record(value: number): void {
    this.counts[countsIndex(value)]++;
    this.total++;
    if (value > this.max) this.max = value;
    if (value < this.min) this.min = value;
  }

  /** An hdr-histogram-js histogram (ns, 3 significant digits) holding every recorded value. */
  toHistogram(): hdr.Histogram {
    const histogram = hdr.build({ bitBucketSize: 64, numberOfSignificantValueDigits: 3, autoResize: true, useWebAssembly: false });
    if (this.total === 0) return histogram;
    // Equivalent values share a count, but HdrHistogram keeps the exact min and
    // max: record those two exactly, and the rest as their bucket's lowest value.
    const maxIndex = countsIndex(this.max);
    const minIndex = countsIndex(this.min);
    const { counts } = this;
    for (let index = 0; index < counts.length; index++) {
      let count = counts[index];
      if (count === 0) continue;
      if (index === maxIndex) {
        histogram.recordValue(this.max);
        count--;
      }
      if (index === minIndex && this.min !== this.max) {
        histogram.recordValue(this.min);
        count--;
      }
      if (count > 0) histogram.recordValueWithCount(lowestEquivalent(index), count);
    }
    return histogram;
  }
}

/** The counts index of a value, as HdrHistogram buckets it (exported for the native twin's test). */
export function countsIndex(value: number): number {
  if (value < 2 * SUB_BUCKET_HALF_COUNT) return value;
  if (value < TWO_TO_32) {
    const bucket = 31 - Math.clz32(value) - SUB_BUCKET_HALF_MAGNITUDE;
    return bucket * SUB_BUCKET_HALF_COUNT + (value >>> bucket);
  }
  const bucket = 63 - Math.clz32(Math.floor(value / TWO_TO_32)) - SUB_BUCKET_HALF_MAGNITUDE;
  return bucket * SUB_BUCKET_HALF_COUNT + Math.floor(value / 2 ** bucket);
}

function lowestEquivalent(index: number): number {
  const bucket = index < 2 * SUB_BUCKET_HALF_COUNT ? 0 : Math.floor(index / SUB_BUCKET_HALF_COUNT) - 1;
  return (index - bucket * SUB_BUCKET_HALF_COUNT) * 2 ** bucket;
}
