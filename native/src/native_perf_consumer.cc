// The native reference consumer of the perf buffer: libbpf's
// perf_buffer__consume() over every CPU's ring, doing per event exactly the
// work the ring buffer's native consumer does (native_consumer.cc; Accept in
// event_sink.h), so ringbuf and perfbuf compare the reading, not the work.
//
// libbpf walks each ring from data_tail to the data_head it loaded
// (perf_event_read_simple(): records that wrap the end are first copied into
// a scratch buffer), hands every record to DispatchPerfRecord and publishes
// data_tail when the ring is done. PERF_RECORD_SAMPLE is an event;
// PERF_RECORD_LOST carries the number of samples the kernel could not write
// (ring full), counted here as drops; any other record type is counted and
// skipped.
//
// The per-event work is a policy type (InPlace, CopyFirst below, each for a
// touch level of event_sink.h): a template parameter of OnRecord, dispatched
// by one switch per record on the work fixed at construction.
//
// A sample's raw size is padded to keep records 8-byte aligned
// (perf_sample_save_raw_data(), perf_prepare_sample() before Linux 6.2:
// raw->size = round_up(size + 4, 8) - 4) and the pad bytes are not written
// (the output skips them), so the work covers the event's own length
// (sampleLength), never more than the raw size.
//
// Records of one CPU are in order, but a producer that migrates between CPUs
// leaves its events in several rings, and one ring is drained before the
// next: the sequence check (Accept) runs per CPU, on one SinkState per ring,
// and result() merges them.
//
// In the pipeline (`--producers N --mode perf-native`) it also records
// latency exactly as the ring buffer's native consumer does (latency_sink.h:
// one recorder for all rings, one clock reading per 64 events or when a
// consume() ends), and it is made on the consumer worker's thread from the
// PerfBuffer's shareId (perf_buffer.h PerfRings), since a worker gets numbers,
// not the main thread's objects.
#include <bpf/libbpf.h>
#include <linux/perf_event.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "addon.h"
#include "event_sink.h"
#include "latency_sink.h"
#include "perf_buffer.h"
#include "sink_result.h"

