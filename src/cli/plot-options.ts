/** The plot command's arguments: input files, the output and its format, validated before anything is read. */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { PlotConfig } from '../commands/plot/index.js';

export function buildPlotCommand(): Command {
  return new Command('plot')
    .description('Render sweep/run results and latency histograms to a self-contained HTML report (or SVG).')
    .argument('<inputs...>', 'sweep.json, bench --json output, .hgrm files (label=file.hgrm to name a series)')
    .addOption(new Option('-o, --output <file>', 'report.html, or name.svg for one SVG per chart (name-throughput.svg, ...)').default('report.html'))
    .addOption(new Option('--log', 'log scales for Mevents/s and event size').default(false))
    .addOption(new Option('--title <text>', 'page title').default('bpf-ringbuf-bench report'));
}

export function parsePlotArgs(argv: string[]): PlotConfig {
  const command = buildPlotCommand()
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: (s) => process.stdout.write(s) });
  command.parse(argv, { from: 'user' });
  const opts = command.opts<{ output: string; log: boolean; title: string }>();
  if (!/\.(html?|svg)$/i.test(opts.output))
    throw new InvalidArgumentError(`-o/--output must end in .html or .svg, got '${opts.output}'`);
  return { inputs: command.args, output: opts.output, log: opts.log, title: opts.title };
}
