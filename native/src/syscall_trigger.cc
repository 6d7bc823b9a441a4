// The syscall trigger's user-space half: a producer thread registers itself
// (its tid -> producer id in producer_threads, its payload template in
// producer_events) and then makes the trigger syscall in a tight loop; the
// program attached at the syscall's entry (bpf/ringbuf_bench.bpf.c) produces
// one event per call. Plain fd calls, so producer worker threads can use them
// with fds passed in workerData.
#include <bpf/bpf.h>
#include <unistd.h>

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

// syscallLoop(n) -> n: makes the trigger syscall n times on the calling
// thread, with nothing else in the loop. getpgid(0) does not block and is not
// interrupted by signals, so every call reaches the hook; the program's
// counters say how many events that made.
Napi::Value SyscallLoop(const Napi::CallbackInfo& info) {
  int64_t n = IntArg(info, 0, "n");
  if (n < 0) throw Napi::RangeError::New(info.Env(), "syscallLoop: n must be >= 0");
  for (int64_t i = 0; i < n; i++) syscall(kTriggerSyscall, 0);
  return Napi::Number::New(info.Env(), static_cast<double>(n));
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
