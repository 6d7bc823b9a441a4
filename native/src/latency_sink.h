// The pipeline's latency recording for a native consumer: the C++ twin of
// src/consumer/latency-sink.ts (LatencySink) and latency-buckets.ts
// (LatencyBuckets), so JavaScript and native consumers are timed the same way
// under the same paced load:
//   - each event's bpf_ktime_get_ns() stamp (sample bytes 0..7) is held, and
//     the clock (CLOCK_MONOTONIC, as process.hrtime / uv_hrtime reads it) is
//     read once per kBatch events, after the batch, or when the ring runs
//     empty or busy (Flush); every held event gets latency = clock - stamp;
//   - latencies are counted in HdrHistogram's buckets at 3 significant digits,
//     exactly as LatencyBuckets counts them (test/native-pipeline.test.ts
//     checks the indices against it); JavaScript builds the histogram from
//     the counts;
//   - the sums the independent checksum needs (sequence low and high halves)
//     and the count of events whose length is not the configured one;
//   - at every clock reading, the count of events handled so far, published
//     to a word the pipeline's main thread samples (--report-interval).
#pragma once

#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace rbb {

class LatencySink {
 public:
  // latency-sink.ts LATENCY_BATCH
  static constexpr uint32_t kBatch = 64;
  // latency-buckets.ts: 2048 sub-buckets (half: 1024), values up to 2^53, buckets 0..42.
  static constexpr uint32_t kSubBucketHalfMagnitude = 10;
  static constexpr uint32_t kSubBucketHalfCount = 1u << kSubBucketHalfMagnitude;
  static constexpr uint32_t kMaxBucket = 53 - kSubBucketHalfMagnitude - 1;
  static constexpr size_t kCounts = (kMaxBucket + 2) * kSubBucketHalfCount;
  static constexpr uint64_t kMaxValue = (uint64_t{1} << 53) - 1;

  explicit LatencySink(uint32_t event_size) : event_size_(event_size), counts_(kCounts) {}

  void Reset() {
    std::fill(counts_.begin(), counts_.end(), 0.0);
    total_ = 0;
    max_ = 0;
    min_ = UINT64_MAX;
    pending_count_ = 0;
    seq_low_sum_ = seq_high_sum_ = 0;
    wrong_length_ = 0;
    last_event_ns_ = 0;
  }

  // LatencySink.accept()'s additions, after Accept() has done EventSink's part.
  void Hold(const uint8_t* sample, uint32_t length) {
    uint64_t stamp = 0;
    uint32_t seq_low = 0;
    uint32_t seq_high = 0;
    if (length >= 16) {  // the program always writes the 16-byte header
      std::memcpy(&stamp, sample, sizeof(stamp));
      std::memcpy(&seq_low, sample + 8, sizeof(seq_low));
      std::memcpy(&seq_high, sample + 12, sizeof(seq_high));
    }
    pending_[pending_count_++] = stamp;
    seq_low_sum_ += seq_low;
    seq_high_sum_ += seq_high;
    if (length != event_size_) wrong_length_++;
    if (pending_count_ == kBatch) Flush();
  }

  // LatencySink.flush(): one clock reading for every held event.
  void Flush() {
    if (pending_count_ == 0) return;
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    const uint64_t now = static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
    for (uint32_t i = 0; i < pending_count_; i++) Record(now > pending_[i] ? now - pending_[i] : 0);
    pending_count_ = 0;
    last_event_ns_ = now;
    // Every event handled so far has been held and recorded: publish the
    // count for --report-interval (LatencySink.progress in latency-sink.ts).
    // Relaxed: the word guards no data, the main thread only samples it.
    if (progress_) __atomic_store_n(progress_, static_cast<int32_t>(static_cast<uint32_t>(total_)), __ATOMIC_RELAXED);
  }

  // Where Flush() publishes the events handled so far, mod 2^32 (a word of the
  // pipeline's control block, CONSUMED), or null. The caller keeps the memory
  // alive while it is set.
  void SetProgress(int32_t* word) { progress_ = word; }

  // LatencyBuckets.record().
  void Record(uint64_t value) {
    value = std::min(value, kMaxValue);
    counts_[Index(value)]++;
    total_++;
    max_ = std::max(max_, value);
    min_ = std::min(min_, value);
  }

  // latency-buckets.ts countsIndex(): bucket b = max(floor(log2 v) - 10, 0),
  // index = b * 1024 + floor(v / 2^b); values below 2048 index themselves.
  static size_t Index(uint64_t value) {
    if (value < 2 * kSubBucketHalfCount) return static_cast<size_t>(value);
    const uint32_t bucket = 63 - static_cast<uint32_t>(__builtin_clzll(value)) - kSubBucketHalfMagnitude;
    return static_cast<size_t>(bucket) * kSubBucketHalfCount + static_cast<size_t>(value >> bucket);
  }

  const std::vector<double>& counts() const { return counts_; }
  uint64_t total() const { return total_; }
  uint64_t max() const { return max_; }
  uint64_t min() const { return min_; }
  uint32_t seq_low_sum() const { return seq_low_sum_; }
  uint32_t seq_high_sum() const { return seq_high_sum_; }
  uint64_t wrong_length() const { return wrong_length_; }
  uint64_t last_event_ns() const { return last_event_ns_; }

 private:
  const uint32_t event_size_;
  std::vector<double> counts_;
  uint64_t total_ = 0;
  uint64_t max_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t pending_[kBatch] = {};
  uint32_t pending_count_ = 0;
  uint32_t seq_low_sum_ = 0;
  uint32_t seq_high_sum_ = 0;
  uint64_t wrong_length_ = 0;
  uint64_t last_event_ns_ = 0;
  int32_t* progress_ = nullptr;
};

}  // namespace rbb
