/**
 * The pipeline's pure parts, without the kernel: the open-loop schedule, the
 * split of -n, the latency recorder against hdr-histogram-js itself, and the
 * checksum derived from (producer, sequence) against the reference checksum.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as hdr from 'hdr-histogram-js';
import { ExpectedChecksum } from '../src/consumer/expected-checksum.js';
import { LatencyBuckets } from '../src/consumer/latency-buckets.js';
import { OpenLoopSchedule, producerShare } from '../src/producer/pacing.js';
import { buildPacket, SEQ_BITS, TOUCH_CHOICES } from '../src/shared/event.js';
import { expectedSamples, referenceChecksum } from './helpers/reference.js';

function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

test('open-loop schedule: chunk slots fixed from the start, producers interleaved, total rate as asked', () => {
  const rate = 1_000_000;
  const chunk = 1000;
  const producers = 3;
  const schedules = Array.from({ length: producers }, (_, id) => new OpenLoopSchedule(5e9, rate, chunk, producers, id));
  const starts = schedules.flatMap((s) => Array.from({ length: 100 }, (_, k) => s.intendedStartNs(k))).sort((a, b) => a - b);
  // Consecutive slots over all producers are chunk / rate apart: 1 ms here.
  for (let i = 1; i < starts.length; i++) assert.ok(Math.abs(starts[i] - starts[i - 1] - 1e6) < 1e-3, `slot ${i}`);
  assert.equal(starts[0], 5e9);
  // Over the span of the slots, the offered rate is the asked rate.
  const offered = (starts.length * chunk) / ((starts[starts.length - 1] - starts[0] + schedules[0].slotNs) / 1e9);
  assert.ok(Math.abs(offered - rate) / rate < 1e-9, `offered ${offered}`);
  // The schedule does not depend on when chunks actually ran: index k is always the same time.
  assert.equal(schedules[1].intendedStartNs(7), 5e9 + (7 * producers + 1) * 1e6);
});

test('-n is split so the shares add up and differ by at most one', () => {
  for (const [total, producers] of [[10, 3], [2, 2], [1_000_001, 64], [7, 7]]) {
    const shares = Array.from({ length: producers }, (_, id) => producerShare(total, producers, id));
    assert.equal(shares.reduce((a, b) => a + b, 0), total);
    assert.ok(Math.max(...shares) - Math.min(...shares) <= 1);
  }
});

test('LatencyBuckets gives the same histogram as recording every value in hdr-histogram-js', () => {
  const random = xorshift(42);
  const direct = hdr.build({ bitBucketSize: 64, numberOfSignificantValueDigits: 3, autoResize: true });
  const buckets = new LatencyBuckets();
  const values: number[] = [0, 1, 2047, 2048, 2049, 4095, 4096, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 12345, 7 * 2 ** 40 + 3];
  // Latency-like values over nine decades: ns to tens of seconds.
  for (let i = 0; i < 200_000; i++) values.push(Math.floor(10 ** (random() * 10.5)));
  for (const v of values) {
    direct.recordValue(v);
    buckets.record(v);
  }
  const mine = buckets.toHistogram();
  assert.equal(mine.totalCount, direct.totalCount);
  assert.equal(mine.maxValue, direct.maxValue);
  assert.equal(mine.maxValue, values.reduce((a, b) => Math.max(a, b)));
  for (const p of [0, 1, 10, 50, 90, 99, 99.9, 99.99, 100]) assert.equal(mine.getValueAtPercentile(p), direct.getValueAtPercentile(p), `p${p}`);
  assert.equal(mine.outputPercentileDistribution(5, 1), direct.outputPercentileDistribution(5, 1));
});

for (const eventSize of [16, 17, 100, 128, 2048, 3071])
  for (const touch of TOUCH_CHOICES)
  test(`checksum expected from (producer, sequence) matches the reference at ${eventSize} B, --touch ${touch}, with gaps`, () => {
    const random = xorshift(eventSize);
    const expected = new ExpectedChecksum(eventSize, touch);
    const perProducer = new Float64Array(64);
    let seqLowSum = 0;
    let seqHighSum = 0;
    const samples: Uint8Array[] = [];
    for (const producer of [0, 1, 5, 63]) {
      // Sequences with random gaps (drops), some past 2^32 so the high half counts.
      const seqs: number[] = [];
      for (let seq = producer === 5 ? 2 ** 32 - 3 : 0; seqs.length < 200; seq += 1 + Math.floor(random() * 3)) seqs.push(seq);
      for (const seq of seqs) {
        perProducer[producer]++;
        seqLowSum = (seqLowSum + (seq % 2 ** 32)) | 0;
        seqHighSum = (seqHighSum + ((producer << (SEQ_BITS - 32)) | Math.floor(seq / 2 ** 32))) | 0;
      }
      samples.push(...expectedSamples(buildPacket(producer, eventSize), eventSize, producer, seqs));
    }
    assert.equal(expected.hex(perProducer, seqLowSum, seqHighSum), referenceChecksum(samples, touch));
    // One event fewer for producer 1 must not match.
    perProducer[1]--;
    assert.notEqual(expected.hex(perProducer, seqLowSum, seqHighSum), referenceChecksum(samples, touch));
  });
