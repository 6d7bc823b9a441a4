#include "addon.h"

#include <dlfcn.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>

#include <cstddef>

#include <string>

#include "ringbuf_bench.h"

namespace rbb {

Napi::Error ErrnoError(Napi::Env env, const std::string& op, int err) {
  const char* name = strerrorname_np(err);
  std::string msg = op + ": " + std::strerror(err);
  if (name) msg += std::string(" (") + name + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("errno", Napi::Number::New(env, err));
  if (name) e.Set("code", Napi::String::New(env, name));
  e.Set("syscall", Napi::String::New(env, op));
  return e;
}

int64_t IntArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsNumber())
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  return info[i].As<Napi::Number>().Int64Value();
}

std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsString())
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a string");
  return info[i].As<Napi::String>();
}

// The numbers C (bpf/ringbuf_bench.h, linux/bpf.h) and TypeScript must agree
// on. TypeScript compares them with its own constants when it loads the addon
// (src/lib/addon.ts for the ring layout, src/shared/contract.ts for the event
// format) and refuses to run if any differs.
Napi::Object Contract(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  auto set = [&](const char* name, double v) { c.Set(name, Napi::Number::New(env, v)); };
  set("ringbufHeaderSize", BPF_RINGBUF_HDR_SZ);
  set("ringbufBusyBit", BPF_RINGBUF_BUSY_BIT);
  set("ringbufDiscardBit", BPF_RINGBUF_DISCARD_BIT);
  set("eventHeaderSize", sizeof(bench_event_header));
  set("seqBits", BENCH_SEQ_BITS);
  set("maxProducers", BENCH_MAX_PRODUCERS);
  set("packetProducerOffset", BENCH_PKT_PRODUCER_OFF);
  set("maxEventSize", BENCH_MAX_EVENT_SIZE);
  set("outputMaxEventSize", BENCH_OUTPUT_MAX_EVENT_SIZE);
  // The perf ring's layout (src/lib/perf-layout.ts).
  set("perfEventHeaderSize", sizeof(perf_event_header));
  set("perfRecordSample", PERF_RECORD_SAMPLE);
  set("perfRecordLost", PERF_RECORD_LOST);
  set("perfDataHeadOffset", offsetof(perf_event_mmap_page, data_head));
  set("perfDataTailOffset", offsetof(perf_event_mmap_page, data_tail));
  set("perfDataOffsetOffset", offsetof(perf_event_mmap_page, data_offset));
  set("perfDataSizeOffset", offsetof(perf_event_mmap_page, data_size));
  return c;
}

// Keeps this library loaded until the process ends. Node dlclose()s an addon
// when the last environment that loaded it (say, the only worker that used it)
// goes away, but code in here can still be called after that: the ring
// mappings' SharedArrayBuffer deleter (ring_mapping.cc) when the isolate tears
// its buffers down, and the uv_close callback of a watcher (fd_watcher.cc).
// Calling into an unmapped library is a SIGSEGV at worker exit.
void StayLoaded() {
  Dl_info self;
  if (dladdr(reinterpret_cast<void*>(&StayLoaded), &self) && self.dli_fname)
    dlopen(self.dli_fname, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
}

}  // namespace rbb

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  rbb::StayLoaded();
  rbb::InitBpfObject(env, exports);
  rbb::InitBpfMap(env, exports);
  rbb::InitRingMapping(env, exports);
  rbb::InitFdWatcher(env, exports);
  rbb::InitSyscalls(env, exports);
  rbb::InitNativeConsumer(env, exports);
  rbb::InitSignals(env, exports);
  rbb::InitSyscallTrigger(env, exports);
  rbb::InitPerfBuffer(env, exports);
  rbb::InitNativePerfConsumer(env, exports);
  rbb::InitWaker(env, exports);
  exports.Set("contract", rbb::Contract(env));
  return exports;
}

NODE_API_MODULE(ringbuf_bench, Init)
