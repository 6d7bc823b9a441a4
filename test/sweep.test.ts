/**
 * The sweep and plot commands: flag parsing and bad input, the CSV against the
 * JSON, a short real sweep on the kernel, and the report built from it and
 * from HdrHistogram text.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import * as hdr from 'hdr-histogram-js';
import { latencySpec, renderSvg } from '../src/commands/plot/charts.js';
import { loadPlotData, parseHgrm, summaryLatency } from '../src/commands/plot/data.js';
import { parseProducers, parseSizes } from '../src/cli/sweep-options.js';
import { CSV_COLUMNS, toCsv } from '../src/commands/sweep/output.js';
import type { SweepPoint } from '../src/commands/sweep/run.js';
import { kernelSkip } from './helpers/kernel.js';
import { expectedSamples, range, referenceChecksum } from './helpers/reference.js';
import { buildPacket } from '../src/shared/event.js';

const dist = path.resolve(__dirname, '..', 'src');
const node = (script: string, args: string[]) => spawnSync(process.execPath, [path.join(dist, script), ...args], { encoding: 'utf8', timeout: 120_000 });
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'rbb-sweep-'));

test('--sizes: ranges with steps and lists, sorted, without repeats', () => {
  assert.deepEqual(parseSizes('16..64:16'), [16, 32, 48, 64]);
  assert.deepEqual(parseSizes('100,16..40:12, 28'), [16, 28, 40, 100]);
  assert.equal(parseSizes('16..2048:16').length, 128);
  assert.deepEqual(parseProducers('1,2..4'), [1, 2, 3, 4]);
});

test('sweep: bad input is one line naming the flag, exit 2, before anything is loaded', () => {
  for (const [args, flag] of [
    [['--sizes', '8..64:8'], '--sizes'],
    [['--sizes', '16..64:0'], '--sizes'],
    [['--sizes', 'abc'], '--sizes'],
    [['--modes', 'fast'], '--modes'],
    [['--producers', '0'], '--producers'],
    [['--ring-size', '3M'], '--ring-size'],
    [['--sizes', '2048', '-n', '1M', '--ring-size', '4M'], '-n/--events'],
    // 24 B samples are 32-byte records: 64 MiB of them is exactly the ring, one more than it holds.
    [['--sizes', '24', '--bytes-per-run', '64M', '--ring-size', '64M'], '--bytes-per-run'],
    // Points with 2 producers run the pipeline, which has no native mode: every point would fail (issue 10, 6).
    [['--sizes', '64', '--producers', '2', '--modes', 'callback'], '--modes'],
    [['--sizes', '64', '--producers', '1,2', '--modes', 'native-copy'], '--modes'],
    // One of the two would be ignored.
    [['--sizes', '64', '-n', '100', '--bytes-per-run', '1M'], '--bytes-per-run'],
    // An output folder that cannot be made (Node's recursive mkdir spun forever here), or that is a file.
    [['--sizes', '64', '--out', '/proc/rbb-sweep'], '--out'],
    [['--sizes', '64', '--out', '/etc/hostname'], '--out'],
    // Given twice.
    [['--sizes', '64', '--sizes', '128'], '--sizes'],
    // The producer side: choices, output only for sizes the program's stack holds, wake-ups only where a consumer waits.
    [['--sizes', '64', '--trigger', 'kprobe'], '--trigger'],
    [['--sizes', '64', '--submit', 'copy'], '--submit'],
    [['--sizes', '16..1024:16', '--submit', 'output'], '--sizes'],
    [['--sizes', '64', '--wakeup', 'threshold:64K'], '--wakeup'],
    [['--sizes', '64', '--producers', '2', '--wakeup', 'threshold:1G'], '--wakeup'],
    [['--sizes', '64', '--producers', '2', '--wakeup', 'sometimes'], '--wakeup'],
  ] as [string[], string][]) {
    const r = node('sweep.js', args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(r.stderr.includes(flag), r.stderr);
    assert.equal(r.stdout, '');
  }
});

test('plot: an input it cannot plot is bad input, one line naming the file, exit 2 (issue 10, 6)', () => {
  const dir = tmp();
  const write = (name: string, text: string) => {
    fs.writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  };
  const out = path.join(dir, 'report.html');
  for (const input of [
    write('null.json', 'null'),
    write('array.json', '[1, 2]'),
    write('text.json', 'not json at all'),
    write('shape.json', '{"points": [{"results": [{"mode": 1}]}]}'),
    write('empty.hgrm', '#[Mean = 0]\n'),
    path.join(dir, 'missing.json'),
  ]) {
    const r = node('plot.js', [input, '-o', out]);
    assert.equal(r.status, 2, `${input}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(r.stderr.includes(input), `names ${input}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /TypeError|^\s+at /m);
    assert.ok(!fs.existsSync(out), 'no report written');
  }
});

test('plot: -o is checked before anything is read: its folder, every SVG it may write, --title only for HTML', () => {
  const dir = tmp();
  fs.writeFileSync(path.join(dir, 'r.json'), JSON.stringify({ results: [{ mode: 'view', event_size: 64, mevents_per_s: 1 }] }));
  fs.mkdirSync(path.join(dir, 'c-latency.svg'));
  for (const [args, flag] of [
    [['-o', '/proc/rbb-plot/report.html'], '-o/--output'],
    [['-o', path.join(dir, 'c.svg')], 'c-latency.svg'],
    [['-o', path.join(dir, 'd.svg'), '--title', 'x'], '--title'],
    [['-o', path.join(dir, 'a.html'), '-o', path.join(dir, 'b.html')], '--output'],
  ] as [string[], string][]) {
    const r = node('plot.js', [path.join(dir, 'r.json'), ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(r.stderr.includes(flag), r.stderr);
  }
});

function point(eventSize: number, rates: Record<string, number[]>, ratios: Record<string, number>): SweepPoint {
  const results = Object.entries(rates).map(([mode, runs]) => {
    const sorted = [...runs].sort((a, b) => a - b);
    return {
      mode: mode as 'copy',
      producers: 1,
      event_size: eventSize,
      touch: 'field' as const,
      batch: 1,
      events: 10,
      drops: 0,
      seconds: 1,
      mevents_per_s: sorted[1],
      checksum: 'abc',
      latency_ns: null,
      runs_mevents_per_s: runs,
      median_mevents_per_s: sorted[1],
    };
  });
  return { event_size: eventSize, producers: 1, touch: 'field', pattern: 'prefill', events_per_run: 10, seconds: 1, results, ratios, failures: [] };
}

test('CSV: one row per point and mode, min/median/max from the runs, the like-for-like ratio to native', () => {
  const csv = toCsv([point(64, { copy: [3, 1, 2], native: [9, 8, 7], 'native-copy': [4, 6, 5] }, { 'copy/native': 0.4 })]);
  const [header, ...rows] = csv.trim().split('\n').map((l) => l.split(','));
  assert.deepEqual(header, [...CSV_COLUMNS]);
  const col = (row: string[], name: (typeof CSV_COLUMNS)[number]) => row[header.indexOf(name)];
  assert.equal(rows.length, 3);
  const copy = rows.find((r) => col(r, 'mode') === 'copy') as string[];
  assert.equal(col(copy, 'min_mevents_per_s'), '1');
  assert.equal(col(copy, 'median_mevents_per_s'), '2');
  assert.equal(col(copy, 'max_mevents_per_s'), '3');
  assert.equal(col(copy, 'median_gbytes_per_s'), String((2 * 64) / 1000));
  assert.equal(col(copy, 'ratio_to_native'), '0.4');
  assert.equal(col(rows.find((r) => col(r, 'mode') === 'native') as string[], 'ratio_to_native'), '');
});

test('.hgrm: percentiles and values as HdrHistogram wrote them', () => {
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e9, numberOfSignificantValueDigits: 3 });
  for (let i = 1; i <= 10_000; i++) h.recordValue(i * 100);
  const points = parseHgrm(h.outputPercentileDistribution(5, 1), 'view');
  assert.ok(points.length > 20);
  const p50 = points.find((p) => p.percentile >= 0.5) as { latency_ns: number; inverse: number };
  assert.equal(p50.latency_ns, h.getValueAtPercentile(50));
  assert.ok(Math.abs(p50.inverse - 2) < 0.01);
  const last = points[points.length - 1];
  assert.equal(last.percentile, 1);
  assert.equal(last.latency_ns, h.getValueAtPercentile(100));
  assert.ok(Number.isFinite(last.inverse));
  for (let i = 1; i < points.length; i++) assert.ok(points[i].latency_ns >= points[i - 1].latency_ns);
});

test('latency summary (pipeline --json): p50..p999 at 1/(1-p), the maximum at the event count; the chart names its series', async () => {
  const points = summaryLatency('view x2 128 B', { p50: 10, p90: 20, p99: 30, p999: 40, max: 99 }, 1e6);
  assert.deepEqual(
    points.map((p) => Math.round(p.inverse)),
    [2, 10, 100, 1000, 1e6],
  );
  assert.deepEqual(
    points.map((p) => p.latency_ns),
    [10, 20, 30, 40, 99],
  );
  const svg = await renderSvg(latencySpec(points, { log: false, width: 300, height: 200 }));
  assert.match(svg, /^<svg/);
  assert.ok(svg.includes('view x2 128 B'));
  assert.ok(svg.includes('99.9%'));
});

test('a sweep point with 2 producers runs the pipeline, and its latency reaches the plot', { skip: kernelSkip }, () => {
  const dir = tmp();
  const r = node('sweep.js', ['--sizes', '128', '--producers', '2', '--modes', 'all', '-n', '20000', '--ring-size', '4M', '--runs', '1', '--warmup', '0', '--out', dir]);
  assert.equal(r.status, 0, r.stderr);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'sweep.json'), 'utf8'));
  const [p] = json.points as SweepPoint[];
  assert.equal(p.pattern, 'pipeline');
  assert.deepEqual(p.failures, []);
  // The pipeline's modes, of both buffers: the JavaScript readers and the native reference.
  const modes = ['copy', 'view', 'native', 'perf-copy', 'perf-view', 'perf-native'];
  assert.deepEqual(
    p.results.map((x) => x.mode),
    modes,
  );
  for (const x of p.results) assert.equal(x.events, 20000);
  const data = loadPlotData([path.join(dir, 'sweep.json')]);
  assert.deepEqual([...new Set(data.latency.map((l) => l.series))].sort(), modes.map((m) => `${m} x2 128 B`).sort());
});

test('a short real sweep writes JSON and CSV that agree, and plots to a self-contained page', { skip: kernelSkip }, () => {
  // --modes all: both buffers' modes, nine at every point.
  const MODES = ['copy', 'view', 'native', 'native-copy', 'callback', 'perf-copy', 'perf-view', 'perf-native', 'perf-native-copy'];
  const dir = tmp();
  const r = node('sweep.js', ['--sizes', '16,100', '--modes', 'all', '--touch', 'field,all', '-n', '2000', '--runs', '2', '--warmup', '0', '--ring-size', '4M', '--out', dir]);
  assert.equal(r.status, 0, r.stderr);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'sweep.json'), 'utf8'));
  // A point per touch level and size.
  assert.deepEqual(
    json.points.map((p: SweepPoint) => `${p.touch} ${p.event_size}`),
    ['field 16', 'field 100', 'all 16', 'all 100'],
  );
  for (const p of json.points as SweepPoint[]) {
    assert.deepEqual(p.failures, []);
    assert.deepEqual(
      p.results.map((x) => x.mode),
      MODES,
    );
    assert.equal(new Set(p.results.map((x) => x.checksum)).size, 1, 'every mode saw the same events');
    const expected = referenceChecksum(expectedSamples(buildPacket(0, p.event_size), p.event_size, 0, range(0, 2000)), p.touch);
    assert.equal(p.results[0].checksum, expected, `${p.touch} ${p.event_size} B`);
    for (const x of p.results) assert.equal(x.runs_mevents_per_s.length, 2);
    for (const key of ['view/copy', 'view/native', 'copy/native', 'view/callback', 'copy/callback', 'perf-view/view', 'perf-copy/copy', 'perf-view/perf-native']) assert.ok(p.ratios[key] > 0, key);
  }
  const csv = fs.readFileSync(path.join(dir, 'sweep.csv'), 'utf8').trim().split('\n');
  assert.equal(csv.length, 1 + 4 * MODES.length);
  const data = loadPlotData([path.join(dir, 'sweep.json')]);
  assert.equal(data.throughput.length, 4 * MODES.length);

  const page = path.join(dir, 'report.html');
  const plot = node('plot.js', [path.join(dir, 'sweep.json'), '-o', page, '--log']);
  assert.equal(plot.status, 0, plot.stderr);
  const html = fs.readFileSync(page, 'utf8');
  assert.equal((html.match(/<svg/g) ?? []).length, 3, 'throughput, ratio-to-native and perfbuf ÷ ringbuf charts');
  assert.ok(!/<script|<link|src="http/i.test(html), 'nothing to fetch: opens with no network');
  // A series per mode and touch level.
  for (const mode of MODES)
    for (const touch of ['field', 'all']) assert.ok(html.includes(`>${mode} touch ${touch}<`), `${mode} touch ${touch}`);
});
