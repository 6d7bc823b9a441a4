/**
 * The pipeline's control block on its own, with real worker threads and no
 * kernel: ready / release, stop, failure and the bounds on every wait.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { ControlBlock } from '../src/shared/control.js';

const CONTROL = path.join(__dirname, '..', 'src', 'shared', 'control.js');

/** A worker that reports ready, waits for release, then posts what it saw. */
function startWorker(buffer: SharedArrayBuffer, releaseTimeoutMs: number): { worker: Worker; done: Promise<{ released: boolean; startNs: bigint }> } {
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    const { ControlBlock } = require(${JSON.stringify(CONTROL)});
    const control = new ControlBlock(workerData.buffer);
    control.reportReady();
    const released = control.awaitRelease(workerData.timeout);
    parentPort.postMessage({ released, startNs: control.startNs() });
  `;
  const worker = new Worker(code, { eval: true, workerData: { buffer, timeout: releaseTimeoutMs } });
  const done = new Promise<{ released: boolean; startNs: bigint }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return { worker, done };
}

test('every worker reports ready, then all are released together and see the start time', async () => {
  const control = ControlBlock.create();
  const workers = Array.from({ length: 3 }, () => startWorker(control.buffer, 20_000));
  let early = false;
  for (const w of workers) void w.done.then(() => (early ||= !control.released()));
  assert.equal(await control.waitAllReady(3, 20_000), true);
  assert.equal(control.readyCount, 3);
  const startNs = process.hrtime.bigint();
  control.release(startNs);
  const seen = await Promise.all(workers.map((w) => w.done));
  assert.equal(early, false, 'a worker went ahead before the release');
  for (const s of seen) assert.deepEqual(s, { released: true, startNs });
});

test('waitAllReady gives up after its timeout when a worker is missing', async () => {
  const control = ControlBlock.create();
  const one = startWorker(control.buffer, 20_000);
  const t0 = performance.now();
  assert.equal(await control.waitAllReady(2, 200), false);
  assert.ok(performance.now() - t0 >= 190, 'returned before the timeout');
  control.requestStop();
  assert.deepEqual(await one.done, { released: false, startNs: 0n });
});

test('a failure ends the wait for ready at once, and waiting workers are not released', async () => {
  const control = ControlBlock.create();
  const one = startWorker(control.buffer, 20_000);
  const pending = control.waitAllReady(5, 20_000);
  control.fail();
  const t0 = performance.now();
  assert.equal(await pending, false);
  assert.ok(performance.now() - t0 < 5_000);
  assert.equal((await one.done).released, false);
  assert.equal(control.failed(), true);
  assert.equal(control.stopRequested(), true);
});

test('awaitRelease is bounded: false after its timeout when nobody releases', async () => {
  const control = ControlBlock.create();
  const t0 = performance.now();
  const one = startWorker(control.buffer, 100);
  assert.deepEqual(await one.done, { released: false, startNs: 0n });
  assert.ok(performance.now() - t0 >= 95);
});

test('a stop request cuts a paced wait short', async () => {
  const control = ControlBlock.create();
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    const { ControlBlock } = require(${JSON.stringify(CONTROL)});
    const control = new ControlBlock(workerData);
    control.reportReady();
    const t0 = performance.now();
    const stopped = control.waitForStop(30_000);
    parentPort.postMessage({ stopped, waitedMs: performance.now() - t0 });
  `;
  const worker = new Worker(code, { eval: true, workerData: control.buffer });
  const done = new Promise<{ stopped: boolean; waitedMs: number }>((resolve) => worker.once('message', resolve));
  assert.equal(await control.waitAllReady(1, 20_000), true);
  control.requestStop();
  const { stopped, waitedMs } = await done;
  assert.equal(stopped, true);
  assert.ok(waitedMs < 10_000, `waited ${waitedMs} ms of 30000`);
  assert.equal(control.failed(), false);
});

test('waitForStop without a stop returns false after its timeout; producersDone counts', () => {
  const control = ControlBlock.create();
  assert.equal(control.waitForStop(20), false);
  control.producerDone();
  control.producerDone();
  assert.equal(control.producersDone(), 2);
});
