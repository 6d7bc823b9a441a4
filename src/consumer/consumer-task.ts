/** What the main thread hands the pipeline's consumer worker, and what it posts back. */
import type { PollStrategy } from '../shared/config.js';
import type { ProducerState } from '../lib/addon.js';
import type { RingMemory } from '../lib/ring-layout.js';
import type { PerfRingMemory } from '../lib/perf-layout.js';
import type { Touch } from '../shared/event.js';
import type { DrainOutcome, LatencySummary } from '../shared/types.js';

/** The modes the pipeline's consumer worker runs: the JavaScript readers and the native reference, of either buffer. */
export const PIPELINE_MODES = ['copy', 'view', 'native', 'perf-copy', 'perf-view', 'perf-native'] as const;
export type PipelineMode = (typeof PIPELINE_MODES)[number];

/** What a perf buffer mode's consumer worker reads: the session's PerfBuffer, as numbers and SharedArrayBuffers. */
export interface PerfTask {
  /** Every CPU's ring (PerfBuffer.rings), for the JavaScript readers. */
  rings: PerfRingMemory[];
  /** libbpf's epoll fd over the rings' fds (PerfBuffer.epollFd): waited on, never closed by the worker. */
  epollFd: number;
  /** PerfBuffer.shareId: the native perf consumer reads the same rings through it. */
  shareId: number;
}

export interface ConsumerTask {
  mode: PipelineMode;
  /** With a perf buffer mode: the perf session's unused one-page ring buffer. */
  ring: RingMemory;
  ringFd: number;
  /** The perf buffer modes' rings. */
  perf?: PerfTask;
  stateFd: number;
  eventSize: number;
  batch: number;
  touch: Touch;
  poll: PollStrategy;
  readTimeoutMs: number;
  producers: number;
  /** The program's counters when this mode's run began. */
  start: ProducerState;
  cpu: number | undefined;
  /** The ControlBlock's buffer. */
  control: SharedArrayBuffer;
  /** The stop signal's waker fd, woken the moment a stop is requested (StopSignal.wakeFd), if it has one. */
  stopWakeFd?: number;
  startTimeoutMs: number;
  /** Render the .hgrm text (ConsumerReport.hgrm); otherwise it is empty. */
  histogram?: boolean;
  /** Publish the events handled so far at each latency batch (the control block's CONSUMED word), for --report-interval. */
  reportProgress?: boolean;
}

export interface ConsumerReport {
  outcome: DrainOutcome;
  /** Checksum expected from the consumed events' (producer, sequence) pairs and the packets. */
  expectedChecksum: string;
  wrongLength: number;
  latency: LatencySummary | null;
  /** The latency distribution in HdrHistogram's .hgrm text format, values in ns; empty unless the task asked for it. */
  hgrm: string;
  /** Clock reading after the last event was handled (process.hrtime ns). */
  lastEventNs: number;
  /** Times the consumer waited in epoll_wait, and how many of those timed out. */
  waits: number;
  timeouts: number;
  /** Why the consumer stopped, when it was not because every event was accounted for. */
  stoppedEarly: string | undefined;
  /** The epoll stall watchdog's finding (src/consumer/watchdog.ts), if any wait broke the --read-timeout bound. */
  stall: string | undefined;
  /**
   * Events left in the ring when a stop's wind-down budget ran out and the
   * drain was cut (0 otherwise); counted from the ring positions after the
   * producers finished.
   */
  unread: number;
}
