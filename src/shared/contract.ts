/**
 * The event format is defined three times: in C for the BPF program and the
 * native consumers (bpf/ringbuf_bench.h), and in TypeScript (event.ts). The
 * addon exports the C values; a session checks them before it loads anything,
 * so a header changed on one side only stops the run instead of misreading it.
 */
import { addon, checkContract } from '../lib/addon.js';
import { EVENT_HEADER_SIZE, MAX_EVENT_SIZE, MAX_PRODUCERS, OUTPUT_MAX_EVENT_SIZE, PACKET_PRODUCER_OFFSET, SEQ_BITS } from './event.js';

let checked = false;

export function checkEventContract(): void {
  if (checked) return;
  checkContract(addon(), 'the event format (src/shared/event.ts)', {
    eventHeaderSize: EVENT_HEADER_SIZE,
    seqBits: SEQ_BITS,
    maxProducers: MAX_PRODUCERS,
    packetProducerOffset: PACKET_PRODUCER_OFFSET,
    maxEventSize: MAX_EVENT_SIZE,
    outputMaxEventSize: OUTPUT_MAX_EVENT_SIZE,
  });
  checked = true;
}
