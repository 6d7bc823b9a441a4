/** The report page: which charts there is data for, rendered to SVG, inline in one HTML file. */
import { latencySpec, perfRatioSpec, ratioSpec, renderSvg, throughputSpec, type ChartOptions } from './charts.js';
import type { PlotData } from './data.js';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);
}

/** The charts there is data for, each as [heading, svg]. */
export async function renderCharts(data: PlotData, o: ChartOptions): Promise<[string, string][]> {
  const charts: [string, string][] = [];
  if (data.throughput.length) {
    charts.push(['throughput', await renderSvg(throughputSpec(data.throughput, o))]);
    if (data.throughput.some((p) => p.ratio_to_native !== undefined)) charts.push(['ratios', await renderSvg(ratioSpec(data.throughput, o))]);
    if (data.throughput.some((p) => p.ratio_to_ringbuf !== undefined)) charts.push(['perf-ratios', await renderSvg(perfRatioSpec(data.throughput, o))]);
  }
  if (data.latency.length) charts.push(['latency', await renderSvg(latencySpec(data.latency, o))]);
  return charts;
}

export function htmlPage(title: string, data: PlotData, charts: [string, string][]): string {
  const sections = charts.map(([name, svg]) => `<section id="${name}">\n${svg}\n</section>`).join('\n');
  const sources = data.sources.map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1000px}section{margin:1.5em 0}svg{max-width:100%;height:auto}</style>
</head><body>
<h1>${escapeHtml(title)}</h1>
<p>Generated ${new Date().toISOString()} from:</p><ul>${sources}</ul>
${sections || '<p>No throughput or latency data in the inputs.</p>'}
</body></html>
`;
}
