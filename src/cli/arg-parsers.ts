/**
 * Parsers for flag values. Each throws commander's InvalidArgumentError with a
 * message naming the flag and what it allows; src/bench.ts turns that into one
 * line on stderr and exit code 2, before anything is loaded into the kernel.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InvalidArgumentError } from 'commander';
import { outputProblem } from '../shared/output-file.js';
import { formatMs, human } from '../shared/units.js';

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/**
 * The decimal `digits` ("8.2") times `scale` (1e6), exactly when the result
 * is an integer: 82 * 1e6 / 10, both exact integers, so the one rounding of
 * the division lands on 8200000 (8.2 * 1e6 in floating point is
 * 8199999.999999999, which is not an integer).
 */
export function scaledDecimal(digits: string, scale: number): number {
  const [whole, fraction = ''] = digits.split('.');
  return (Number(whole + fraction) * scale) / 10 ** fraction.length;
}

/** "1.5M" style counts: an integer with an optional k/M (decimal: 1e3, 1e6) suffix. */
export function count(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(value.trim().replace(/_/g, ''));
    const n = m ? scaledDecimal(m[1], m[2] ? (m[2].toLowerCase() === 'k' ? 1e3 : 1e6) : 1) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${flag} must be an integer from ${fmt(min)} to ${fmt(max)}, got '${value}'`);
    return n;
  };
}

/** Byte sizes: an integer with an optional K/M/G (binary) suffix. */
export function bytes(flag: string, min: number, max: number, powerOfTwo = false): (value: string) => number {
  return (value) => {
    // 4096, 4K, 4KiB, 4kb, 64M, 1G; an `i` only after a unit letter.
    const m = /^(\d+)\s*(?:([kKmMgG])i?)?[bB]?$/.exec(value.trim());
    const n = m ? Number(m[1]) * UNITS[(m[2] ?? '').toLowerCase()] : NaN;
    const rule = `${powerOfTwo ? 'a power of two' : 'a size'} from ${human(min)} to ${human(max)}`;
    if (!Number.isSafeInteger(n) || n < min || n > max || (powerOfTwo && (n & (n - 1)) !== 0))
      throw new InvalidArgumentError(`${flag} must be ${rule}, got '${value}'`);
    return n;
  };
}

/**
 * Durations with a unit: 500ms, 5s, 2m, 1h. Returns milliseconds. With
 * `bareMs`, a number without a unit is taken as milliseconds (for flags that
 * were documented in ms); without it a unit is required, so "--duration 10"
 * is not silently read as 10 ms.
 */
export function duration(flag: string, minMs: number, maxMs: number, bareMs = false): (value: string) => number {
  const scale: Record<string, number> = { ms: 1, s: 1e3, m: 60e3, h: 3600e3 };
  return (value) => {
    const m = (bareMs ? /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/ : /^(\d+(?:\.\d+)?)(ms|s|m|h)$/).exec(value.trim());
    const ms = m ? scaledDecimal(m[1], scale[m[2] ?? 'ms']) : NaN;
    if (!Number.isFinite(ms) || ms < minMs || ms > maxMs)
      throw new InvalidArgumentError(
        `${flag} must be a duration ${bareMs ? '(ms, s, m, h; a bare number is ms)' : 'with a unit (ms, s, m, h)'} ` +
          `from ${formatMs(minMs)} to ${formatMs(maxMs)}, got '${value}'`,
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

/** A comma-separated list of choices ("view,perf-view"), each given once; an empty or unknown item is refused. */
export function choiceList<T extends string>(flag: string, allowed: readonly T[]): (value: string) => T[] {
  return (value) => {
    const items = value.split(',').map((item) => item.trim());
    const bad = items.find((item) => !(allowed as readonly string[]).includes(item));
    if (bad !== undefined) throw new InvalidArgumentError(`${flag} must be one of ${allowed.join(', ')}, or a comma-separated list of them, got '${value}'`);
    const twice = items.find((item, i) => items.indexOf(item) !== i);
    if (twice !== undefined) throw new InvalidArgumentError(`${flag} names ${twice} twice, got '${value}'`);
    return items as T[];
  };
}

/**
 * The CPUs this process may run on (its affinity mask, /proc/self/status
 * Cpus_allowed_list, e.g. "0-3,6"): pinning to any other CPU fails in
 * sched_setaffinity() with EINVAL, even when the CPU exists, so these are the
 * ids a CPU flag may name. Falls back to 0..os.cpus().length - 1.
 */
export function allowedCpus(): number[] {
  try {
    const status = fs.readFileSync('/proc/self/status', 'utf8');
    const list = /^Cpus_allowed_list:\s*(\S+)$/m.exec(status)?.[1];
    if (list) return parseCpuRanges(list);
  } catch {
    // not Linux /proc: fall through
  }
  return Array.from({ length: os.cpus().length }, (_, i) => i);
}

/** "0-3,6" -> [0, 1, 2, 3, 6] */
export function parseCpuRanges(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.split(',')) {
    const [lo, hi = lo] = part.split('-').map(Number);
    for (let c = lo; c <= hi; c++) cpus.push(c);
  }
  return cpus;
}

/** One CPU id, which must be in `allowed`. */
export function cpuId(flag: string, allowed: readonly number[]): (value: string) => number {
  return (value) => {
    const id = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
    if (!allowed.includes(id))
      throw new InvalidArgumentError(`${flag} must be a CPU id this process may run on (${rangesText(allowed)}), got '${value}'`);
    return id;
  };
}

/** A comma-separated list of CPU ids, each in `allowed`. */
export function cpuList(flag: string, allowed: readonly number[]): (value: string) => number[] {
  const one = cpuId(flag, allowed);
  return (value) => {
    try {
      return value.split(',').map((v) => one(v));
    } catch {
      throw new InvalidArgumentError(
        `${flag} must be comma-separated CPU ids this process may run on (${rangesText(allowed)}), got '${value}'`,
      );
    }
  };
}

/**
 * An output file flag: the path given must be writable (src/shared/output-file.ts),
 * checked now so a long run does not fail at the end. Flags that write files
 * derived from it (--histogram with several modes) check those with
 * checkOutputFiles once the modes are known.
 */
export function outputFile(flag: string): (value: string) => string {
  return (value) => {
    checkOutputFiles(flag, value, [value]);
    return path.resolve(value);
  };
}

/** Refuses (exit 2) unless every one of `files`, the files `flag value` makes the run write, can be written. */
export function checkOutputFiles(flag: string, value: string, files: readonly string[]): void {
  for (const file of files) {
    const problem = outputProblem(file);
    if (problem)
      throw new InvalidArgumentError(`${flag} must be a writable file path: '${file === value ? value : `${value}' writes '${file}`}' ${problem}`);
  }
}

function rangesText(ids: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ids.length; ) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j] + 1) j++;
    parts.push(j === i ? `${ids[i]}` : `${ids[i]}-${ids[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}
