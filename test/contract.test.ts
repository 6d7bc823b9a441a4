/**
 * The constants C and TypeScript share (event header, sequence bits, producer
 * cap, event size limits, the ring's header bits, the perf ring's layout) agree
 * in this build, and a mismatch is caught.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { addon, checkContract } from '../src/lib/addon.js';
import { BUSY_BIT, DISCARD_BIT, RECORD_HEADER_SIZE } from '../src/lib/ring-layout.js';
import { checkEventContract } from '../src/shared/contract.js';
import { EVENT_HEADER_SIZE, MAX_EVENT_SIZE, MAX_PRODUCERS, OUTPUT_MAX_EVENT_SIZE, SEQ_BITS } from '../src/shared/event.js';
import { PERF_LAYOUT_CONTRACT } from '../src/lib/perf-layout.js';

test('the addon was built from headers that agree with the TypeScript constants', () => {
  const c = addon().contract;
  assert.equal(c.ringbufHeaderSize, RECORD_HEADER_SIZE);
  assert.equal(c.ringbufBusyBit, BUSY_BIT >>> 0);
  assert.equal(c.ringbufDiscardBit, DISCARD_BIT);
  assert.equal(c.eventHeaderSize, EVENT_HEADER_SIZE);
  assert.equal(c.seqBits, SEQ_BITS);
  assert.equal(c.maxProducers, MAX_PRODUCERS);
  assert.equal(c.maxEventSize, MAX_EVENT_SIZE);
  assert.equal(c.outputMaxEventSize, OUTPUT_MAX_EVENT_SIZE);
  for (const [name, value] of Object.entries(PERF_LAYOUT_CONTRACT)) assert.equal(c[name], value, name);
  assert.equal(c.perfDataHeadOffset, 1024, 'struct perf_event_mmap_page: data_head after the 1 KiB of fields and reserved words');
  assert.doesNotThrow(() => checkEventContract());
});

test('a constant that differs between C and TypeScript stops the run, naming it', () => {
  const native = { contract: { ...addon().contract, seqBits: SEQ_BITS - 1 } };
  assert.throws(() => checkContract(native, 'the event format', { seqBits: SEQ_BITS }), /seqBits is 48 in TypeScript but 47 in C/);
});
