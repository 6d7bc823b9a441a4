// The native reference consumer: drains the ring on the calling thread with
// libbpf's ring_buffer__consume, doing per event exactly the work the
// JavaScript consumers do (src/shared/event.ts Checksum and
// src/consumer/event-sink.ts EventSink), so a JS-to-native ratio compares
// the reading, not different amounts of work.
//
// Three variants and the touch level (event_sink.h Touch) are fixed when the
// object is made; each combination is its own ring_buffer_sample_fn, so the
// per-record path has no extra branch:
//   in place  the callback processes the sample where libbpf hands it over,
//             in the ring mapping (what `--mode native` measures);
//   copy      the callback first memcpy()s the sample into a reused buffer and
//             processes the copy, as libbpf users who keep events do
//             (`--mode native-copy`);
//   callback  what Node addons that read BPF ring buffers do today
//             (`--mode callback`): the callback copies the sample into a new
//             Buffer and calls a JavaScript function with it through N-API,
//             once per event; the JavaScript function does the per-event work.
// In the pipeline (`--producers N --mode native`) the in-place variant also
// records latency exactly as the JavaScript consumers do (latency_sink.h).
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
#include "latency_sink.h"
#include "ringbuf_bench.h"

namespace rbb {
namespace {

// ring-reader.ts's EMPTY and BUSY, and CUT: an interrupted run's wind-down
// budget ran out (signals.cc) and the drain stopped before the ring was empty.
constexpr int kEmpty = -1;
constexpr int kBusy = -2;
constexpr int kCut = -3;

// What libbpf hands every sample callback: the sink, the pipeline's latency
// recorder (or null) and, for the callback variant, the JavaScript function
// of the current consume() call.
struct DrainContext {
  SinkState* sink = nullptr;
  LatencySink* latency = nullptr;
  napi_env env = nullptr;
  Napi::FunctionReference* js = nullptr;
  Napi::Error js_error;
  bool js_failed = false;
};

// A callback that returns < 0 makes ring_buffer__consume() publish the position
// so far and return that value (libbpf src/ringbuf.c ringbuf_process_ring):
// how an interrupted run's wind-down stops a drain at its next record. libbpf
// has already moved its position past the record it hands to the callback
// (cons_pos += roundup_len(len) comes before sample_cb), so a record the
// callback refused would be consumed without being counted: the check comes
// after the record is handled, which then counts as consumed. It is one
// relaxed load of a word that stays in cache.
template <Touch kTouch, bool kCopy, bool kLatency>
int Sample(void* ctx, void* data, size_t size) {
  DrainContext* d = static_cast<DrainContext*>(ctx);
  const uint8_t* sample = static_cast<const uint8_t*>(data);
  if constexpr (kCopy) {
    uint8_t* copy = reinterpret_cast<uint8_t*>(d->sink->copy_buffer.data());
    std::memcpy(copy, data, size);
    sample = copy;
  }
  Accept<kTouch>(d->sink, sample, static_cast<uint32_t>(size));
  if constexpr (kLatency) d->latency->Hold(sample, static_cast<uint32_t>(size));
  return __builtin_expect(CutRequested(), 0) ? -ECANCELED : 0;
}

// The usual Node binding: one N-API call into JavaScript per event, with the
// sample copied into a fresh Buffer, in its own handle scope (without one,
// every Buffer of a drain would stay reachable until consume() returns). A
// JavaScript exception stops the drain (libbpf has already consumed that
// record) and is rethrown from consume(); it must not unwind through libbpf.
// The cut is checked after the call, as in Sample().
int SampleToJs(void* ctx, void* data, size_t size) {
  DrainContext* d = static_cast<DrainContext*>(ctx);
  Napi::Env env(d->env);
  Napi::HandleScope scope(env);
  try {
    d->js->Call({Napi::Buffer<uint8_t>::Copy(env, static_cast<const uint8_t*>(data), size)});
  } catch (const Napi::Error& e) {
    d->js_error = e;
    d->js_failed = true;
    return -ECANCELED;
  }
  return __builtin_expect(CutRequested(), 0) ? -ECANCELED : 0;
}

template <Touch kTouch>
ring_buffer_sample_fn SampleFn(bool copy, bool latency) {
  if (copy) return latency ? Sample<kTouch, true, true> : Sample<kTouch, true, false>;
  return latency ? Sample<kTouch, false, true> : Sample<kTouch, false, false>;
}

// new NativeConsumer(ringFd, maxSampleLength, variant, touch, recordLatency)
//   variant           "in-place", "copy" or "callback"
//   touch             "field" or "all" (ignored by "callback": JavaScript does the work)
//   recordLatency     record latency as the pipeline does (latency_sink.h);
//                     maxSampleLength is then the configured event size
//   begin(startSeq, progress?)  resets the checksum and counters (and the
//                     latency record); startSeq: each producer's next sequence
//                     number (64 numbers); progress (recordLatency only): an
//                     Int32Array where each clock reading publishes the events
//                     handled so far, mod 2^32 (--report-interval)
//   consume([fn])     ring_buffer__consume() until the ring is empty or the
//                     next record is busy; returns EMPTY (-1) or BUSY (-2), or
//                     CUT (-3) when an interrupted run's wind-down ran out.
//                     The callback variant calls fn(sample: Buffer) per event.
//   eventCount()      events the sink has seen since begin()
//   result()          { events, checksum, perProducer, expectedSeq, anomalies, firstAnomaly? }
//   latency()         { counts, total, min, max, seqLowSum, seqHighSum, wrongLength, lastEventNs }
//   close()           ring_buffer__free(): unmaps libbpf's mappings of the ring
class NativeConsumer : public Napi::ObjectWrap<NativeConsumer> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeConsumer",
                       {InstanceMethod<&NativeConsumer::Begin>("begin"),
                        InstanceMethod<&NativeConsumer::Consume>("consume"),
                        InstanceMethod<&NativeConsumer::EventCount>("eventCount"),
                        InstanceMethod<&NativeConsumer::Result>("result"),
                        InstanceMethod<&NativeConsumer::Latency>("latency"),
                        InstanceMethod<&NativeConsumer::Close>("close")});
  }

  explicit NativeConsumer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeConsumer>(info) {
    Napi::Env env = info.Env();
    int fd = static_cast<int>(IntArg(info, 0, "ringFd"));
    int64_t max_sample = IntArg(info, 1, "maxSampleLength");
    if (max_sample < 1 || max_sample > (int64_t{1} << 30))
      throw Napi::RangeError::New(env, "NativeConsumer: maxSampleLength out of range");
    const std::string variant = StringArg(info, 2, "variant");
    const std::string touch = StringArg(info, 3, "touch");
    const bool record_latency = info.Length() > 4 && info[4].ToBoolean();
    if (variant != "in-place" && variant != "copy" && variant != "callback")
      throw Napi::RangeError::New(env, "NativeConsumer: variant must be in-place, copy or callback");
    if (touch != "field" && touch != "all") throw Napi::RangeError::New(env, "NativeConsumer: touch must be field or all");
    callback_ = variant == "callback";
    if (callback_ && record_latency)
      throw Napi::RangeError::New(env, "NativeConsumer: the callback variant records no latency (JavaScript does its work)");
    const bool copy = variant == "copy";
    state_ = std::make_unique<SinkState>();
    if (copy) state_->copy_buffer.resize((static_cast<size_t>(max_sample) + 7) / 8);
    if (record_latency) latency_ = std::make_unique<LatencySink>(static_cast<uint32_t>(max_sample));
    drain_ = std::make_unique<DrainContext>();
    drain_->sink = state_.get();
    drain_->latency = latency_.get();
    ring_buffer_sample_fn fn = callback_           ? SampleToJs
                               : touch == "field" ? SampleFn<Touch::kField>(copy, record_latency)
                                                  : SampleFn<Touch::kAll>(copy, record_latency);
    rb_ = ring_buffer__new(fd, fn, drain_.get(), nullptr);
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
  // begin(startSeq, progress?): progress, an Int32Array over a
  // SharedArrayBuffer, is where a consumer made with recordLatency publishes
  // the events handled so far at every clock reading; a reference keeps it
  // alive until the next begin() or close().
  Napi::Value Begin(const Napi::CallbackInfo& info) {
    BeginSink(info.Env(), state_.get(), info[0]);
    BeginLatency(info.Env(), "NativeConsumer", latency_.get(), info[1], &progress_);
    return info.Env().Undefined();
  }

  Napi::Value Consume(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!rb_) throw Napi::Error::New(env, "NativeConsumer: closed");
    Napi::FunctionReference js;
    if (callback_) {
      if (info.Length() < 1 || !info[0].IsFunction())
        throw Napi::TypeError::New(env, "consume: the callback variant needs a function");
      // Weak: the argument stays alive for the duration of this call.
      js = Napi::Weak(info[0].As<Napi::Function>());
      drain_->env = env;
      drain_->js = &js;
      drain_->js_failed = false;
    }
    const int err = ring_buffer__consume(rb_);
    drain_->js = nullptr;
    // LatencySink.flush() before the consumer waits: the ring ran empty or busy.
    if (latency_) latency_->Flush();
    if (callback_ && drain_->js_failed) {
      drain_->js_failed = false;
      throw drain_->js_error;
    }
    if (err == -ECANCELED) return Napi::Number::New(env, kCut);
    if (err < 0) throw ErrnoError(env, "ring_buffer__consume", -err);
    uint64_t consumer = __atomic_load_n(static_cast<uint64_t*>(consumer_page_), __ATOMIC_ACQUIRE);
    uint64_t producer = __atomic_load_n(static_cast<uint64_t*>(producer_page_), __ATOMIC_ACQUIRE);
    return Napi::Number::New(env, consumer == producer ? kEmpty : kBusy);
  }

  Napi::Value EventCount(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(state_->events));
  }

  Napi::Value Latency(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!latency_) throw Napi::Error::New(env, "NativeConsumer: made without recordLatency");
    return LatencyResult(env, *latency_);
  }

  Napi::Value Result(const Napi::CallbackInfo& info) { return SinkResult(info.Env(), *state_); }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Free();
    return info.Env().Undefined();
  }

  void Free() {
    if (latency_) latency_->SetProgress(nullptr);
    progress_.Reset();
    if (rb_) ring_buffer__free(rb_);
    rb_ = nullptr;
    if (producer_page_ != MAP_FAILED) munmap(producer_page_, page_);
    if (consumer_page_ != MAP_FAILED) munmap(consumer_page_, page_);
    producer_page_ = consumer_page_ = MAP_FAILED;
  }

  std::unique_ptr<SinkState> state_;
  std::unique_ptr<LatencySink> latency_;
  // Keeps begin()'s progress array (and its buffer) alive while latency_ writes to it.
  Napi::ObjectReference progress_;
  std::unique_ptr<DrainContext> drain_;
  bool callback_ = false;
  ring_buffer* rb_ = nullptr;
  size_t page_ = 0;
  void* consumer_page_ = MAP_FAILED;
  void* producer_page_ = MAP_FAILED;
};

// latencyCountsIndex(values: Float64Array): Float64Array — LatencySink::Index
// of each value, so a test can check the native bucketing against
// LatencyBuckets' (src/consumer/latency-buckets.ts countsIndex).
Napi::Value LatencyCountsIndex(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw Napi::TypeError::New(env, "latencyCountsIndex: values must be a Float64Array");
  Napi::Float64Array values = info[0].As<Napi::Float64Array>();
  Napi::Float64Array out = Napi::Float64Array::New(env, values.ElementLength());
  for (size_t i = 0; i < values.ElementLength(); i++)
    out[i] = static_cast<double>(LatencySink::Index(std::min(static_cast<uint64_t>(values[i]), LatencySink::kMaxValue)));
  return out;
}

}  // namespace

void InitNativeConsumer(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeConsumer", NativeConsumer::Define(env));
  exports.Set("latencyCountsIndex", Napi::Function::New(env, LatencyCountsIndex, "latencyCountsIndex"));
}

}  // namespace rbb
