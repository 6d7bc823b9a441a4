// The native reference consumer: drains the ring on the calling thread with
// libbpf's ring_buffer__consume, doing per event exactly the work the
// JavaScript consumers do (src/shared/event.ts Checksum and
// src/consumer/event-sink.ts EventSink), so a JS-to-native ratio compares
// the reading, not different amounts of work.
//
// Two variants, fixed when the object is made (each is its own
// ring_buffer_sample_fn, so the per-record path has no extra branch):
//   in place  the callback processes the sample where libbpf hands it over,
//             in the ring mapping (what `--mode native` measures);
//   copy      the callback first memcpy()s the sample into a reused buffer and
//             processes the copy, as libbpf users who keep events do
//             (`--mode native-copy`).
//
// libbpf does its own mmap() of the ring and keeps no consumer position of its
// own between calls: ringbuf_process_ring() loads it from the shared consumer
// page (smp_load_acquire) at the start of every ring_buffer__consume() and
// stores it back after every record (smp_store_release). So this consumer and
// the JavaScript RingReader can take turns on the same ring, provided each one
// starts from the published position. The ring's mappings are populated when
// mmap() is called (kernel/bpf/ringbuf.c maps its vmalloc area with
// remap_vmalloc_range(), which inserts every page), so ring_buffer__new() is
// the whole set-up cost: make the object once per ring, outside any timing.
#include <bpf/libbpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "addon.h"
#include "event_sink.h"
#include "sink_result.h"
#include "ringbuf_bench.h"

namespace rbb {
namespace {

// ring-reader.ts's EMPTY and BUSY, and CUT: an interrupted run's wind-down
// budget ran out (signals.cc) and the drain stopped before the ring was empty.
constexpr int kEmpty = -1;
constexpr int kBusy = -2;
constexpr int kCut = -3;

// A callback that returns < 0 makes ring_buffer__consume() publish the position
// so far and return that value (libbpf src/ringbuf.c ringbuf_process_ring).
// The check is one relaxed load of a word that stays in cache.
int SampleInPlace(void* ctx, void* data, size_t size) {
  if (__builtin_expect(CutRequested(), 0)) return -ECANCELED;
  Accept(static_cast<SinkState*>(ctx), static_cast<const uint8_t*>(data), static_cast<uint32_t>(size));
  return 0;
}

int SampleCopy(void* ctx, void* data, size_t size) {
  if (__builtin_expect(CutRequested(), 0)) return -ECANCELED;
  SinkState* s = static_cast<SinkState*>(ctx);
  uint8_t* copy = reinterpret_cast<uint8_t*>(s->copy_buffer.data());
  std::memcpy(copy, data, size);
  Accept(s, copy, static_cast<uint32_t>(size));
  return 0;
}

// new NativeConsumer(ringFd, maxSampleLength, copy)
//   begin(startSeq)   resets the checksum and counters; startSeq: each
//                     producer's next sequence number (64 numbers)
//   consume()         ring_buffer__consume() until the ring is empty or the
//                     next record is busy; returns EMPTY (-1) or BUSY (-2), or
//                     CUT (-3) when an interrupted run's wind-down ran out
//   result()          { events, checksum, perProducer, expectedSeq, anomalies, firstAnomaly? }
//   close()           ring_buffer__free(): unmaps libbpf's mappings of the ring
class NativeConsumer : public Napi::ObjectWrap<NativeConsumer> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeConsumer",
                       {InstanceMethod<&NativeConsumer::Begin>("begin"),
                        InstanceMethod<&NativeConsumer::Consume>("consume"),
                        InstanceMethod<&NativeConsumer::Result>("result"),
                        InstanceMethod<&NativeConsumer::Close>("close")});
  }

  explicit NativeConsumer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeConsumer>(info) {
    Napi::Env env = info.Env();
    int fd = static_cast<int>(IntArg(info, 0, "ringFd"));
    int64_t max_sample = IntArg(info, 1, "maxSampleLength");
    if (max_sample < 1 || max_sample > (int64_t{1} << 30))
      throw Napi::RangeError::New(env, "NativeConsumer: maxSampleLength out of range");
    bool copy = info.Length() > 2 && info[2].ToBoolean();
    state_ = std::make_unique<SinkState>();
    if (copy) state_->copy_buffer.resize((static_cast<size_t>(max_sample) + 7) / 8);
    ring_buffer_sample_fn fn = copy ? SampleCopy : SampleInPlace;
    rb_ = ring_buffer__new(fd, fn, state_.get(), nullptr);
    if (!rb_) throw ErrnoError(env, "ring_buffer__new", errno);
    // Our own read-only view of the two positions, only to tell EMPTY from BUSY
    // after ring_buffer__consume() returns (libbpf 1.1 does not expose them).
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    consumer_page_ = mmap(nullptr, page_, PROT_READ, MAP_SHARED, fd, 0);
    producer_page_ = consumer_page_ == MAP_FAILED
                         ? MAP_FAILED
                         : mmap(nullptr, page_, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(page_));
    if (producer_page_ == MAP_FAILED) {
      int err = errno;
      Free();
      throw ErrnoError(env, "mmap(ring position pages)", err);
    }
  }

  ~NativeConsumer() override { Free(); }

 private:
  Napi::Value Begin(const Napi::CallbackInfo& info) {
    BeginSink(info.Env(), state_.get(), info[0]);
    return info.Env().Undefined();
  }

  Napi::Value Consume(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!rb_) throw Napi::Error::New(env, "NativeConsumer: closed");
    int n = ring_buffer__consume(rb_);
    if (n == -ECANCELED) return Napi::Number::New(env, kCut);
    if (n < 0) throw ErrnoError(env, "ring_buffer__consume", -n);
    uint64_t consumer = __atomic_load_n(static_cast<uint64_t*>(consumer_page_), __ATOMIC_ACQUIRE);
    uint64_t producer = __atomic_load_n(static_cast<uint64_t*>(producer_page_), __ATOMIC_ACQUIRE);
    return Napi::Number::New(env, consumer == producer ? kEmpty : kBusy);
  }

  Napi::Value Result(const Napi::CallbackInfo& info) { return SinkResult(info.Env(), *state_); }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Free();
    return info.Env().Undefined();
  }

  void Free() {
    if (rb_) ring_buffer__free(rb_);
    rb_ = nullptr;
    if (producer_page_ != MAP_FAILED) munmap(producer_page_, page_);
    if (consumer_page_ != MAP_FAILED) munmap(consumer_page_, page_);
    producer_page_ = consumer_page_ = MAP_FAILED;
  }

  std::unique_ptr<SinkState> state_;
  ring_buffer* rb_ = nullptr;
  size_t page_ = 0;
  void* consumer_page_ = MAP_FAILED;
  void* producer_page_ = MAP_FAILED;
};

}  // namespace

void InitNativeConsumer(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeConsumer", NativeConsumer::Define(env));
}

}  // namespace rbb
