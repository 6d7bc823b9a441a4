/**
 * The benchmark's event format, mirroring bpf/ringbuf_bench.h, and the
 * checksum every consumer (copy, view and the native one) computes over it.
 *
 *   sample bytes  0..7   timestamp_ns  bpf_ktime_get_ns(), CLOCK_MONOTONIC
 *   sample bytes  8..15  producer_seq  producer id << 48 | sequence number
 *   sample bytes 16..    payload       copied from the test packet, offset 0
 */

export const EVENT_HEADER_SIZE = 16;
export const SEQ_BITS = 48;
export const MAX_PRODUCERS = 64;
/** Where the producer id (u32, little-endian) sits in the test packet (BENCH_PKT_PRODUCER_OFF). */
export const PACKET_PRODUCER_OFFSET = 0;
/** Smallest event: the header alone. */
export const MIN_EVENT_SIZE = EVENT_HEADER_SIZE;
/**
 * Largest event. The payload comes out of a BPF_PROG_TEST_RUN packet, which the
 * kernel caps at a page minus skb overhead (3712 bytes on this 6.18 kernel);
 * 3072 leaves room for kernels with a larger skb_shared_info.
 */
export const MAX_EVENT_SIZE = 3072;
/**
 * Largest event `--submit output` can send: bpf_ringbuf_output() copies the
 * event from a buffer on the BPF program's 512-byte stack, which it shares
 * with the program's other locals (BENCH_OUTPUT_MAX_EVENT_SIZE in
 * bpf/ringbuf_bench.h says how it was found). Larger sizes must be refused
 * before anything is loaded.
 */
export const OUTPUT_MAX_EVENT_SIZE = 472;
/** BPF_PROG_TEST_RUN on a tc program wants at least an Ethernet header. */
const MIN_PACKET_SIZE = 14;

/** Payload byte i of every event (i counts from the start of the packet). */
export function payloadByte(i: number): number {
  return (i * 131 + 17) & 0xff;
}

/**
 * The test packet for one producer. Bytes 0..3 hold the producer id (the BPF
 * program reads it there); the program copies the first eventSize - 16 bytes
 * into the event's payload, so the id is part of every payload.
 */
export function buildPacket(producerId: number, eventSize: number): Uint8Array {
  const packet = new Uint8Array(Math.max(MIN_PACKET_SIZE, eventSize - EVENT_HEADER_SIZE));
  for (let i = 0; i < packet.length; i++) packet[i] = payloadByte(i);
  new DataView(packet.buffer).setUint32(PACKET_PRODUCER_OFFSET, producerId, true);
  return packet;
}

/**
 * How much of each sample a consumer reads (--touch). Every mode does exactly
 * the same work for a given level, so a ratio between modes compares reading
 * the ring, not different amounts of per-event work:
 *   field  the 8-byte producer/sequence field (sample words 2..3): it goes
 *          into the checksum and the per-producer sequence check, and nothing
 *          else of the sample is read. The original Go benchmark's work
 *          (`checksum += event.Skb`, one field per event): the default.
 *   all    every 32-bit word after the timestamp (the payload-integrity
 *          workload: what this tool measured before --touch existed).
 */
export const TOUCH_CHOICES = ['field', 'all'] as const;
export type Touch = (typeof TOUCH_CHOICES)[number];

/** What each level does per event, for the reports' header lines. */
export const TOUCH_DESCRIPTIONS: Record<Touch, string> = {
  field: 'per event, the 8-byte producer/sequence field is read, added to the checksum and sequence-checked; nothing else of the sample is read',
  all: 'per event, every 32-bit word after the timestamp is read into the checksum, and the sequence checked',
};

/** Checksum.add's endWord for `all`: no sample has this many words. */
export const ALL_WORDS = 2 ** 30;
/** The sample word after the last one a touch level reads (Checksum.add's endWord). */
export const TOUCH_END_WORD: Record<Touch, number> = { field: 4, all: ALL_WORDS };

