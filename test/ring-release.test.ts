/**
 * close() releases the kernel's ring now, not when the garbage collector gets
 * to the buffers: the mappings go (no anon_inode:bpf-map entry left in
 * /proc/self/maps) and, once nothing else holds the map, its id is gone. The
 * control shows why this needs doing: a mapping alone keeps a map alive with
 * every fd closed. And views JavaScript still holds after close() never crash
 * the process: they read a frozen, empty ring.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { addon, bpfObjectPath } from '../src/lib/addon.js';
import { EMPTY, mapInfo, openRing } from '../src/lib/index.js';
import { buildPacket } from '../src/shared/event.js';
import { bpffsSkip } from './helpers/bpffs.js';
import { kernelSkip } from './helpers/kernel.js';
import { ProducerProcess } from './helpers/producer-process.js';

const skip = kernelSkip || bpffsSkip();
const INDEX = path.resolve(__dirname, '..', 'src', 'lib', 'index.js');

function bpfMapMappings(): number {
  return fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((line) => line.includes('anon_inode:bpf-map')).length;
}

function mapExists(id: number): boolean {
  const native = addon();
  try {
    native.closeFd(native.mapOpenById(id));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Checks the map exists for all of `ms` (a program's reference goes after an RCU grace period, so wait that out). */
async function stillThereAfter(id: number, ms: number): Promise<void> {
  for (const end = performance.now() + ms; performance.now() < end; ) {
    assert.ok(mapExists(id), 'the map is alive');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Milliseconds until the map id is gone (at most 3 s, the bound the signal tests allow for RCU). */
async function goneWithin(id: number): Promise<number> {
  const start = performance.now();
  while (mapExists(id)) {
    assert.ok(performance.now() - start < 3000, `map ${id} still exists 3 s later`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return performance.now() - start;
}

test('control: with every fd closed, a mapping alone keeps the map alive; release() frees it', { skip: kernelSkip, timeout: 30_000 }, async () => {
  const native = addon();
  const before = bpfMapMappings();
  const object = new native.BpfObject(bpfObjectPath, { eventSize: 64, ringSize: 1 << 20 });
  const id = mapInfo(object.ringFd).id;
  const mapping = new native.RingMapping(object.ringFd, 1 << 20, false);
  native.testRun(object.progFd, buildPacket(0, 64), 100);
  object.close(); // program and map fds closed
  assert.equal(bpfMapMappings(), before + 2);
  await stillThereAfter(id, 2000);
  mapping.release();
  assert.equal(mapping.released, true);
  assert.equal(bpfMapMappings(), before, 'no bpf-map mapping left');
  const ms = await goneWithin(id);
  console.log(`# map ${id} gone ${ms.toFixed(1)} ms after release()`);
  assert.equal(new BigUint64Array(mapping.producer, 0, 1)[0], 0n, 'the producer position froze at the consumer position (nothing consumed)');
});

let fixture: ProducerProcess;
before(async () => {
  if (!skip) fixture = await ProducerProcess.start({ ringSize: 1 << 20 });
});
after(async () => {
  await fixture?.stop();
});

test('close() releases the map: the producer process is gone, the ring was the last holder, its id goes with close()', { skip, timeout: 30_000 }, async () => {
  await fixture.produce(100);
  const before = bpfMapMappings();
  const ring = openRing({ mapId: fixture.mapId });
  assert.equal(bpfMapMappings(), before + 2);
  let read = 0;
  while (ring.peek() >= 0) {
    ring.consume();
    read++;
  }
  assert.equal(read, 100);
  await fixture.stop(); // unpins and exits: the program and its fds are gone
  fixture = await ProducerProcess.start({ ringSize: 1 << 20 }); // (for the next test)
  await stillThereAfter(ring.info.id, 1500);
  ring.close();
  assert.equal(bpfMapMappings(), before, 'both mappings gone at close()');
  const ms = await goneWithin(ring.info.id);
  console.log(`# map ${ring.info.id} gone ${ms.toFixed(1)} ms after close()`);
});

test('views held after close() read a frozen, empty ring and never crash the process', { skip, timeout: 30_000 }, async () => {
  await fixture.produce(50);
  // In a child, so that a fault would show as a signal rather than take the test runner down.
  const script = `
    const { openRing, EMPTY } = require(${JSON.stringify(INDEX)});
    const out = {};
    // A reader closed with records left: its stale reads walk zeros (zero-length records), harmlessly.
    let ring = openRing({ pinned: ${JSON.stringify(fixture.pin)} });
    const left = ring.reader;
    for (let i = 0; i < 25; i++) { left.peek(); left.consume(); }
    ring.close();
    let zeroLength = 0; for (let i = 0; i < 1000; i++) { const len = left.peek(); if (len !== 0) break; zeroLength++; left.consume(); }
    out.zeroLengthRecords = zeroLength;
    // A reader that caught up: the stale reader finds the ring empty.
    ring = openRing({ pinned: ${JSON.stringify(fixture.pin)} });
    const reader = ring.reader, memory = ring.memory, bytes = ring.bytes;
    let n = 0; while (reader.peek() >= 0) { reader.consume(); n++; }
    const position = ring.position;
    ring.close();
    out.read = n;
    out.stalePeek = reader.peek();
    const producer = new BigUint64Array(memory.producer, 0, 1), consumer = new BigUint64Array(memory.consumer, 0, 1);
    out.positions = [Number(Atomics.load(producer, 0)), Number(Atomics.load(consumer, 0)), position];
    let nonZero = 0; for (let i = 8; i < bytes.length; i += 64) nonZero += bytes[i] !== 0;
    out.nonZeroData = nonZero;
    Atomics.store(consumer, 0, 12345n);
    out.consumerWrite = Number(consumer[0]);
    console.log(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.ok(out.zeroLengthRecords > 0, 'the first stale reader read zeros');
  assert.equal(out.read, 25, 'the first close() published its 25: the second reader got the other 25');
  assert.equal(out.stalePeek, EMPTY, 'a stale reader that had caught up sees an empty ring');
  assert.equal(out.positions[0], out.positions[2], 'producer position frozen at the consumer position');
  assert.equal(out.positions[1], out.positions[2], 'consumer position kept');
  assert.equal(out.nonZeroData, 0, 'data reads as zeros');
  assert.equal(out.consumerWrite, 12345, 'writing the stale consumer page is harmless');
});

test('a record yielded by events() and kept past close(): reading it gives zeros, not a crash', { skip }, async () => {
  await fixture.produce(1);
  const ring = openRing({ pinned: fixture.pin });
  let kept;
  for await (const record of ring.events()) {
    kept = record;
    assert.ok(record.sample().some((b) => b !== 0));
    break;
  }
  ring.close();
  assert.ok(kept!.sample().every((b) => b === 0));
  assert.equal(ring.closed, true);
  const again = openRing({ pinned: fixture.pin });
  assert.equal(again.peek(), EMPTY, 'the record was consumed when the loop left');
  again.close();
});
