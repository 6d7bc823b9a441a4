// Plain fd-based calls. They hold no JavaScript object, so producer and
// consumer worker threads can call them with fds passed in workerData.
#include <bpf/bpf.h>
#include <sched.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "addon.h"

namespace rbb {
namespace {

// testRun(progFd, packet: Uint8Array, repeat) -> { retval, durationNs }
// BPF_PROG_TEST_RUN runs the program `repeat` times in the kernel on this
// thread's CPU; durationNs is the kernel's average per run.
Napi::Value TestRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = static_cast<int>(IntArg(info, 0, "progFd"));
  if (info.Length() < 2 || !info[1].IsTypedArray())
    throw Napi::TypeError::New(env, "testRun: packet must be a Uint8Array");
  Napi::Uint8Array packet = info[1].As<Napi::Uint8Array>();
  int64_t repeat = IntArg(info, 2, "repeat");
  if (repeat < 1 || repeat > UINT32_MAX) throw Napi::RangeError::New(env, "testRun: repeat out of range");

  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.Data(),
              .data_size_in = static_cast<__u32>(packet.ByteLength()),
              .repeat = static_cast<int>(repeat));
  if (bpf_prog_test_run_opts(fd, &opts)) throw ErrnoError(env, "bpf_prog_test_run_opts", errno);
  Napi::Object out = Napi::Object::New(env);
  out.Set("retval", Napi::Number::New(env, opts.retval));
  out.Set("durationNs", Napi::Number::New(env, opts.duration));
  return out;
}

// Tags epollWait() reports: the ring fd's is fixed here; epollAdd() callers
// pick their own bits (src/lib/waker.ts names them).
constexpr uint32_t kTagRing = 1;
constexpr uint32_t kTagMax = 1u << 30;

// epollOpen(ringFd) -> epfd. The ring fd is readable when the kernel has
// signalled new data (adaptive or forced wake-up; never with BPF_RB_NO_WAKEUP);
// epollWait() reports it as tag 1.
Napi::Value EpollOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int ring_fd = static_cast<int>(IntArg(info, 0, "ringFd"));
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) throw ErrnoError(env, "epoll_create1", errno);
  epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.u32 = kTagRing;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, ring_fd, &ev)) {
    int err = errno;
    close(epfd);
    throw ErrnoError(env, "epoll_ctl(EPOLL_CTL_ADD, ring)", err);
  }
  return Napi::Number::New(env, epfd);
}

// epollAdd(epfd, fd, tag): adds fd (a waker, waker.cc) to the set,
// edge-triggered: epollWait() reports `tag` once per wake-up of fd.
Napi::Value EpollAdd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int epfd = static_cast<int>(IntArg(info, 0, "epfd"));
  int fd = static_cast<int>(IntArg(info, 1, "fd"));
  int64_t tag = IntArg(info, 2, "tag");
  if (tag <= kTagRing || tag > kTagMax || (tag & (tag - 1)) != 0)
    throw Napi::RangeError::New(env, "epollAdd: tag must be a bit from 2 to 2^30");
  epoll_event ev = {};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.u32 = static_cast<uint32_t>(tag);
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)) throw ErrnoError(env, "epoll_ctl(EPOLL_CTL_ADD)", errno);
  return env.Undefined();
}

// epollWait(epfd, timeoutMs) -> the OR of the ready fds' tags; 0 when the
// timeout passed or a signal cut the wait short (EINTR: the caller re-checks
// its stop flag). With only the ring in the set that is 1 or 0, the number of
// ready fds as before. Blocks the calling thread: call it from a worker, not
// the main thread.
Napi::Value EpollWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int epfd = static_cast<int>(IntArg(info, 0, "epfd"));
  int timeout = static_cast<int>(IntArg(info, 1, "timeoutMs"));
  epoll_event ev[8];
  int n = epoll_wait(epfd, ev, 8, timeout);
  if (n < 0 && errno == EINTR) n = 0;
  if (n < 0) throw ErrnoError(env, "epoll_wait", errno);
  uint32_t tags = 0;
  for (int i = 0; i < n; i++) tags |= ev[i].data.u32;
  return Napi::Number::New(env, tags);
}

Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  int fd = static_cast<int>(IntArg(info, 0, "fd"));
  if (close(fd)) throw ErrnoError(info.Env(), "close", errno);
  return info.Env().Undefined();
}

// setAffinity(cpu): pins the calling thread (worker or main) to one CPU.
Napi::Value SetAffinity(const Napi::CallbackInfo& info) {
  int cpu = static_cast<int>(IntArg(info, 0, "cpu"));
  if (cpu < 0 || cpu >= CPU_SETSIZE) throw Napi::RangeError::New(info.Env(), "setAffinity: cpu out of range");
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set)) throw ErrnoError(info.Env(), "sched_setaffinity", errno);
  return info.Env().Undefined();
}

Napi::Value PageSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(sysconf(_SC_PAGESIZE)));
}

}  // namespace

void InitSyscalls(Napi::Env env, Napi::Object exports) {
  exports.Set("testRun", Napi::Function::New(env, TestRun, "testRun"));
  exports.Set("epollOpen", Napi::Function::New(env, EpollOpen, "epollOpen"));
  exports.Set("epollAdd", Napi::Function::New(env, EpollAdd, "epollAdd"));
  exports.Set("epollWait", Napi::Function::New(env, EpollWait, "epollWait"));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
  exports.Set("setAffinity", Napi::Function::New(env, SetAffinity, "setAffinity"));
  exports.Set("pageSize", Napi::Function::New(env, PageSize, "pageSize"));
}

}  // namespace rbb