/**
 * Order-independent checksum of a stream of events. Per event, over the
 * sample's little-endian 32-bit words w[i] from i = 2 up to (not including)
 * endWord (words 0 and 1 are the timestamp, which differs between runs and is
 * left out; a trailing partial word is zero-padded and has the next index):
 *     a = len + sum(w[i])        b = sum(i * w[i])        (mod 2^32)
 * endWord is the touch level's (TOUCH_END_WORD): 4 for `field` (words 2 and 3,
 * the producer/sequence field), every word for `all`. One definition for both,
 * and linear in the words either way, which the pipeline's independent check
 * relies on (src/consumer/expected-checksum.ts).
 * b makes the sum position-sensitive (moved or swapped words change it) yet
 * keeps no dependency chain between words, so the loop runs two independent
 * lanes. The stream's checksum sums every event's a and b (mod 2^32), so it
 * does not depend on how producers interleave. Printed as 16 hex digits, b
 * then a. The native consumers (native/src/event_sink.h) compute the same.
 */
export class Checksum {
  a = 0;
  b = 0;

  /**
   * Adds one sample at byteOffset (a multiple of 4) of `words` / `bytes` (views
   * of one buffer), reading words 2 .. endWord - 1.
   */
  add(words: Int32Array, bytes: Uint8Array, byteOffset: number, length: number, endWord = ALL_WORDS): void {
    const base = (byteOffset / 4) | 0;
    const wholeWords = length >> 2;
    const whole = wholeWords < endWord ? wholeWords : endWord;
    let a0 = length | 0;
    let a1 = 0;
    let b0 = 0;
    let b1 = 0;
    let i = 2;
    for (; i + 1 < whole; i += 2) {
      const w0 = words[base + i];
      const w1 = words[base + i + 1];
      a0 = (a0 + w0) | 0;
      a1 = (a1 + w1) | 0;
      b0 = (b0 + Math.imul(w0, i)) | 0;
      b1 = (b1 + Math.imul(w1, i + 1)) | 0;
    }
    if (i < whole) {
      const w = words[base + i];
      a0 = (a0 + w) | 0;
      b0 = (b0 + Math.imul(w, i)) | 0;
      i++;
    }
    if (length & 3 && wholeWords < endWord) {
      let w = 0;
      for (let k = 0, at = byteOffset + (wholeWords << 2); k < (length & 3); k++) w |= bytes[at + k] << (8 * k);
      a0 = (a0 + w) | 0;
      b0 = (b0 + Math.imul(w, i)) | 0;
    }
    this.a = (this.a + a0 + a1) | 0;
    this.b = (this.b + b0 + b1) | 0;
  }

  /**
   * add(..., TOUCH_END_WORD.field) for a sample of at least EVENT_HEADER_SIZE
   * bytes, given its words 2 and 3 (the producer/sequence field), which the
   * caller has already read for the sequence check.
   */
  addField(length: number, word2: number, word3: number): void {
    this.a = fieldA(this.a, length, word2, word3);
    this.b = fieldB(this.b, word2, word3);
  }

  hex(): string {
    return checksumHex(this.a, this.b);
  }
}

/**
 * Checksum.addField's two sums as pure functions, for loops that keep a and b
 * in locals over a run of events (EventSink.acceptRun). Every partial sum is
 * truncated, so TurboFan never speculates on (and deoptimises at) an int32
 * overflow.
 */
export function fieldA(a: number, length: number, word2: number, word3: number): number {
  return (((a + length) | 0) + ((word2 + word3) | 0)) | 0;
}
export function fieldB(b: number, word2: number, word3: number): number {
  return (((b + Math.imul(word2, 2)) | 0) + Math.imul(word3, 3)) | 0;
}

export function checksumHex(a: number, b: number): string {
  return (b >>> 0).toString(16).padStart(8, '0') + (a >>> 0).toString(16).padStart(8, '0');
}
