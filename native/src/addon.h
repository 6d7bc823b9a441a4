// Shared declarations of the addon's parts. Each .cc file owns one concern:
//   bpf_object.cc   load / close the BPF object, read its counters
//   bpf_map.cc      open a map by pin or id, read its info, pin it
//   ring_mapping.cc mmap the ring, hand it to JavaScript as SharedArrayBuffers, release it
//   fd_watcher.cc   an fd's readiness on the thread's libuv loop (uv_poll)
//   syscalls.cc     BPF_PROG_TEST_RUN, epoll, CPU affinity: plain fd calls usable from any thread
//   syscall_trigger.cc  register a producer thread, make the trigger syscall in a loop
//   perf_buffer.cc  the perf buffer's per-CPU rings (libbpf perf_buffer), mapped for JavaScript too
//   native_perf_consumer.cc  the native reference consumer of the perf buffer
//   sink_result.cc  SinkState (event_sink.h) to and from JavaScript: begin(startSeq), result()
//   signals.cc      SIGINT/SIGTERM as a flag synchronous loops can read, a stop waker, a wind-down
//                   cut and a grace deadline, a second signal exits; interrupting other threads' test runs
//   waker.cc        eventfds that end another thread's epoll_wait at once
#pragma once

#include <napi.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace rbb {

// A JS Error whose message names the operation and the errno text, e.g.
// "bpf_object__load: Operation not permitted (EPERM)". err is a positive errno.
Napi::Error ErrnoError(Napi::Env env, const std::string& op, int err);

void InitBpfObject(Napi::Env env, Napi::Object exports);
void InitBpfMap(Napi::Env env, Napi::Object exports);
void InitRingMapping(Napi::Env env, Napi::Object exports);
void InitFdWatcher(Napi::Env env, Napi::Object exports);
void InitSyscalls(Napi::Env env, Napi::Object exports);
void InitNativeConsumer(Napi::Env env, Napi::Object exports);
void InitSignals(Napi::Env env, Napi::Object exports);
void InitSyscallTrigger(Napi::Env env, Napi::Object exports);
void InitPerfBuffer(Napi::Env env, Napi::Object exports);
void InitNativePerfConsumer(Napi::Env env, Napi::Object exports);
void InitWaker(Napi::Env env, Napi::Object exports);

// The syscall whose entry the syscall trigger's programs fire on (config.syscall_nr).
// getpgid is what the kernel's own benchmarks trigger (selftests/bpf/benchs):
// cheap, no side effects, never blocks.
constexpr long kTriggerSyscall = SYS_getpgid;

// An external SharedArrayBuffer over [addr, addr + len), a mapping that the
// buffer's deleter munmap()s when the last reference in any isolate is gone.
Napi::Value MappedSharedArrayBuffer(Napi::Env env, void* addr, size_t len);

// waker.cc: an eventfd for epoll sets (-1 and errno on failure), and waking it
// (async-signal-safe: the signal handler calls it).
int OpenWakerFd();
void WakeFd(int fd);

// signals.cc: 1 once an interrupted run's wind-down budget has run out; a
// native drain stops at its next record. Hidden and read inline, so the
// per-record check in the native consumers is one PC-relative load and a
// branch (callgrind, instructions per 16 B record in the callback: native
// 62 -> 65, native-copy 75 -> 80; an out-of-line call cost 13).
extern int32_t g_drain_cut __attribute__((visibility("hidden")));
inline bool CutRequested() { return __atomic_load_n(&g_drain_cut, __ATOMIC_RELAXED) != 0; }

// signals.cc: true once the process has received SIGINT or SIGTERM (the
// interrupt handlers are installed by interruptFlags(graceMs)); loops that a
// signal cannot end by itself (the syscall trigger's) look at it.
bool SignalReceived();

// ring_mapping.cc: pre-faults [addr, addr + len) so that no measured pass pays
// for page faults, in 16 MiB steps (madvise MADV_POPULATE_READ, Linux 5.14; a
// read of every page before that), and stops early once SignalReceived(): a
// stop is seen within one step rather than after the seconds MAP_POPULATE of a
// large ring takes. A mapping left partly faulted is still valid; the runner
// sees the stop before it measures anything.
void Prefault(const void* addr, size_t len);

// Argument helpers: throw a TypeError naming the argument when it is missing or
// of the wrong type. Flags are validated in TypeScript first; these catch misuse.
int64_t IntArg(const Napi::CallbackInfo& info, size_t i, const char* name);
std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* name);

}  // namespace rbb
