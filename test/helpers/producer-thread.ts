/**
 * Runs a producer on a worker thread of its own (optionally pinned to a CPU),
 * as the pipeline's producer workers do: ProducerTrigger (test-run or the
 * syscall trigger) from fds. With register: false the thread makes the trigger
 * syscall without registering, which must produce nothing.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { addon } from '../../src/lib/addon.js';
import { buildPacket } from '../../src/shared/event.js';
import { ProducerTrigger, type TriggerFds } from '../../src/shared/trigger.js';

export interface ProducerJob {
  fds: TriggerFds;
  producerId: number;
  eventSize: number;
  events: number;
  cpu?: number;
  /** Default true. false: syscalls from an unregistered thread. */
  register?: boolean;
}

export interface ProducerThreadResult {
  done: number;
  tid: number;
}

export function runProducerThread(job: ProducerJob): Promise<ProducerThreadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(__filename, { workerData: { producerJob: job } });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`producer thread exited with ${code}`)));
  });
}

function work(job: ProducerJob): ProducerThreadResult {
  const native = addon();
  if (job.cpu !== undefined) native.setAffinity(job.cpu);
  const tid = native.gettid();
  if (job.register === false) return { done: native.syscallLoop(job.events), tid };
  const seq = native.readState(job.fds.stateFd).nextSeq[job.producerId];
  const trigger = new ProducerTrigger(job.fds, job.producerId, buildPacket(job.producerId, job.eventSize));
  try {
    let done = 0;
    while (done < job.events) done += trigger.run(Math.min(job.events - done, 100_000), seq + done);
    return { done, tid };
  } finally {
    trigger.close();
  }
}

if (!isMainThread && (workerData as { producerJob?: ProducerJob })?.producerJob)
  parentPort?.postMessage(work((workerData as { producerJob: ProducerJob }).producerJob));
