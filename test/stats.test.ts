/** The statistics of repeated runs: medians, per-round ratios, interleaving order, and the summary built on them. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PrefillRun } from '../src/shared/results.js';
import { summarize } from '../src/shared/results.js';
import { interleave, max, median, min, ratios } from '../src/shared/stats.js';
import type { ModeName } from '../src/shared/types.js';

test('median of odd and even counts, unsorted input left untouched, empty is NaN', () => {
  const values = [9, 1, 5, 3, 7];
  assert.equal(median(values), 5);
  assert.deepEqual(values, [9, 1, 5, 3, 7]);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
  assert.ok(Number.isNaN(median([])));
  assert.equal(min([3, -1, 2]), -1);
  assert.equal(max([3, -1, 2]), 3);
  assert.ok(Number.isNaN(min([])) && Number.isNaN(max([])));
});

test('ratios pair rounds index by index and skip a zero denominator', () => {
  assert.deepEqual(ratios([2, 9, 8], [1, 3, 0]), [2, 3]);
  assert.deepEqual(ratios([2, 4, 6], [1, 2]), [2, 2]);
});

test('interleave runs every mode once per round and rotates which goes first', () => {
  const modes = ['copy', 'view', 'native'];
  const rounds = interleave(modes, 7);
  assert.equal(rounds.length, 7);
  for (const round of rounds) assert.deepEqual([...round].sort(), [...modes].sort());
  const firsts = rounds.map((r) => r[0]);
  for (let r = 0; r < rounds.length; r++) assert.equal(firsts[r], modes[r % modes.length]);
  // Over a whole number of rotations every mode is first equally often.
  const counts = new Map<string, number>();
  for (const first of firsts.slice(0, 6)) counts.set(first, (counts.get(first) ?? 0) + 1);
  assert.deepEqual([...counts.values()], [2, 2, 2]);
  assert.deepEqual(interleave(['only'], 3), [['only'], ['only'], ['only']]);
});

/** Synthetic runs: rate[mode][round], warm-up rounds first. */
function runsOf(rates: Partial<Record<ModeName, number[]>>, warmup: number, checksum = (_mode: ModeName) => 'c0ffee'): PrefillRun[] {
  const runs: PrefillRun[] = [];
  for (const [mode, perRound] of Object.entries(rates) as [ModeName, number[]][])
    perRound.forEach((rate, round) =>
      runs.push({
        round,
        warmup: round < warmup,
        failures: [],
        result: {
          mode,
          producers: 1,
          event_size: 128,
          touch: 'field',
          batch: 1,
          events: 1000,
          drops: 0,
          seconds: 1000 / rate / 1e6,
          mevents_per_s: rate,
          checksum: checksum(mode),
          latency_ns: null,
        },
      }),
    );
  return runs;
}

test('summary: medians over measured runs only, ratios as medians of per-round ratios', () => {
  // Round 0 is a warm-up with absurd rates that must not count.
  const copy = [1000, 10, 30, 20];
  const view = [1, 40, 30, 60];
  const native = [5000, 50, 60, 80];
  const nativeCopy = [5000, 40, 50, 40];
  const summary = summarize(['copy', 'view', 'native', 'native-copy'], runsOf({ copy, view, native, 'native-copy': nativeCopy }, 1));
  const byMode = new Map(summary.results.map((r) => [r.mode, r]));
  assert.deepEqual(byMode.get('copy')?.runs_mevents_per_s, [10, 30, 20]);
  assert.equal(byMode.get('copy')?.median_mevents_per_s, 20);
  assert.equal(byMode.get('view')?.median_mevents_per_s, 40);
  assert.equal(byMode.get('native')?.median_mevents_per_s, 60);
  // Per round: view/copy = 4, 1, 3 -> 3 (the ratio of medians would be 2).
  assert.equal(summary.ratios['view/copy'], 3);
  // view/native = 0.8, 0.5, 0.75 -> 0.75.
  assert.equal(summary.ratios['view/native'], 0.75);
  // copy/native is like for like: copy ÷ native-copy = 0.25, 0.6, 0.5 -> 0.5.
  assert.equal(summary.ratios['copy/native'], 0.5);
  assert.deepEqual(summary.failures, []);
});

test('summary: a ratio appears only when both of its modes ran; disagreeing checksums fail', () => {
  const onlyJs = summarize(['copy', 'view'], runsOf({ copy: [1, 2], view: [2, 4] }, 0));
  assert.deepEqual(Object.keys(onlyJs.ratios), ['view/copy']);
  const native = summarize(['view', 'native'], runsOf({ view: [1, 2], native: [2, 4] }, 0));
  assert.deepEqual(Object.keys(native.ratios), ['view/native']);
  const bad = summarize(['copy', 'view'], runsOf({ copy: [1], view: [1] }, 0, (mode) => (mode === 'copy' ? 'aa' : 'bb')));
  assert.equal(bad.failures.length, 1);
  assert.match(bad.failures[0], /checksums disagree/);
});

test('interleave refuses a plan with no rounds or no modes (a config missing runs must not pass as an empty success)', () => {
  assert.throws(() => interleave(['copy'], NaN), RangeError);
  assert.throws(() => interleave(['copy'], 0), RangeError);
  assert.throws(() => interleave([], 3), RangeError);
});
