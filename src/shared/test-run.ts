/**
 * One BPF_PROG_TEST_RUN, counted. The kernel ends a test run early with EINTR
 * when a signal is pending (a profiler's SIGPROF, a Ctrl-C), after some of the
 * repeats ran; it does not say how many, but the program's own per-producer
 * sequence counter does. Used by the prefill fill (session.ts) and by the
 * pipeline's producer workers, which hold only fds.
 */
import { addon } from '../lib/addon.js';

/** BPF_PROG_TEST_RUN's repeat is an int. */
export const MAX_REPEAT = 0x7fffffff;

/**
 * Runs the program `repeat` times as `producerId` (the id inside `packet`),
 * whose next sequence number was `seqBefore`; returns how many runs happened.
 */
export function countedTestRun(
  progFd: number,
  stateFd: number,
  producerId: number,
  packet: Uint8Array,
  repeat: number,
  seqBefore: number,
): number {
  const native = addon();
  try {
    native.testRun(progFd, packet, repeat);
    return repeat;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EINTR') throw err;
    return native.readState(stateFd).nextSeq[producerId] - seqBefore;
  }
}
