/**
 * The process limits a run can hit before it measures anything, checked up
 * front so that it fails with one line of advice instead of deep inside libbpf
 * or V8:
 *
 *  - open files (ulimit -n): the BPF object, the native consumers' epoll fds
 *    and every worker thread (its event loop) need descriptors. Short of them,
 *    libbpf's feature probes fail and bpf_object__load() reports EINVAL, and a
 *    worker that cannot start is an unhandled EMFILE inside piscina.
 *  - address space (ulimit -v): each ring is mapped twice back to back (and
 *    once more per native consumer), and each worker thread's V8 isolate
 *    reserves its code range up front; a reservation V8 cannot make is a fatal
 *    abort, not an exception.
 *
 * The estimates are measured on Node 20 / x86-64 (the smallest limit each
 * configuration ran under, with a little margin): a worker thread takes 4
 * descriptors and about 600 MiB of address space, the pipeline's thread pool
 * about 800 MiB more, the BPF load and the native consumers up to 7
 * descriptors. limitAdvice() covers what still goes wrong at run time.
 */
import * as fs from 'node:fs';
import { onlineCpus } from '../lib/perf-layout.js';
import { perfRingSizeFor, type RingConfig } from '../shared/config.js';
import { bufferOf, type ModeName } from '../shared/types.js';
import { human } from '../shared/units.js';

/** What a run asks of the process, from its config. */
export interface Resources {
  /** Worker threads it starts (producers + consumer). */
  threads: number;
  /** Bytes of ring mappings alive at once. */
  mappedBytes: number;
  /** Descriptors beyond the BPF object's and the threads': the perf buffer's events and epoll fd (perfFds). */
  fds?: number;
}

/** The perf buffer's descriptors: one perf event per CPU, and libbpf's epoll fd; none without a perf mode. */
export function perfFds(modes: readonly string[], cpus = onlineCpus().length): number {
  return modes.some((m) => m.startsWith('perf-')) ? cpus + 1 : 0;
}

/**
 * The mappings of one ring: the reader's (consumer page, producer page, data
 * twice) and one more of the same per native (libbpf) consumer mode.
 */
export function ringMappingBytes(ringSize: number, modes: readonly string[]): number {
  const natives = modes.filter((m) => m.startsWith('native')).length;
  return (2 * ringSize + 2 * 4096) * (1 + natives);
}

/**
 * The perf buffer's mappings: each CPU's ring (metadata page + data, mapped
 * once) mapped by libbpf (perf_buffer__new_raw) and again for JavaScript,
 * whatever the modes; none without a perf mode.
 */
export function perfMappingBytes(perfRingSize: number, modes: readonly string[], cpus = onlineCpus().length): number {
  return modes.some((m) => m.startsWith('perf-')) ? 2 * cpus * (perfRingSize + 4096) : 0;
}

/** Every mapping a run of these modes holds at once (both sessions may be loaded together). */
export function mappingBytes(config: Pick<RingConfig, 'ringSize' | 'perfRingSize'>, modes: readonly ModeName[]): number {
  const ring = modes.filter((m) => bufferOf(m) === 'ringbuf');
  return (ring.length ? ringMappingBytes(config.ringSize, ring) : 0) + perfMappingBytes(perfRingSizeFor(config), modes);
}

const MIB = 1024 ** 2;
const FDS_BASE = 7;
const FDS_PER_THREAD = 4;
const AS_BASE = 128 * MIB;
const AS_POOL = 800 * MIB;
const AS_PER_THREAD = 600 * MIB;
/** Room for V8's heap and libbpf next to the mappings themselves. */
const AS_MAPPING_FACTOR = 1.5;

/** This process's soft limit as /proc/self/limits shows it: a number, or Infinity for "unlimited". */
export function softLimit(name: 'Max open files' | 'Max address space' | 'Max processes'): number {
  try {
    const m = new RegExp(`^${name}\\s+(\\S+)`, 'm').exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    return !m || m[1] === 'unlimited' ? Infinity : Number(m[1]);
  } catch {
    return Infinity;
  }
}

function openFds(): number {
  try {
    return fs.readdirSync('/proc/self/fd').length - 1; // the directory's own fd
  } catch {
    return 0;
  }
}

function addressSpaceInUse(): number {
  try {
    const m = /^VmSize:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Why this run would not fit the process's limits, or undefined when it does. */
export function resourceShortfall(needs: Resources): string | undefined {
  const what = needs.threads ? `${needs.threads} worker thread(s)` : 'the BPF object';
  const fdLimit = softLimit('Max open files');
  const fds = openFds() + FDS_BASE + FDS_PER_THREAD * needs.threads + (needs.fds ?? 0);
  if (fds > fdLimit)
    return `this run (${what}) needs about ${fds} file descriptors, but the limit is ${fdLimit}: raise it with ulimit -n (e.g. ulimit -n 1024)`;
  const asLimit = softLimit('Max address space');
  if (Number.isFinite(asLimit)) {
    const threads = needs.threads ? AS_POOL + AS_PER_THREAD * needs.threads : 0;
    const bytes = addressSpaceInUse() + AS_BASE + AS_MAPPING_FACTOR * needs.mappedBytes + threads;
    if (bytes > asLimit)
      return (
        `this run (${what}, ${human(needs.mappedBytes)} of ring mappings) needs about ${human(Math.ceil(bytes / MIB) * MIB)} of address space, ` +
        `but ulimit -v allows ${human(asLimit)}: raise it (ulimit -v unlimited)${needs.mappedBytes > 64 * MIB ? ' or use a smaller --ring-size' : ''}`
      );
  }
  return undefined;
}

/** Advice for a run-time error a process limit explains, or undefined. */
export function limitAdvice(err: { code?: string; message?: string; syscall?: string }): string | undefined {
  const text = `${err.code ?? ''} ${err.message ?? ''}`;
  // dlopen() says it in words ("libz.so.1: cannot open shared object file: Too many open files").
  if (/\bE[MN]FILE\b|Too many open files/i.test(text)) return `too many open files: raise the limit (ulimit -n, now ${softLimit('Max open files')})`;
  const asLimit = softLimit('Max address space');
  if (/\bEAGAIN\b/.test(text) && /pthread_create|[Ww]orker|thread/.test(text))
    return (
      'could not start a thread: ' +
      (Number.isFinite(asLimit) ? `the address-space limit (ulimit -v, now ${human(asLimit)}) may be too low for its stack; ` : '') +
      `check ulimit -u (now ${softLimit('Max processes')}) and the system's thread limit`
    );
  if (/\bENOMEM\b/.test(text) && Number.isFinite(asLimit)) return `out of address space: ulimit -v allows ${human(asLimit)}; raise it (ulimit -v unlimited)`;
  return undefined;
}
