/**
 * One loaded benchmark: the BPF object with its parameters and the ring
 * mapping. Opened once per invocation on the main thread; workers receive the
 * fds and the SharedArrayBuffers. close() frees the program and maps at once;
 * the mappings go when the last SharedArrayBuffer referring to them is collected.
 */
import { addon, bpfObjectPath, type BpfObject, type BpfObjectOptions, type ProducerState } from './native.js';
import type { RingMemory } from './ring-layout.js';

/** A session is loaded with exactly the BPF object's parameters. */
export type SessionOptions = BpfObjectOptions;

export class Session {
  readonly object: BpfObject;
  readonly ring: RingMemory;

  constructor(readonly options: SessionOptions) {
    const native = addon();
    this.object = new native.BpfObject(bpfObjectPath, options);
    try {
      // MAP_POPULATE pre-faults both mappings, so no measured pass pays for page faults.
      const mapping = native.mapRing(this.object.ringFd, options.ringSize, true);
      this.ring = { ...mapping, size: options.ringSize };
    } catch (err) {
      this.object.close();
      throw err;
    }
  }

  readState(): ProducerState {
    return addon().readState(this.object.stateFd);
  }

  /** Restarts every producer's sequence at 0 (only while no producer runs). */
  resetState(): void {
    addon().resetState(this.object.stateFd);
  }

  /**
   * Produces `events` events as `producerId` (the id inside `packet`), in test
   * runs of at most 2^31 - 1 repeats. The kernel ends a test run early with
   * EINTR when a signal is pending (a profiler's SIGPROF, a Ctrl-C), after
   * some of the repeats ran; the program's own sequence counter says how many,
   * so the rest is run again. `shouldStop` is asked after each interruption.
   * Returns the number of events produced (all of them unless stopped).
   */
  produce(packet: Uint8Array, events: number, producerId = 0, shouldStop: () => boolean = () => false): number {
    const native = addon();
    const start = this.readState().nextSeq[producerId];
    let done = 0;
    while (done < events) {
      try {
        native.testRun(this.object.progFd, packet, Math.min(events - done, 0x7fffffff));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EINTR') throw err;
      }
      done = this.readState().nextSeq[producerId] - start;
      if (done < events && shouldStop()) break;
    }
    return done;
  }

  close(): void {
    this.object.close();
  }
}
