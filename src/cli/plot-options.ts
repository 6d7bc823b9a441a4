/** The plot command's arguments: input files, the output and its format, validated before anything is read. */
import * as path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { plotOutputs, type PlotConfig } from '../commands/plot/index.js';
import { makeDirectory } from '../shared/output-file.js';
import { checkOutputFiles } from './arg-parsers.js';
import { parseCommand } from './parse.js';

export function buildPlotCommand(): Command {
  return new Command('plot')
    .description('Render sweep/run results and latency histograms to a self-contained HTML report (or SVG).')
    .argument('<inputs...>', 'sweep.json, bench --json output, .hgrm files (label=file.hgrm to name a series)')
    .addOption(new Option('-o, --output <file>', 'report.html, or name.svg for one SVG per chart (name-throughput.svg, ...)').default('report.html'))
    .addOption(new Option('--log', 'log scales for Mevents/s and event size').default(false))
    .addOption(new Option('--title <text>', 'page title').default('bpf-ringbuf-bench report'));
}

export function parsePlotArgs(argv: string[]): PlotConfig {
  const command = parseCommand(buildPlotCommand(), argv);
  const opts = command.opts<{ output: string; log: boolean; title: string }>();
  if (!/\.(html?|svg)$/i.test(opts.output))
    throw new InvalidArgumentError(`-o/--output must end in .html or .svg, got '${opts.output}'`);
  if (/\.svg$/i.test(opts.output) && command.getOptionValueSource('title') === 'cli')
    throw new InvalidArgumentError('--title names the HTML report; with -o NAME.svg there is no page to name (leave --title out, or write .html)');
  // The folder is made now (as the report would be written), and every file -o will write must be writable.
  const folder = makeDirectory(path.dirname(path.resolve(opts.output)));
  if (folder) throw new InvalidArgumentError(`-o/--output must be a writable file path: ${folder}`);
  checkOutputFiles('-o/--output', opts.output, plotOutputs(opts.output));
  return { inputs: command.args, output: opts.output, log: opts.log, title: opts.title };
}
