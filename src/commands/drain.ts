/**
 * bench drain: attach to a ring another program fills and report how a
 * Node.js consumer keeps up with it. A source that is not a ring buffer
 * (missing path, not a BPF object, another map type, a missing map id) is
 * bad input: one line, exit 2; not being allowed to open it, exit 1.
 */
import { OpenRingError } from '../lib/bpf-map.js';
import { runDrain, type DrainConfig, type DrainReport, type Distribution } from '../runners/drain.js';
import { formatSeconds, human } from '../shared/units.js';
import { exitCode, interruptedBy, type CommandContext } from './context.js';

export interface DrainCommandConfig {
  run: DrainConfig;
  json: boolean;
}

export function runDrainCommand(config: DrainCommandConfig, ctx: CommandContext): number {
  let report: DrainReport;
  try {
    report = runDrain(config.run, ctx.stop);
  } catch (err) {
    if (!(err instanceof OpenRingError)) throw err;
    ctx.stderr(`${ctx.name}: ${err.message}\n`);
    // Not allowed to open it is a privilege problem (exit 1, as bench's); anything else is a wrong source.
    return err.code === 'EPERM' || err.code === 'EACCES' ? 1 : 2;
  }
  const interrupted = ctx.stop.requested() ? (ctx.stop.reason() ?? 'a signal') : undefined;
  if (config.json) ctx.stdout(JSON.stringify({ drain: report, ...(interrupted ? { interrupted: { signal: interrupted } } : {}) }, null, 2) + '\n');
  else ctx.stdout(formatDrainText(config.run, report) + (interrupted ? `\n${interruptedBy(ctx.stop)}: the figures above cover the time until the stop` : '') + '\n');
  return exitCode(false, ctx.stop);
}

export function formatDrainText(config: DrainConfig, r: DrainReport): string {
  const source = 'pinned' in config.source ? `pinned at ${config.source.pinned}` : 'mapId' in config.source ? `map id ${config.source.mapId}` : `fd ${config.source.fd}`;
  const commit = r.batch === 1 ? 'consumer position published after every record' : `consumer position published every ${r.batch} records`;
  const s = r.sample_sizes;
  const common = s.most_common.map(([size, count]) => `${size} B ${((100 * count) / Math.max(1, r.events)).toFixed(count === r.events ? 0 : 1)}%`).join(', ');
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const b = r.backlog_bytes;
  const verdict = r.ring_full_seen
    ? `FELL BEHIND: the ring was too full for the largest record at least once (backlog up to ${human(b.max)} of ${human(r.map.ring_size)}), so the producer's reservations may have failed; the kernel counts no drops for you — check the program's own counter`
    : `kept up: the backlog never passed ${pct(r.max_fill)} of the ring${r.max_fill > 0.5 ? ' (but it came within half of full: little headroom)' : ''}`;
  return [
    `drain: map ${r.map.id} "${r.map.name}" (${r.map.type}, ${human(r.map.ring_size)}), ${source}; ${r.mode} mode (${r.mode === 'view' ? 'each sample read in place' : 'each sample copied into a reused buffer'}), ${commit}`,
    `events:   ${r.events} in ${formatSeconds(r.seconds)} (${rate(r.events_per_s, 'events/s')}), ${rate(r.bytes_per_s, 'B/s')} of samples`,
    `samples:  ${sizeLine(s)}${common ? `; most common: ${common}` : ''}`,
    `time:     working ${pct(r.working_seconds / Math.max(r.seconds, 1e-9))} (${formatSeconds(r.working_seconds)}), waiting ${pct(r.waiting_seconds / Math.max(r.seconds, 1e-9))} (${formatSeconds(r.waiting_seconds)}) in ${r.waits} waits (${r.wait_timeouts} timed out)`,
    `backlog:  producer − consumer position over ${b.samples} samples: p50 ${human(b.p50)}, p90 ${human(b.p90)}, p99 ${human(b.p99)}, max ${human(b.max)} (${pct(r.max_fill)} of the ring)`,
    `verdict:  ${verdict}`,
  ].join('\n');
}

function sizeLine(d: Distribution): string {
  if (d.samples === 0) return 'none';
  if (d.min === d.max) return `all ${d.min} B`;
  return `min ${d.min} B, p50 ${d.p50} B, p90 ${d.p90} B, p99 ${d.p99} B, max ${d.max} B, mean ${d.mean.toFixed(1)} B`;
}

function rate(perSecond: number, unit: string): string {
  if (perSecond >= 1e9) return `${(perSecond / 1e9).toFixed(2)} G${unit}`;
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)} M${unit}`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)} k${unit}`;
  return `${perSecond.toFixed(0)} ${unit}`;
}
