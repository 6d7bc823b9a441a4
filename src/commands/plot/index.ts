/**
 * plot: a self-contained report from sweep and run results. Charts: Mevents/s
 * against event size per mode, the JavaScript modes as ratios to native, and
 * the latency percentile spectrum per mode (from pipeline --json latency_ns or
 * .hgrm files). The charts are SVG rendered here, inline in the HTML (or one
 * chart per .svg file with -o x.svg): the page opens with no network access.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CommandContext } from '../context.js';
import { loadPlotData } from './data.js';
import { htmlPage, renderCharts } from './report.js';

export interface PlotConfig {
  inputs: string[];
  /** report.html, or name.svg for one SVG per chart. */
  output: string;
  log: boolean;
  title: string;
}

export async function runPlotCommand(config: PlotConfig, ctx: CommandContext): Promise<number> {
  const data = loadPlotData(config.inputs);
  const charts = await renderCharts(data, { log: config.log, width: 720, height: 360 });
  fs.mkdirSync(path.dirname(path.resolve(config.output)), { recursive: true });
  if (/\.svg$/i.test(config.output)) {
    const stem = config.output.replace(/\.svg$/i, '');
    for (const [name, svg] of charts) {
      fs.writeFileSync(`${stem}-${name}.svg`, svg);
      ctx.stdout(`plot: wrote ${stem}-${name}.svg\n`);
    }
    return 0;
  }
  fs.writeFileSync(config.output, htmlPage(config.title, data, charts));
  ctx.stdout(`plot: wrote ${config.output} (${charts.map(([n]) => n).join(', ') || 'no charts'})\n`);
  return 0;
}
