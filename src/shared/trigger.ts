/**
 * A producer's side of either trigger, for the prefill fill (session.ts) and
 * the pipeline's producer workers, which hold only fds:
 *   test-run  BPF_PROG_TEST_RUN of the tc program with the producer's packet
 *             (counted: test-run.ts);
 *   syscall   the calling thread registered as the producer (its tid and
 *             payload template, from the same packet, so the events are
 *             byte-identical to test-run ones), then the trigger syscall made
 *             in a native loop; the attached hook makes one event per call.
 * Make it on the thread that will produce; close() unregisters that thread.
 */
import { addon, type Trigger } from '../lib/addon.js';
import { countedTestRun } from './test-run.js';

/** The fds a producer needs, from a BpfObject (Session.triggerFds). */
export interface TriggerFds {
  trigger: Trigger;
  progFd: number;
  stateFd: number;
  producerThreadsFd: number;
  producerEventsFd: number;
}

export class ProducerTrigger {
  private registered = false;

  /**
   * `stop`: a word (Int32Array of one element over a SharedArrayBuffer, the
   * control block's STOP) that ends a syscall loop early when set; the
   * process's SIGINT/SIGTERM end it in any case. Test runs are ended by a
   * signal to the thread instead (EINTR: ControlBlock.requestStop).
   */
  constructor(
    private readonly fds: TriggerFds,
    readonly producerId: number,
    private readonly packet: Uint8Array,
    private readonly stop?: Int32Array,
  ) {
    if (fds.trigger === 'syscall') {
      addon().registerSyscallProducer(fds.producerThreadsFd, fds.producerEventsFd, producerId, packet);
      this.registered = true;
    }
  }

  /**
   * Produces `count` events (at most MAX_REPEAT for test-run); `seqBefore` is
   * the producer's next sequence number. Returns how many ran: all of them,
   * unless a signal cut a test run short (test-run.ts), or a stop or
   * `deadlineNs` (process.hrtime ns; syscall trigger only) ended the syscall
   * loop early.
   */
  run(count: number, seqBefore: number, deadlineNs?: number): number {
    if (this.fds.trigger === 'syscall') return addon().syscallLoop(count, this.stop, deadlineNs);
    return countedTestRun(this.fds.progFd, this.fds.stateFd, this.producerId, this.packet, count, seqBefore);
  }

  /** The calling thread's syscalls stop making events. */
  close(): void {
    if (this.registered) addon().unregisterSyscallProducer(this.fds.producerThreadsFd);
    this.registered = false;
  }
}
