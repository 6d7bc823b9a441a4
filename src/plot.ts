#!/usr/bin/env node
/**
 * bpf-ringbuf-plot: a self-contained report from sweep and run results.
 *   node dist/plot.js results/sweep.json [run.json] [view.hgrm | label=file.hgrm ...] -o report.html [--log]
 * Exit 2 on bad arguments, 1 if an input cannot be read.
 */
import { main } from './cli/main.js';
import { parsePlotArgs } from './cli/plot-options.js';
import { runPlotCommand } from './commands/plot/index.js';

main({ name: 'plot', parse: parsePlotArgs, preflight: () => undefined, windsDown: false, run: runPlotCommand });
