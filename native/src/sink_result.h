// SinkState (event_sink.h) to and from JavaScript, for every native consumer:
// begin(startSeq) resets it, result() reports it as NativeDrainResult
// (src/lib/addon.ts). One definition, so the ring buffer's and the perf
// buffer's native consumers report alike.
#pragma once

#include <napi.h>

#include "event_sink.h"
#include "latency_sink.h"

namespace rbb {

// Zeroes the checksum and counters; each producer's next sequence number from
// startSeq (an array-like of kMaxProducers numbers). Keeps copy_buffer.
void BeginSink(Napi::Env env, SinkState* s, Napi::Value start_seq);

// Adds `from` into `into`: sums events, checksum, per-producer counts and
// anomalies; a producer's next expected sequence is the later of the two when
// `from` saw that producer. For consumers that keep one SinkState per source
// (the perf buffer's per-CPU rings), where each source is in order on its own.
void MergeSink(SinkState* into, const SinkState& from);

// { events, checksum, perProducer, expectedSeq, anomalies, firstAnomaly? }
Napi::Object SinkResult(Napi::Env env, const SinkState& s);

// A native consumer's begin(startSeq, progress?): resets `latency` (when the
// consumer records latency) and points it at `progress`, an Int32Array over a
// SharedArrayBuffer where it publishes the events handled so far at every
// clock reading (--report-interval). `keep` holds the array alive until the
// next begin() or close(). `who` names the consumer in errors.
void BeginLatency(Napi::Env env, const char* who, LatencySink* latency, Napi::Value progress, Napi::ObjectReference* keep);

// What a pipeline consumer recorded (src/lib/addon.ts NativeLatency):
// { counts, total, min, max, seqLowSum, seqHighSum, wrongLength, lastEventNs }
Napi::Object LatencyResult(Napi::Env env, const LatencySink& l);

}  // namespace rbb
