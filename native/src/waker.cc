// Wakers: a way to end another thread's epoll_wait at once, whatever its
// timeout. A waker is an eventfd; the waiting thread adds it to its epoll set
// (epollAdd, edge-triggered) next to the ring fd, and anyone holding the fd
// number (any thread, or a signal handler) calls wake().
//
// Edge-triggered, so nobody has to read the counter back: every write to an
// eventfd wakes its wait queue (fs/eventfd.c eventfd_write -> wake_up_locked_poll),
// and epoll queues an edge-triggered item again on every wake-up
// (fs/eventpoll.c ep_poll_callback), so each wake() ends exactly one
// epoll_wait, also one that starts after the write. The counter only grows;
// at one write per stop or per finished producer it never nears 2^64 - 2.
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

#include "addon.h"

namespace rbb {

// write(2) is async-signal-safe (signal-safety(7)): signals.cc calls this from
// its handler. A full counter (EAGAIN) cannot happen at our rates and would
// still leave the fd readable, so the result is ignored on purpose.
void WakeFd(int fd) {
  const uint64_t one = 1;
  ssize_t n = write(fd, &one, sizeof(one));
  (void)n;
}

int OpenWakerFd() { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

namespace {

// wakerOpen() -> fd. Close it with closeFd() once no thread can wake it any more.
Napi::Value WakerOpen(const Napi::CallbackInfo& info) {
  int fd = OpenWakerFd();
  if (fd < 0) throw ErrnoError(info.Env(), "eventfd(waker)", errno);
  return Napi::Number::New(info.Env(), fd);
}

// wake(fd): ends the epoll_wait of every thread that has fd in its set (once each).
Napi::Value Wake(const Napi::CallbackInfo& info) {
  WakeFd(static_cast<int>(IntArg(info, 0, "fd")));
  return info.Env().Undefined();
}

}  // namespace

void InitWaker(Napi::Env env, Napi::Object exports) {
  exports.Set("wakerOpen", Napi::Function::New(env, WakerOpen, "wakerOpen"));
  exports.Set("wake", Napi::Function::New(env, Wake, "wake"));
}

}  // namespace rbb
