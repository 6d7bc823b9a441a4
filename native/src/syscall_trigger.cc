// The syscall trigger's user-space half: a producer thread registers itself
// (its tid -> producer id in producer_threads, its payload template in
// producer_events) and then makes the trigger syscall in a tight loop; the
// program attached at the syscall's entry (bpf/ringbuf_bench.bpf.c) produces
// one event per call. Plain fd calls, so producer worker threads can use them
// with fds passed in workerData.
#include <bpf/bpf.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "addon.h"
#include "ringbuf_bench.h"

namespace rbb {
namespace {

// registerSyscallProducer(threadsFd, eventsFd, producer, packet) -> tid
// Makes the calling thread producer `producer`: writes its payload template
// (the packet's bytes after the 16-byte header slot, so a syscall-triggered
// event carries exactly the bytes a test run with this packet would) and maps
// its thread id to the producer id. Call it on the thread that will make the
// syscalls.
Napi::Value RegisterSyscallProducer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int threads_fd = static_cast<int>(IntArg(info, 0, "threadsFd"));
  int events_fd = static_cast<int>(IntArg(info, 1, "eventsFd"));
  int64_t producer = IntArg(info, 2, "producer");
  if (producer < 0 || producer >= BENCH_MAX_PRODUCERS)
    throw Napi::RangeError::New(env, "registerSyscallProducer: producer out of range");
  if (info.Length() < 4 || !info[3].IsTypedArray())
    throw Napi::TypeError::New(env, "registerSyscallProducer: packet must be a Uint8Array");
  Napi::Uint8Array packet = info[3].As<Napi::Uint8Array>();

  auto value = std::make_unique<bench_event_buffer>();
  std::memset(value.get(), 0, sizeof(*value));
  const size_t room = sizeof(value->bytes) - sizeof(bench_event_header);
  std::memcpy(value->bytes + sizeof(bench_event_header), packet.Data(), std::min(packet.ByteLength(), room));
  uint32_t key = static_cast<uint32_t>(producer);
  if (bpf_map_update_elem(events_fd, &key, value.get(), BPF_ANY))
    throw ErrnoError(env, "bpf_map_update_elem(producer_events)", errno);
  uint32_t tid = static_cast<uint32_t>(gettid());
  if (bpf_map_update_elem(threads_fd, &tid, &key, BPF_ANY))
    throw ErrnoError(env, "bpf_map_update_elem(producer_threads)", errno);
  return Napi::Number::New(env, tid);
}

// unregisterSyscallProducer(threadsFd): the calling thread's syscalls make no
// more events. A thread that was not registered is not an error.
Napi::Value UnregisterSyscallProducer(const Napi::CallbackInfo& info) {
  int threads_fd = static_cast<int>(IntArg(info, 0, "threadsFd"));
  uint32_t tid = static_cast<uint32_t>(gettid());
  if (bpf_map_delete_elem(threads_fd, &tid) && errno != ENOENT)
    throw ErrnoError(info.Env(), "bpf_map_delete_elem(producer_threads)", errno);
  return info.Env().Undefined();
}

// How many trigger syscalls the loop makes between two looks at its stop
// conditions. A call with the hook attached costs 0.1-1 us, so a stop or a
// deadline is seen within about 0.25 ms, while a relaxed load and, when a
// deadline is set, a vDSO clock read per 256 calls cost well under 1 %.
constexpr int64_t kStopCheckEvery = 256;

// syscallLoop(n, stop?, deadlineNs?) -> calls made
// Makes the trigger syscall up to n times on the calling thread, with nothing
// else in the loop. getpgid(0) does not block and is not interrupted by
// signals, so every call reaches the hook (the program's counters say how
// many events that made) - and so a signal cannot end the loop the way it
// ends a BPF_PROG_TEST_RUN (EINTR). Instead, every kStopCheckEvery calls it
// returns early, with the number of calls made, when
//   - the process has received SIGINT/SIGTERM (signals.cc SignalReceived),
//   - `stop` (an Int32Array over a SharedArrayBuffer: the pipeline's control
//     block STOP word) is non-zero; it is read with a relaxed atomic load -
//     the writer stores it with Atomics.store and a late look only costs
//     another 256 calls,
//   - CLOCK_MONOTONIC (process.hrtime's clock) has reached deadlineNs,
// so a stop is never held up by a long chunk (--chunk 1000000 is seconds of
// syscalls), and --duration is kept to the call.
Napi::Value SyscallLoop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t n = IntArg(info, 0, "n");
  if (n < 0) throw Napi::RangeError::New(env, "syscallLoop: n must be >= 0");
  const int32_t* stop = nullptr;
  if (info.Length() > 1 && !info[1].IsUndefined() && !info[1].IsNull()) {
    if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
        info[1].As<Napi::Int32Array>().ElementLength() < 1)
      throw Napi::TypeError::New(env, "syscallLoop: stop must be an Int32Array of at least one element");
    stop = info[1].As<Napi::Int32Array>().Data();
  }
  uint64_t deadline = 0;
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    double d = info[2].ToNumber().DoubleValue();
    if (!(d >= 0)) throw Napi::RangeError::New(env, "syscallLoop: deadlineNs must be >= 0");
    deadline = d >= 1.8e19 ? UINT64_MAX : static_cast<uint64_t>(d);
  }
  int64_t done = 0;
  while (done < n) {
    const int64_t until = std::min(n, done + kStopCheckEvery);
    for (; done < until; done++) syscall(kTriggerSyscall, 0);
    if (done == n) break;
    if (SignalReceived()) break;
    if (stop && __atomic_load_n(stop, __ATOMIC_RELAXED) != 0) break;
    if (deadline) {
      timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      if (static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec) >= deadline) break;
    }
  }
  return Napi::Number::New(env, static_cast<double>(done));
}

// gettid(): the id producer_threads is keyed by, for tests and reports.
Napi::Value GetTid(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), gettid()); }

}  // namespace

void InitSyscallTrigger(Napi::Env env, Napi::Object exports) {
  exports.Set("registerSyscallProducer", Napi::Function::New(env, RegisterSyscallProducer, "registerSyscallProducer"));
  exports.Set("unregisterSyscallProducer", Napi::Function::New(env, UnregisterSyscallProducer, "unregisterSyscallProducer"));
  exports.Set("syscallLoop", Napi::Function::New(env, SyscallLoop, "syscallLoop"));
  exports.Set("gettid", Napi::Function::New(env, GetTid, "gettid"));
}

}  // namespace rbb
