import type { NativeDrainResult } from '../lib/addon.js';

/** Names and shapes shared by the consumers, the runners and the reports (results: results.ts). */

/**
 * How a consumer reads records: copied into a buffer, in place, by the native
 * C++ reference (in place or with a memcpy), or through the usual Node
 * binding (a JavaScript callback per event).
 */
export type ModeName = 'copy' | 'view' | 'native' | 'native-copy' | 'callback';

export const MODE_LABELS: Record<ModeName, string> = {
  copy: 'read-into (copy)',
  view: 'read-view (zero-copy)',
  native: 'native libbpf (in place)',
  'native-copy': 'native libbpf (memcpy)',
  callback: 'N-API callback per event',
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
