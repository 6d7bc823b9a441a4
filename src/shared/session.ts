/**
 * One loaded benchmark: the BPF object with its parameters and the buffer's
 * mappings (the ring buffer's, or the perf buffer's per-CPU rings). Opened
 * once per invocation on the main thread; workers receive the fds and the
 * SharedArrayBuffers. close() detaches and frees the program, maps and perf
 * events at once; the mappings go when the last SharedArrayBuffer referring to
 * them is collected.
 */
import { addon, bpfObjectPath, type BpfObject, type BpfObjectOptions, type BufferKind, type PerfBuffer, type PerfWakeup, type ProducerState } from '../lib/addon.js';
import { SUBMIT_FLAGS, wakeupThreshold, type RingConfig, type WakeupMode } from './config.js';
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

/**
 * The Session options for a run's producer side, whatever the buffer: the
 * trigger, the submit mode and the wake-ups, so that each is a choice of its
 * own, orthogonal to the buffer kind.
 *   ring buffer  adaptive/none/force -> submitFlags 0/1/2; threshold:B ->
 *                wakeupThreshold B (FORCE once B bytes wait, else NO_WAKEUP);
 *   perf buffer  adaptive/force -> a wake-up per event (libbpf's default: the
 *                perf buffer has no adaptive mode, and an event-count wake-up
 *                is what libbpf users get); none -> one per perfRingSize bytes
 *                (no earlier wake-up than a full ring); threshold:B -> one per
 *                B bytes written (watermark).
 */
export function sessionOptionsFor(
  config: Pick<RingConfig, 'eventSize' | 'ringSize' | 'trigger' | 'hooks' | 'submit'> & { wakeup?: WakeupMode; buffer?: BufferKind; perfRingSize?: number },
): SessionOptions {
  const wakeup = config.wakeup ?? 'adaptive';
  const threshold = wakeupThreshold(wakeup);
  const options: SessionOptions = { eventSize: config.eventSize, ringSize: config.ringSize, trigger: config.trigger ?? 'test-run', submit: config.submit ?? 'reserve' };
  if (config.hooks) options.hooks = config.hooks;
  if (config.buffer === 'perfbuf') {
    const perfRingSize = config.perfRingSize ?? config.ringSize;
    // --submit chooses the ring buffer's helper; the perf buffer's program always outputs from the stack.
    return { ...options, submit: 'reserve', buffer: 'perfbuf', perfRingSize, perfWakeup: perfWakeupFor(wakeup, perfRingSize) };
  }
  if (threshold !== undefined) return { ...options, wakeupThreshold: threshold };
  return { ...options, submitFlags: SUBMIT_FLAGS[wakeup as keyof typeof SUBMIT_FLAGS] };
}

/**
 * The perf buffer's wake-ups for --wakeup: adaptive and force wake the
 * consumer on every sample (wakeup_events 1, libbpf's perf_buffer__new()
 * default: perf has no "only if the consumer caught up"); none once per ring
 * size of data per CPU (perf has no "never"; --read-timeout bounds the wait, as
 * with BPF_RB_NO_WAKEUP); threshold:B once B bytes are written (watermark).
 */
export function perfWakeupFor(wakeup: WakeupMode, perfRingSize: number): PerfWakeup {
  const threshold = wakeupThreshold(wakeup);
  if (threshold !== undefined) return { bytes: threshold };
  return wakeup === 'none' ? { bytes: perfRingSize } : { events: 1 };
}

/** Where the loaded program runs, known once a session is loaded (the reports' header lines say it). */
export interface LoadedHook {
  /** "test-run (tc, BPF_PROG_TEST_RUN)" or the attached syscall hook, e.g. "tp_btf/sys_enter". */
  hook: string;
  /** Syscall trigger: each hook tried before the attached one, and why it failed. */
  hookFailures: string[];
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
      // Pre-faulted mappings (populate: MADV_POPULATE_READ, stopping early on a stop), so no measured pass pays for page faults.
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

  /** The hook and the ones tried before it, as the runners report them once the session is loaded. */
  get loadedHook(): LoadedHook {
    return { hook: this.object.hook, hookFailures: [...this.object.hookFailures] };
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
