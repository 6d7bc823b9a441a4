/** How sizes and times are written for people, the same in every report and error message. */

/** 512 MiB, 4 KiB, 1.5 MiB, 100 B. */
export function human(n: number): string {
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const)
    if (n >= size) return n % size === 0 ? `${n / size} ${unit}` : `${(n / size).toFixed(1)} ${unit}`;
  return `${n} B`;
}

/** 1h, 2m, 5s, 250ms: the largest unit that divides the value. */
export function formatMs(ms: number): string {
  if (ms >= 3600e3 && ms % 3600e3 === 0) return `${ms / 3600e3}h`;
  if (ms >= 60e3 && ms % 60e3 === 0) return `${ms / 60e3}m`;
  if (ms >= 1e3 && ms % 1e3 === 0) return `${ms / 1e3}s`;
  return `${ms}ms`;
}

/** A latency in ns as µs or ms. */
export function formatNs(ns: number): string {
  return ns >= 1e6 ? `${(ns / 1e6).toFixed(2)}ms` : `${(ns / 1e3).toFixed(1)}µs`;
}

/** A run's duration: 278.607ms, 1.234s. */
export function formatSeconds(s: number): string {
  return s >= 1 ? `${s.toFixed(3)}s` : `${(s * 1e3).toFixed(3)}ms`;
}

/** Elapsed time as 3m07s. */
export function formatClock(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = Math.floor(seconds % 60);
  return `${m}m${String(s).padStart(2, '0')}s`;
}
