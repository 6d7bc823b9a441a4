#include "sink_result.h"

#include <cstdio>
#include <cstring>
#include <string>

namespace rbb {

void BeginSink(Napi::Env env, SinkState* s, Napi::Value start_seq) {
  if (!start_seq.IsObject()) throw Napi::TypeError::New(env, "begin: startSeq must be an array of numbers");
  Napi::Object start = start_seq.As<Napi::Object>();
  s->a = s->b = 0;
  s->events = s->anomalies = 0;
  s->first_anomaly.clear();
  for (uint32_t p = 0; p < kMaxProducers; p++) {
    Napi::Value v = start.Get(p);
    s->expected_seq[p] = v.IsNumber() ? static_cast<uint64_t>(v.As<Napi::Number>().Int64Value()) : 0;
    s->per_producer[p] = 0;
  }
}

void MergeSink(SinkState* into, const SinkState& from) {
  into->a += from.a;
  into->b += from.b;
  into->events += from.events;
  into->anomalies += from.anomalies;
  if (into->first_anomaly.empty()) into->first_anomaly = from.first_anomaly;
  for (uint32_t p = 0; p < kMaxProducers; p++) {
    if (from.per_producer[p] && from.expected_seq[p] > into->expected_seq[p]) into->expected_seq[p] = from.expected_seq[p];
    into->per_producer[p] += from.per_producer[p];
  }
}

Napi::Object SinkResult(Napi::Env env, const SinkState& s) {
  Napi::Float64Array per_producer = Napi::Float64Array::New(env, kMaxProducers);
  Napi::Float64Array expected_seq = Napi::Float64Array::New(env, kMaxProducers);
  for (uint32_t p = 0; p < kMaxProducers; p++) {
    per_producer[p] = static_cast<double>(s.per_producer[p]);
    expected_seq[p] = static_cast<double>(s.expected_seq[p]);
  }
  char hex[17];
  snprintf(hex, sizeof(hex), "%08x%08x", s.b, s.a);  // Checksum.hex(): b then a
  Napi::Object out = Napi::Object::New(env);
  out.Set("events", Napi::Number::New(env, static_cast<double>(s.events)));
  out.Set("checksum", Napi::String::New(env, hex));
  out.Set("perProducer", per_producer);
  out.Set("expectedSeq", expected_seq);
  out.Set("anomalies", Napi::Number::New(env, static_cast<double>(s.anomalies)));
  if (!s.first_anomaly.empty()) out.Set("firstAnomaly", Napi::String::New(env, s.first_anomaly));
  return out;
}

void BeginLatency(Napi::Env env, const char* who, LatencySink* latency, Napi::Value progress, Napi::ObjectReference* keep) {
  keep->Reset();
  int32_t* word = nullptr;
  if (!progress.IsEmpty() && !progress.IsUndefined()) {
    if (!latency) throw Napi::Error::New(env, std::string(who) + ": progress needs recordLatency");
    if (!progress.IsTypedArray() || progress.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
        progress.As<Napi::Int32Array>().ElementLength() < 1)
      throw Napi::TypeError::New(env, "begin: progress must be an Int32Array of at least one element");
    *keep = Napi::Persistent(progress.As<Napi::Object>());
    word = progress.As<Napi::Int32Array>().Data();
  }
  if (latency) {
    latency->Reset();
    latency->SetProgress(word);
  }
}

Napi::Object LatencyResult(Napi::Env env, const LatencySink& l) {
  Napi::Float64Array counts = Napi::Float64Array::New(env, l.counts().size());
  std::memcpy(counts.Data(), l.counts().data(), l.counts().size() * sizeof(double));
  Napi::Object out = Napi::Object::New(env);
  out.Set("counts", counts);
  out.Set("total", Napi::Number::New(env, static_cast<double>(l.total())));
  out.Set("min", Napi::Number::New(env, l.total() ? static_cast<double>(l.min()) : 0));
  out.Set("max", Napi::Number::New(env, static_cast<double>(l.max())));
  out.Set("seqLowSum", Napi::Number::New(env, static_cast<int32_t>(l.seq_low_sum())));
  out.Set("seqHighSum", Napi::Number::New(env, static_cast<int32_t>(l.seq_high_sum())));
  out.Set("wrongLength", Napi::Number::New(env, static_cast<double>(l.wrong_length())));
  out.Set("lastEventNs", Napi::Number::New(env, static_cast<double>(l.last_event_ns())));
  return out;
}

}  // namespace rbb
