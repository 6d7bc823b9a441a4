/**
 * One loaded benchmark: the BPF object with its parameters and the ring
 * mapping. Opened once per invocation on the main thread; workers receive the
 * fds and the SharedArrayBuffers. close() frees the program and maps at once;
 * the mappings go when the last SharedArrayBuffer referring to them is collected.
 */
import { addon, bpfObjectPath, type BpfObject, type BpfObjectOptions, type ProducerState } from '../lib/addon.js';
import { checkEventContract } from './contract.js';
import type { RingMemory } from '../lib/ring-layout.js';
import { countedTestRun, MAX_REPEAT } from './test-run.js';

/** A session is loaded with exactly the BPF object's parameters. */
export type SessionOptions = BpfObjectOptions;

export class Session {
  readonly object: BpfObject;
  readonly ring: RingMemory;

  constructor(readonly options: SessionOptions) {
    checkEventContract();
    const native = addon();
    this.object = new native.BpfObject(bpfObjectPath, options);
    try {
      // MAP_POPULATE pre-faults both mappings, so no measured pass pays for page faults.
      const mapping = new native.RingMapping(this.object.ringFd, options.ringSize, true);
      this.ring = { consumer: mapping.consumer, producer: mapping.producer, pageSize: mapping.pageSize, size: options.ringSize };
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
   * runs of at most 2^31 - 1 repeats; a run cut short by a signal (EINTR,
   * test-run.ts) is continued. `shouldStop` is asked after each interruption.
   * Returns the number of events produced (all of them unless stopped).
   */
  produce(packet: Uint8Array, events: number, producerId = 0, shouldStop: () => boolean = () => false): number {
    const { progFd, stateFd } = this.object;
    const start = this.readState().nextSeq[producerId];
    let done = 0;
    while (done < events) {
      done += countedTestRun(progFd, stateFd, producerId, packet, Math.min(events - done, MAX_REPEAT), start + done);
      if (done < events && shouldStop()) break;
    }
    return done;
  }

  close(): void {
    this.object.close();
  }
}
