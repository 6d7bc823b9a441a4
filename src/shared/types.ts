import type { NativeDrainResult } from '../lib/addon.js';

/** Names and shapes shared by the consumers, the runners and the reports (results: results.ts). */
import type { BufferKind } from '../lib/addon.js';

/**
 * How a consumer reads records: copied into a buffer, in place, by the native
 * C++ reference (in place or with a memcpy), or through the usual Node
 * binding (a JavaScript callback per event); from the BPF ring buffer, or —
 * the perf- modes — from the perf buffer's per-CPU rings, the same ways.
 */
export type ModeName = 'copy' | 'view' | 'native' | 'native-copy' | 'callback' | 'perf-copy' | 'perf-view' | 'perf-native' | 'perf-native-copy';

export const MODE_LABELS: Record<ModeName, string> = {
  copy: 'read-into (copy)',
  view: 'read-view (zero-copy)',
  native: 'native libbpf (in place)',
  'native-copy': 'native libbpf (memcpy)',
  callback: 'N-API callback per event',
  'perf-copy': 'perfbuf read-into (copy)',
  'perf-view': 'perfbuf read-view (zero-copy)',
  'perf-native': 'perfbuf native libbpf (in place)',
  'perf-native-copy': 'perfbuf native libbpf (memcpy)',
};

/** The ring buffer's modes and the perf buffer's, in report order. */
export const RINGBUF_MODES: readonly ModeName[] = ['copy', 'view', 'native', 'native-copy', 'callback'];
export const PERFBUF_MODES: readonly ModeName[] = ['perf-copy', 'perf-view', 'perf-native', 'perf-native-copy'];

/** The buffer a mode reads: a Session has one, so a run of both kinds loads one of each. */
export function bufferOf(mode: ModeName): BufferKind {
  return mode.startsWith('perf-') ? 'perfbuf' : 'ringbuf';
}

/** The two buffer kinds, the ring buffer first. */
export const BUFFER_KINDS: readonly BufferKind[] = ['ringbuf', 'perfbuf'];

/** Whether any of these modes reads `buffer`. */
export function readsBuffer(modes: readonly ModeName[], buffer: BufferKind): boolean {
  return modes.some((m) => bufferOf(m) === buffer);
}

/** The buffer kinds these modes read, ringbuf first. */
export function buffersOf(modes: readonly ModeName[]): BufferKind[] {
  return BUFFER_KINDS.filter((b) => readsBuffer(modes, b));
}

/** Each perf buffer mode's ring buffer counterpart: the same reading, from the other buffer. */
export const RINGBUF_COUNTERPART: Partial<Record<ModeName, ModeName>> = {
  'perf-copy': 'copy',
  'perf-view': 'view',
  'perf-native': 'native',
  'perf-native-copy': 'native-copy',
};

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/**
 * What a drain saw, before it is checked against the program's counters: the
 * same fields every consumer reports, JavaScript or native (NativeDrainResult).
 */
export interface DrainOutcome extends NativeDrainResult {
  /**
   * Perf buffer only: samples the kernel reported lost (PERF_RECORD_LOST counts). The program counts
   * each as a drop too, so once the kernel has written its lost records they equal the drops.
   */
  lost?: number;
}
