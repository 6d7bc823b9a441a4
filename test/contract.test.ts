/**
 * The constants C and TypeScript share (event header, sequence bits, producer
 * cap, the ring's header bits) agree in this build, and a mismatch is caught.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { addon, checkContract } from '../src/lib/addon.js';
import { BUSY_BIT, DISCARD_BIT, RECORD_HEADER_SIZE } from '../src/lib/ring-layout.js';
import { checkEventContract } from '../src/shared/contract.js';
import { EVENT_HEADER_SIZE, MAX_PRODUCERS, SEQ_BITS } from '../src/shared/event.js';

test('the addon was built from headers that agree with the TypeScript constants', () => {
  const c = addon().contract;
  assert.equal(c.ringbufHeaderSize, RECORD_HEADER_SIZE);
  assert.equal(c.ringbufBusyBit, BUSY_BIT >>> 0);
  assert.equal(c.ringbufDiscardBit, DISCARD_BIT);
  assert.equal(c.eventHeaderSize, EVENT_HEADER_SIZE);
  assert.equal(c.seqBits, SEQ_BITS);
  assert.equal(c.maxProducers, MAX_PRODUCERS);
  assert.doesNotThrow(() => checkEventContract());
});

test('a constant that differs between C and TypeScript stops the run, naming it', () => {
  const native = { contract: { ...addon().contract, seqBits: SEQ_BITS - 1 } };
  assert.throws(() => checkContract(native, 'the event format', { seqBits: SEQ_BITS }), /seqBits is 48 in TypeScript but 47 in C/);
});
