/**
 * One loaded benchmark: the BPF object with its parameters and the buffer's
 * mappings (the ring buffer's, or the perf buffer's per-CPU rings). Opened
 * once per invocation on the main thread; workers receive the fds and the
 * SharedArrayBuffers. close() detaches and frees the program, maps and perf
 * events at once; the mappings go when the last SharedArrayBuffer referring to
 * them is collected.
 */
import { addon, bpfObjectPath, type BpfObject, type BpfObjectOptions, type PerfBuffer, type PerfWakeup, type ProducerState } from '../lib/addon.js';
import { checkEventContract } from './contract.js';
import type { RingMemory } from '../lib/ring-layout.js';
import type { PerfRingMemory } from '../lib/perf-layout.js';
import { MAX_REPEAT } from './test-run.js';
import { ProducerTrigger, type TriggerFds } from './trigger.js';

/** The BPF object's parameters, plus the perf buffer's when buffer is 'perfbuf'. */
export interface SessionOptions extends BpfObjectOptions {
  /**
   * perfbuf: each CPU ring's data area in bytes, a power of two and a multiple
   * of the page size. Default: ringSize, so a producer on one CPU has as much
   * room as in the ring buffer.
   */
  perfRingSize?: number;
  /** perfbuf: wake-ups (default: every event, as libbpf's perf_buffer__new()). */
  perfWakeup?: PerfWakeup;
}

/** Syscalls per native loop in produce(): small enough to notice a stop request soon. */
const SYSCALL_CHUNK = 1 << 20;

export class Session {
  readonly object: BpfObject;
  /** The ring buffer's mappings (with buffer 'perfbuf': the unused one-page ring the program still references). */
  readonly ring: RingMemory;
  /** With buffer 'perfbuf': the per-CPU rings' owner, and the rings as the readers take them. */
  readonly perf: PerfBuffer | undefined;
  readonly perfRings: PerfRingMemory[];

  constructor(readonly options: SessionOptions) {
    checkEventContract();
    const native = addon();
    this.object = new native.BpfObject(bpfObjectPath, options);
    try {
      const pageSize = native.pageSize();
      const ringSize = options.buffer === 'perfbuf' ? pageSize : options.ringSize;
      // MAP_POPULATE pre-faults the mappings, so no measured pass pays for page faults.
      const mapping = new native.RingMapping(this.object.ringFd, ringSize, true);
      this.ring = { consumer: mapping.consumer, producer: mapping.producer, pageSize: mapping.pageSize, size: ringSize };
      if (options.buffer === 'perfbuf') {
        const wakeup = options.perfWakeup ?? { events: 1 };
        this.perf = new native.PerfBuffer(this.object.perfMapFd, {
          pagesPerCpu: (options.perfRingSize ?? options.ringSize) / pageSize,
          wakeupEvents: 'events' in wakeup ? wakeup.events : undefined,
          wakeupBytes: 'bytes' in wakeup ? wakeup.bytes : undefined,
          populate: true,
        });
      }
      this.perfRings = this.perf?.rings.map((r) => ({ cpu: r.cpu, buffer: r.buffer })) ?? [];
    } catch (err) {
      this.object.close();
      throw err;
    }
  }

  /** What runs the program, for the report's header line: the test run, or the syscall hook attached. */
  get hook(): string {
    return this.object.hook;
  }

  /** What a producer thread needs to produce with this session's trigger (ProducerTrigger). */
  get triggerFds(): TriggerFds {
    const o = this.object;
    return { trigger: this.options.trigger ?? 'test-run', progFd: o.progFd, stateFd: o.stateFd, producerThreadsFd: o.producerThreadsFd, producerEventsFd: o.producerEventsFd };
  }

  readState(): ProducerState {
    return addon().readState(this.object.stateFd);
  }

  /** Restarts every producer's sequence at 0 (only while no producer runs). */
  resetState(): void {
    addon().resetState(this.object.stateFd);
  }

  /**
   * Produces `events` events as `producerId` (the id inside `packet`) on the
   * calling thread, with the session's trigger: test runs of at most 2^31 - 1
   * repeats (one cut short by a signal, EINTR, is continued: test-run.ts), or
   * syscalls in loops of SYSCALL_CHUNK. `shouldStop` is asked whenever a run
   * or chunk ends with events still to make. Returns the number of events produced (all of
   * them unless stopped).
   */
  produce(packet: Uint8Array, events: number, producerId = 0, shouldStop: () => boolean = () => false): number {
    const syscall = this.options.trigger === 'syscall';
    const start = this.readState().nextSeq[producerId];
    const producer = new ProducerTrigger(this.triggerFds, producerId, packet);
    try {
      let done = 0;
      while (done < events) {
        done += producer.run(Math.min(events - done, syscall ? SYSCALL_CHUNK : MAX_REPEAT), start + done);
        if (done < events && shouldStop()) break;
      }
      return done;
    } finally {
      producer.close();
    }
  }

  close(): void {
    this.perf?.close();
    this.object.close();
  }
}
