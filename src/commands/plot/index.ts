/**
 * plot: a self-contained report from sweep and run results. Charts: Mevents/s
 * against event size per mode, the JavaScript modes as ratios to native, the
 * perf buffer modes as ratios to their ring buffer counterparts, and
 * the latency percentile spectrum per mode (from pipeline --json latency_ns or
 * .hgrm files). The charts are SVG rendered here, inline in the HTML (or one
 * chart per .svg file with -o x.svg): the page opens with no network access.
 */
import { writeOutputFile } from '../../shared/output-file.js';
import type { CommandContext } from '../context.js';
import { loadPlotData, PlotInputError, type PlotData } from './data.js';
import { htmlPage, renderCharts } from './report.js';

export interface PlotConfig {
  inputs: string[];
  /** report.html, or name.svg for one SVG per chart. */
  output: string;
  log: boolean;
  title: string;
}

/** The charts a report can have, in order; with -o name.svg each is its own file (plotOutputs). */
export const CHART_NAMES = ['throughput', 'ratios', 'perf-ratios', 'latency'] as const;

/** Every file `-o output` may write: the page, or one SVG per chart. The CLI checks them before reading anything. */
export function plotOutputs(output: string): string[] {
  if (!/\.svg$/i.test(output)) return [output];
  const stem = output.replace(/\.svg$/i, '');
  return CHART_NAMES.map((name) => `${stem}-${name}.svg`);
}

export async function runPlotCommand(config: PlotConfig, ctx: CommandContext): Promise<number> {
  let data: PlotData;
  try {
    data = loadPlotData(config.inputs);
  } catch (err) {
    // An input that cannot be plotted is bad input, as a bad flag is: one line naming the file, exit 2.
    if (!(err instanceof PlotInputError)) throw err;
    ctx.stderr(`plot: ${err.message}\n`);
    return 2;
  }
  const charts = await renderCharts(data, { log: config.log, width: 720, height: 360 });
  if (/\.svg$/i.test(config.output)) {
    const targets = plotOutputs(config.output);
    for (const [name, svg] of charts) {
      const target = targets[CHART_NAMES.indexOf(name as (typeof CHART_NAMES)[number])];
      writeOutputFile(target, svg);
      ctx.stdout(`plot: wrote ${target}\n`);
    }
    return 0;
  }
  writeOutputFile(config.output, htmlPage(config.title, data, charts));
  ctx.stdout(`plot: wrote ${config.output} (${charts.map(([n]) => n).join(', ') || 'no charts'})\n`);
  return 0;
}
