// The per-event work every native consumer does, the C++ twin of
// src/consumer/event-sink.ts (EventSink) and src/shared/event.ts (Checksum):
// the checksum over the sample at the touch level and the per-producer
// sequence check. One
// definition, so the ring buffer's and the perf buffer's native consumers do
// exactly what the JavaScript consumers do, and a JS-to-native ratio compares
// the reading, not different amounts of work.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "ringbuf_bench.h"

namespace rbb {

constexpr uint32_t kMaxProducers = BENCH_MAX_PRODUCERS;
constexpr uint32_t kEventHeaderSize = sizeof(bench_event_header);
constexpr uint64_t kSeqMask = (uint64_t{1} << BENCH_SEQ_BITS) - 1;

// What EventSink keeps: the checksum pair, per-producer sequence accounting.
struct SinkState {
  uint32_t a = 0;
  uint32_t b = 0;
  uint64_t events = 0;
  uint64_t expected_seq[kMaxProducers] = {};
  uint64_t per_producer[kMaxProducers] = {};
  uint64_t anomalies = 0;
  std::string first_anomaly;
  // The copy variant's reused buffer (8-byte aligned, like CopyBuffer).
  std::vector<uint64_t> copy_buffer;
};

// Little-endian u32 at p, without alignment or aliasing assumptions.
inline uint32_t LoadU32(const uint8_t* p) {
  uint32_t w;
  std::memcpy(&w, p, sizeof(w));
  return w;
}

[[gnu::noinline]] inline void SequenceBreak(SinkState* s, uint32_t producer, uint64_t seq) {
  if (producer < kMaxProducers && seq > s->expected_seq[producer]) {
    s->expected_seq[producer] = seq + 1;
    s->per_producer[producer]++;
    return;
  }
  s->anomalies++;
  if (!s->first_anomaly.empty()) return;
  if (producer < kMaxProducers)
    s->first_anomaly = "producer " + std::to_string(producer) + ": sequence " + std::to_string(seq) +
                       " arrived after " + std::to_string(static_cast<int64_t>(s->expected_seq[producer]) - 1) +
                       " (reordered or repeated)";
  else
    s->first_anomaly = "event from unknown producer id " + std::to_string(producer) + " (sequence " +
                       std::to_string(seq) + ")";
}

// How much of each sample the consumer reads: src/shared/event.ts Touch
// (--touch). Every consumer, JavaScript or native, does the same work for a
// given level.
//   kField  the producer/sequence field (sample words 2..3) only
//   kAll    every 32-bit word after the timestamp
enum class Touch { kField, kAll };

// Checksum.add()'s endWord per level (TOUCH_END_WORD): the word after the last one read.
template <Touch kTouch>
constexpr uint32_t kTouchEndWord = kTouch == Touch::kField ? 4 : UINT32_MAX;

// Checksum.add(): the sample's LE u32 words from word 2 up to (not including)
// `end`, a trailing partial word zero-padded (and given the next index).
// Written as the plain loop; the compiler is free to vectorise it, as V8 is
// free to optimise the JavaScript one.
inline void AddWords(SinkState* s, const uint8_t* sample, uint32_t length, uint32_t end) {
  uint32_t a = length;
  uint32_t b = 0;
  const uint32_t whole = length >> 2;
  const uint32_t stop = whole < end ? whole : end;
  uint32_t i = 2;
  for (; i < stop; i++) {
    const uint32_t w = LoadU32(sample + 4 * i);
    a += w;
    b += i * w;
  }
  if ((length & 3) && whole < end) {
    uint32_t w = 0;
    for (uint32_t k = 0; k < (length & 3); k++) w |= uint32_t{sample[4 * whole + k]} << (8 * k);
    a += w;
    b += i * w;
  }
  s->a += a;
  s->b += b;
}

// EventSink.accept(): the checksum over the sample at the touch level, then
// the sequence check. The checksum, per event, over the sample's LE u32 words
// w[i] from i = 2 up to (not including) the level's end word (words 0 and 1
// are the timestamp; a trailing partial word is zero-padded and has the next
// index):  a = len + sum(w[i]),  b = sum(i * w[i])  (mod 2^32). A template, so each consumer's
// per-record callback is specialised for its level and has no extra branch.
template <Touch kTouch>
inline void Accept(SinkState* s, const uint8_t* sample, uint32_t length) {
  s->events++;
  if (length < kEventHeaderSize) {  // the program never writes one; EventSink counts it the same way
    AddWords(s, sample, length, kTouchEndWord<kTouch>);
    SequenceBreak(s, UINT32_MAX, 0);
    return;
  }
  uint64_t producer_seq;
  std::memcpy(&producer_seq, sample + 8, sizeof(producer_seq));
  if constexpr (kTouch == Touch::kField) {
    // Checksum.addField(): words 2 and 3 are the field just loaded.
    const uint32_t lo = static_cast<uint32_t>(producer_seq);
    const uint32_t hi = static_cast<uint32_t>(producer_seq >> 32);
    s->a += length + lo + hi;
    s->b += 2 * lo + 3 * hi;
  } else {
    AddWords(s, sample, length, kTouchEndWord<Touch::kAll>);
  }
  const uint32_t producer = static_cast<uint32_t>(producer_seq >> BENCH_SEQ_BITS);
  const uint64_t seq = producer_seq & kSeqMask;
  if (producer < kMaxProducers && seq == s->expected_seq[producer]) {
    s->expected_seq[producer] = seq + 1;
    s->per_producer[producer]++;
  } else {
    SequenceBreak(s, producer, seq);
  }
}

}  // namespace rbb
