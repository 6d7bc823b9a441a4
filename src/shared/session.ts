/**
 * One loaded benchmark: the BPF object with its parameters and the ring
 * mapping. Opened once per invocation on the main thread; workers receive the
 * fds and the SharedArrayBuffers. close() frees the program and maps at once;
 * the mappings go when the last SharedArrayBuffer referring to them is collected.
 */
import { addon, bpfObjectPath, type BpfObject, type ProducerState } from './native.js';
import type { RingMemory } from './ring-layout.js';

export interface SessionOptions {
  eventSize: number;
  ringSize: number;
  submitFlags?: number;
  discardEvery?: number;
}

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

  /** Runs the program `events` times with `packet`, in test runs of at most 2^31 - 1 repeats. */
  produce(packet: Uint8Array, events: number): void {
    const native = addon();
    for (let left = events; left > 0; ) {
      const repeat = Math.min(left, 0x7fffffff);
      native.testRun(this.object.progFd, packet, repeat);
      left -= repeat;
    }
  }

  close(): void {
    this.object.close();
  }
}