namespace rbb {

// ring-reader.ts's EMPTY: the perf buffer has no BUSY state (data_head moves
// only past complete records).
constexpr int kEmpty = -1;
constexpr int kCut = -3;

// The per-event work, fixed at construction: variant x touch level x latency recording.
enum class PerfWork {
  kInPlaceField,
  kInPlaceAll,
  kCopyField,
  kCopyAll,
  kInPlaceFieldLatency,
  kInPlaceAllLatency,
  kCopyFieldLatency,
  kCopyAllLatency
};

struct PerfConsumerState {
  PerfWork work = PerfWork::kInPlaceField;
  uint32_t sample_length = 0;
  std::vector<SinkState> per_cpu;  // indexed by cpu
  std::unique_ptr<LatencySink> latency;  // the pipeline's recorder, or null
  uint64_t lost = 0;               // sum of PERF_RECORD_LOST counts
  uint64_t lost_records = 0;
  uint64_t other_records = 0;
};

namespace {

// include/uapi/linux/perf_event.h: PERF_RECORD_SAMPLE with PERF_SAMPLE_RAW
// only, and PERF_RECORD_LOST (sample_id_all unset: no trailing id fields).
struct PerfSampleRaw {
  perf_event_header header;
  uint32_t size;
  uint8_t data[];
};
struct PerfLost {
  perf_event_header header;
  uint64_t id;
  uint64_t lost;
};

// `native`: the sample where libbpf hands it over (in the ring, or in
// libbpf's scratch copy when it wrapped). Returns where the sample was handled.
template <Touch kTouch>
struct InPlace {
  static const uint8_t* Event(SinkState* s, const uint8_t* sample, uint32_t length) {
    Accept<kTouch>(s, sample, length);
    return sample;
  }
};

// `native-copy`: memcpy() into a reused buffer first, as libbpf users who keep events do.
template <Touch kTouch>
struct CopyFirst {
  static const uint8_t* Event(SinkState* s, const uint8_t* sample, uint32_t length) {
    uint8_t* copy = reinterpret_cast<uint8_t*>(s->copy_buffer.data());
    std::memcpy(copy, sample, length);
    Accept<kTouch>(s, copy, length);
    return copy;
  }
};

// An interrupted run's wind-down ran out (signals.cc): the drain stops after
// this record. libbpf's perf_event_read_simple() moves data_tail past a record
// before it looks at what the callback returned, so a record refused before
// it was handled would be consumed uncounted: it is handled first. DONE ends
// this ring's snapshot; perf_buffer__consume() goes on to the next ring (DONE
// is not an error), which then stops after its first record.
template <class Work, bool kLatency>
inline enum bpf_perf_event_ret OnRecord(PerfConsumerState* s, int cpu, perf_event_header* e) {
  if (e->type == PERF_RECORD_SAMPLE) {
    const PerfSampleRaw* raw = reinterpret_cast<const PerfSampleRaw*>(e);
    const uint32_t length = raw->size < s->sample_length ? raw->size : s->sample_length;
    const uint8_t* handled = Work::Event(&s->per_cpu[cpu], raw->data, length);
    if constexpr (kLatency) s->latency->Hold(handled, length);
  } else if (e->type == PERF_RECORD_LOST) {
    s->lost += reinterpret_cast<const PerfLost*>(e)->lost;
    s->lost_records++;
  } else {
    s->other_records++;
  }
  return __builtin_expect(CutRequested(), 0) ? LIBBPF_PERF_EVENT_DONE : LIBBPF_PERF_EVENT_CONT;
}

}  // namespace

enum bpf_perf_event_ret DispatchPerfRecord(void* target_slot, int cpu, perf_event_header* e) {
  PerfConsumerState* s = *static_cast<PerfConsumerState**>(target_slot);
  switch (s->work) {
    case PerfWork::kInPlaceField:
      return OnRecord<InPlace<Touch::kField>, false>(s, cpu, e);
    case PerfWork::kInPlaceAll:
      return OnRecord<InPlace<Touch::kAll>, false>(s, cpu, e);
    case PerfWork::kCopyField:
      return OnRecord<CopyFirst<Touch::kField>, false>(s, cpu, e);
    case PerfWork::kCopyAll:
      return OnRecord<CopyFirst<Touch::kAll>, false>(s, cpu, e);
    case PerfWork::kInPlaceFieldLatency:
      return OnRecord<InPlace<Touch::kField>, true>(s, cpu, e);
    case PerfWork::kInPlaceAllLatency:
      return OnRecord<InPlace<Touch::kAll>, true>(s, cpu, e);
    case PerfWork::kCopyFieldLatency:
      return OnRecord<CopyFirst<Touch::kField>, true>(s, cpu, e);
    case PerfWork::kCopyAllLatency:
      return OnRecord<CopyFirst<Touch::kAll>, true>(s, cpu, e);
  }
  return LIBBPF_PERF_EVENT_ERROR;
}

namespace {

// new NativePerfConsumer(perf, sampleLength, copy, touch, recordLatency?)
//   perf             a PerfBuffer, or its shareId (a consumer on another thread)
//   touch            "field" or "all": the per-event work (event_sink.h Touch)
//   recordLatency    record latency as the pipeline does (latency_sink.h);
//                    sampleLength is then the configured event size
//   begin(startSeq, progress?)  resets the checksum and counters (every CPU's) and the latency
//                    record; progress as NativeConsumer's (sink_result.h BeginLatency)
//   consume()        perf_buffer__consume(): every ring up to its data_head; returns EMPTY (-1),
//                    or CUT (-3) when an interrupted run's wind-down ran out
//   eventCount()     events seen since begin(), over every CPU
//   result()         { events, checksum, perProducer, expectedSeq, anomalies, firstAnomaly?,
//                      lost, lostRecords, otherRecords }
//   latency()        { counts, total, min, max, seqLowSum, seqHighSum, wrongLength, lastEventNs }
//   close()          lets go of the rings (the PerfBuffer owns them)
class NativePerfConsumer : public Napi::ObjectWrap<NativePerfConsumer> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativePerfConsumer",
                       {InstanceMethod<&NativePerfConsumer::Begin>("begin"),
                        InstanceMethod<&NativePerfConsumer::Consume>("consume"),
                        InstanceMethod<&NativePerfConsumer::EventCount>("eventCount"),
                        InstanceMethod<&NativePerfConsumer::Result>("result"),
                        InstanceMethod<&NativePerfConsumer::Latency>("latency"),
                        InstanceMethod<&NativePerfConsumer::Close>("close")});
  }

  explicit NativePerfConsumer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativePerfConsumer>(info) {
    Napi::Env env = info.Env();
    if (info.Length() > 0 && info[0].IsNumber()) {
      rings_ = PerfBuffer::Shared(info[0].As<Napi::Number>().Uint32Value());
      if (!rings_) throw Napi::Error::New(env, "NativePerfConsumer: no open PerfBuffer has that shareId");
    } else {
      rings_ = PerfBuffer::Unwrap(info[0])->rings();
    }
    if (rings_->closed()) throw Napi::Error::New(env, "NativePerfConsumer: the PerfBuffer is closed");
    int64_t length = IntArg(info, 1, "sampleLength");
    if (length < 1 || length > 65535) throw Napi::RangeError::New(env, "NativePerfConsumer: sampleLength out of range");
    bool copy = info.Length() > 2 && info[2].ToBoolean();
    const std::string touch = StringArg(info, 3, "touch");
    if (touch != "field" && touch != "all") throw Napi::RangeError::New(env, "NativePerfConsumer: touch must be field or all");
    const bool all = touch == "all";
    const bool record_latency = info.Length() > 4 && info[4].ToBoolean();
    state_ = std::make_unique<PerfConsumerState>();
    static constexpr PerfWork kWork[2][2][2] = {
        {{PerfWork::kInPlaceField, PerfWork::kInPlaceAll}, {PerfWork::kCopyField, PerfWork::kCopyAll}},
        {{PerfWork::kInPlaceFieldLatency, PerfWork::kInPlaceAllLatency}, {PerfWork::kCopyFieldLatency, PerfWork::kCopyAllLatency}}};
    state_->work = kWork[record_latency][copy][all];
    state_->sample_length = static_cast<uint32_t>(length);
    state_->per_cpu.resize(rings_->cpu_limit());
    if (copy)
      for (SinkState& s : state_->per_cpu) s.copy_buffer.resize((static_cast<size_t>(length) + 7) / 8);
    if (record_latency) state_->latency = std::make_unique<LatencySink>(static_cast<uint32_t>(length));
  }

 private:
  PerfRings* Rings(Napi::Env env) {
    if (!rings_) throw Napi::Error::New(env, "NativePerfConsumer: closed");
    return rings_.get();
  }

  Napi::Value Begin(const Napi::CallbackInfo& info) {
    for (SinkState& s : state_->per_cpu) BeginSink(info.Env(), &s, info[0]);
    state_->lost = state_->lost_records = state_->other_records = 0;
    BeginLatency(info.Env(), "NativePerfConsumer", state_->latency.get(), info[1], &progress_);
    return info.Env().Undefined();
  }

  Napi::Value Consume(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int err = Rings(env)->Consume(state_.get());
    // LatencySink.flush() before the consumer waits: every ring was read up to its data_head.
    if (state_->latency) state_->latency->Flush();
    if (err == -EBADF) throw Napi::Error::New(env, "NativePerfConsumer: the PerfBuffer is closed");
    if (err < 0) throw ErrnoError(env, "perf_buffer__consume", -err);
    return Napi::Number::New(env, CutRequested() ? kCut : kEmpty);
  }

  Napi::Value EventCount(const Napi::CallbackInfo& info) {
    uint64_t events = 0;
    for (const SinkState& s : state_->per_cpu) events += s.events;
    return Napi::Number::New(info.Env(), static_cast<double>(events));
  }

  Napi::Value Result(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    // per_cpu[0]'s expected_seq holds startSeq for every producer no CPU saw.
    SinkState total = state_->per_cpu[0];
    for (size_t cpu = 1; cpu < state_->per_cpu.size(); cpu++) MergeSink(&total, state_->per_cpu[cpu]);
    Napi::Object out = SinkResult(env, total);
    out.Set("lost", Napi::Number::New(env, static_cast<double>(state_->lost)));
    out.Set("lostRecords", Napi::Number::New(env, static_cast<double>(state_->lost_records)));
    out.Set("otherRecords", Napi::Number::New(env, static_cast<double>(state_->other_records)));
    return out;
  }

  Napi::Value Latency(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!state_->latency) throw Napi::Error::New(env, "NativePerfConsumer: made without recordLatency");
    return LatencyResult(env, *state_->latency);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (state_->latency) state_->latency->SetProgress(nullptr);
    progress_.Reset();
    rings_.reset();
    return info.Env().Undefined();
  }

  std::shared_ptr<PerfRings> rings_;
  std::unique_ptr<PerfConsumerState> state_;
  // Keeps begin()'s progress array (and its buffer) alive while the latency record writes to it.
  Napi::ObjectReference progress_;
};

}  // namespace

void InitNativePerfConsumer(Napi::Env env, Napi::Object exports) {
  exports.Set("NativePerfConsumer", NativePerfConsumer::Define(env));
}

}  // namespace rbb
