/** What the main thread hands each producer worker, and what it reports back. */
import type { Trigger } from '../lib/addon.js';

export interface ProducerTask {
  /** Producer id: goes into the packet, so the program keeps a separate sequence for it. */
  id: number;
  producers: number;
  progFd: number;
  /** The program's counters, to learn how much of an interrupted test run ran. */
  stateFd: number;
  /** What runs the program (default test-run). With syscall, the worker's thread registers itself and makes syscalls. */
  trigger?: Trigger;
  /** Syscall trigger: the BpfObject's producerThreadsFd and producerEventsFd (Session.triggerFds). */
  producerThreadsFd?: number;
  producerEventsFd?: number;
  eventSize: number;
  /** Events per BPF_PROG_TEST_RUN, or syscalls per native loop. */
  chunk: number;
  /** This producer's share of -n; undefined: until the duration ends. */
  events: number | undefined;
  durationMs: number | undefined;
  /** Total events per second over all producers; undefined: flat out. */
  rate: number | undefined;
  cpu: number | undefined;
  /** The ControlBlock's buffer. */
  control: SharedArrayBuffer;
  /** Longest wait for the release after reporting ready. */
  startTimeoutMs: number;
}

export interface ProducerReport {
  id: number;
  /** Events this producer asked the program to make (the program's counters are authoritative). */
  events: number;
  chunks: number;
  /** When its last test run returned, ns on the process.hrtime clock. */
  finishedNs: number;
  /** With --rate: the latest any chunk started after its intended start, ns (0 without --rate). */
  maxLatenessNs: number;
}
