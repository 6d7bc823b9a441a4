/**
 * The report's charts as vega-lite specs, rendered to SVG in Node by vega's
 * headless View (renderer 'none', View.toSVG), so the page needs no script and
 * no network to open.
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import type { LatencyPoint, ThroughputPoint } from './data.js';

export interface ChartOptions {
  /** Log scales for Mevents/s and event size. */
  log: boolean;
  width: number;
  height: number;
}

const MODE_ORDER = ['copy', 'view', 'native', 'native-copy', 'callback', 'perf-copy', 'perf-view', 'perf-native', 'perf-native-copy'];

/**
 * A point's series: the mode, plus "xP" when several producer counts are
 * plotted and "touch T" when several touch levels are (a series per touch).
 */
export function seriesOf(points: readonly ThroughputPoint[]): (p: ThroughputPoint) => string {
  const manyProducers = new Set(points.map((p) => p.producers)).size > 1;
  const manyTouches = new Set(points.map((p) => p.touch ?? '')).size > 1;
  return (p) => `${p.mode}${manyProducers ? ` x${p.producers}` : ''}${manyTouches ? ` touch ${p.touch ?? 'all (before --touch)'}` : ''}`;
}

export function throughputSpec(points: readonly ThroughputPoint[], o: ChartOptions): TopLevelSpec {
  const series = seriesOf(points);
  const values = points.map((p) => ({ ...p, series: series(p) }));
  const x = { field: 'event_size', type: 'quantitative' as const, title: 'event size (bytes)', scale: o.log ? { type: 'log' as const, base: 2 } : { zero: false } };
  const color = { field: 'series', type: 'nominal' as const, title: 'mode', sort: MODE_ORDER };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `Mevents/s against event size (median of runs; band: min..max)${o.log ? ', log scales' : ''}`,
    // Legend symbols at full strength, not at the band's opacity.
    config: { legend: { symbolOpacity: 1, symbolType: 'stroke', labelLimit: 0 } },
    width: o.width,
    height: o.height,
    data: { values },
    encoding: { x, color },
    // The line first, so the legend shows line symbols; the min..max band is drawn over it, faint.
    layer: [
      {
        // Small points always, so a series measured at one size (a pipeline run) still shows.
        mark: { type: 'line', point: { filled: true, size: points.length < 200 ? 30 : 8 } },
        encoding: { y: { field: 'median', type: 'quantitative', title: 'Mevents/s', scale: o.log ? { type: 'log' } : { zero: true } } },
      },
      { mark: { type: 'area', opacity: 0.18 }, encoding: { y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' } } },
    ],
  };
}

export function ratioSpec(points: readonly ThroughputPoint[], o: ChartOptions): TopLevelSpec {
  return ratioChart(
    points,
    'ratio_to_native',
    'JavaScript ÷ native, like for like (view ÷ native in place, copy ÷ native-copy; perf-view, perf-copy ÷ libbpf perf_buffer)',
    'ratio to native (median of per-round ratios)',
    o,
  );
}

/** Each perf buffer mode ÷ its ring buffer counterpart (the same reading from the other buffer). */
export function perfRatioSpec(points: readonly ThroughputPoint[], o: ChartOptions): TopLevelSpec {
  return ratioChart(points, 'ratio_to_ringbuf', 'perfbuf ÷ ringbuf, mode by mode (perf-view ÷ view, perf-native ÷ native, ...)', 'ratio to the ring buffer mode (median of per-round ratios)', o);
}

function ratioChart(points: readonly ThroughputPoint[], field: 'ratio_to_native' | 'ratio_to_ringbuf', title: string, axis: string, o: ChartOptions): TopLevelSpec {
  const withRatio = points.filter((p) => p[field] !== undefined);
  const series = seriesOf(points);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: o.width,
    height: o.height,
    layer: [
      {
        data: { values: withRatio.map((p) => ({ ...p, ratio: p[field], series: series(p) })) },
        mark: { type: 'line', point: withRatio.length < 200 },
        encoding: {
          x: { field: 'event_size', type: 'quantitative', title: 'event size (bytes)', scale: o.log ? { type: 'log', base: 2 } : { zero: false } },
          y: { field: 'ratio', type: 'quantitative', title: axis },
          color: { field: 'series', type: 'nominal', title: 'mode', sort: MODE_ORDER },
        },
      },
      { data: { values: [{ y: 1 }] }, mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' }, encoding: { y: { field: 'y', type: 'quantitative' } } },
    ],
  };
}

/** HdrHistogram-plotter style: latency against percentile, x = 1/(1 - p) on a log axis labelled in percent. */
export function latencySpec(points: readonly LatencyPoint[], o: ChartOptions): TopLevelSpec {
  const maxInverse = Math.max(10, ...points.map((p) => p.inverse));
  // Decades from 0% (x = 1) up to the first one that holds every point.
  const ticks: number[] = [1];
  while (ticks[ticks.length - 1] < maxInverse * 0.9999) ticks.push(ticks[ticks.length - 1] * 10);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Latency by percentile (producer timestamp to consumer clock)',
    width: o.width,
    height: o.height,
    data: { values: points as unknown as Record<string, unknown>[] },
    mark: { type: 'line', interpolate: 'step-after', point: points.length < 60, clip: true },
    encoding: {
      x: {
        field: 'inverse',
        type: 'quantitative',
        title: 'percentile',
        scale: { type: 'log', domain: [1, ticks[ticks.length - 1]] },
        axis: { values: ticks, labelExpr: "datum.value <= 1 ? '0%' : format(100 - 100 / datum.value, '.6~f') + '%'" },
      },
      y: { field: 'latency_ns', type: 'quantitative', title: 'latency (ns)', scale: { type: 'log' } },
      color: { field: 'series', type: 'nominal', title: 'series' },
    },
  };
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
