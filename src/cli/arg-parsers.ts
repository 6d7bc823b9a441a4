/**
 * Parsers for flag values. Each throws commander's InvalidArgumentError with a
 * message naming the flag and what it allows; src/bench.ts turns that into one
 * line on stderr and exit code 2, before anything is loaded into the kernel.
 */
import { InvalidArgumentError } from 'commander';

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** "1.5M" style counts: an integer with an optional k/M (decimal: 1e3, 1e6) suffix. */
export function count(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(value.trim().replace(/_/g, ''));
    const n = m ? Number(m[1]) * (m[2] ? (m[2].toLowerCase() === 'k' ? 1e3 : 1e6) : 1) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${flag} must be an integer from ${fmt(min)} to ${fmt(max)}, got '${value}'`);
    return n;
  };
}

/** Byte sizes: an integer with an optional K/M/G (binary) suffix. */
export function bytes(flag: string, min: number, max: number, powerOfTwo = false): (value: string) => number {
  return (value) => {
    const m = /^(\d+)\s*([kKmMgG]?)i?[bB]?$/.exec(value.trim());
    const n = m ? Number(m[1]) * UNITS[m[2].toLowerCase()] : NaN;
    const rule = `${powerOfTwo ? 'a power of two' : 'a size'} from ${human(min)} to ${human(max)}`;
    if (!Number.isSafeInteger(n) || n < min || n > max || (powerOfTwo && (n & (n - 1)) !== 0))
      throw new InvalidArgumentError(`${flag} must be ${rule}, got '${value}'`);
    return n;
  };
}

/** Durations with a unit: 500ms, 5s, 2m, 1h. Returns milliseconds. */
export function duration(flag: string, minMs: number, maxMs: number): (value: string) => number {
  const scale: Record<string, number> = { ms: 1, s: 1e3, m: 60e3, h: 3600e3 };
  return (value) => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value.trim());
    const ms = m ? Number(m[1]) * scale[m[2]] : NaN;
    if (!Number.isFinite(ms) || ms < minMs || ms > maxMs)
      throw new InvalidArgumentError(
        `${flag} must be a duration with a unit (ms, s, m, h) from ${fmtMs(minMs)} to ${fmtMs(maxMs)}, got '${value}'`,
      );
    return ms;
  };
}

export function choice<T extends string>(flag: string, allowed: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(allowed as readonly string[]).includes(value))
      throw new InvalidArgumentError(`${flag} must be one of ${allowed.join(', ')}, got '${value}'`);
    return value as T;
  };
}

/** A comma-separated list of CPU ids, each below `cpuCount`. */
export function cpuList(flag: string, cpuCount: number): (value: string) => number[] {
  const one = count(flag, 0, cpuCount - 1);
  return (value) => {
    try {
      return value.split(',').map((v) => one(v));
    } catch {
      throw new InvalidArgumentError(
        `${flag} must be CPU ids from 0 to ${cpuCount - 1} (comma-separated), got '${value}'`,
      );
    }
  };
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

export function human(n: number): string {
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const)
    if (n >= size) return n % size === 0 ? `${n / size} ${unit}` : `${(n / size).toFixed(1)} ${unit}`;
  return `${n} B`;
}

function fmtMs(ms: number): string {
  if (ms >= 3600e3 && ms % 3600e3 === 0) return `${ms / 3600e3}h`;
  if (ms >= 60e3 && ms % 60e3 === 0) return `${ms / 60e3}m`;
  if (ms >= 1e3 && ms % 1e3 === 0) return `${ms / 1e3}s`;
  return `${ms}ms`;
}
