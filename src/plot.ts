#!/usr/bin/env node
/**
 * plot: a self-contained report from sweep and run results.
 *   node dist/plot.js results/sweep.json [run.json] [view.hgrm | label=file.hgrm ...] -o report.html [--log]
 * Charts: Mevents/s against event size per mode, the JavaScript modes as
 * ratios to native, and the latency percentile spectrum per mode (from
 * pipeline --json latency_ns or .hgrm files). The charts are SVG rendered
 * here, inline in the HTML (or one chart per .svg file with -o x.svg): the
 * page opens with no network access. Exit 2 on bad input, 1 if unreadable.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { parseOrExit } from './cli/exit.js';
import { loadPlotData } from './commands/plot/data.js';
import { htmlPage, renderCharts } from './commands/plot/report.js';

interface PlotOptions {
  output: string;
  log: boolean;
  title: string;
}

async function main(): Promise<void> {
  const command = new Command('plot')
    .description('Render sweep/run results and latency histograms to a self-contained HTML report (or SVG).')
    .argument('<inputs...>', 'sweep.json, bench --json output, .hgrm files (label=file.hgrm to name a series)')
    .addOption(new Option('-o, --output <file>', 'report.html, or name.svg for one SVG per chart (name-throughput.svg, ...)').default('report.html'))
    .addOption(new Option('--log', 'log scales for Mevents/s and event size').default(false))
    .addOption(new Option('--title <text>', 'page title').default('bpf-ringbuf-bench report'))
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: (s) => process.stdout.write(s) });
  parseOrExit('plot', () => command.parse(process.argv.slice(2), { from: 'user' }));
  const inputs = command.args;
  const opts = command.opts<PlotOptions>();
  if (!/\.(html?|svg)$/i.test(opts.output)) {
    process.stderr.write(`plot: -o/--output must end in .html or .svg, got '${opts.output}'\n`);
    process.exit(2);
  }
  const data = loadPlotData(inputs);
  const charts = await renderCharts(data, { log: opts.log, width: 720, height: 360 });
  fs.mkdirSync(path.dirname(path.resolve(opts.output)), { recursive: true });
  if (/\.svg$/i.test(opts.output)) {
    const stem = opts.output.replace(/\.svg$/i, '');
    for (const [name, svg] of charts) {
      fs.writeFileSync(`${stem}-${name}.svg`, svg);
      process.stdout.write(`plot: wrote ${stem}-${name}.svg\n`);
    }
    return;
  }
  fs.writeFileSync(opts.output, htmlPage(opts.title, data, charts));
  process.stdout.write(`plot: wrote ${opts.output} (${charts.map(([n]) => n).join(', ') || 'no charts'})\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`plot: ${err.message}\n`);
  process.exit(1);
});
