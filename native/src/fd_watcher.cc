// Readiness of an fd on the calling thread's own libuv loop (uv_poll), so the
// main thread can wait for a ring without blocking: libuv's epoll calls back
// when the fd is readable, between timers and other I/O.
//
// Semantics the TypeScript side (src/lib/ring-readiness.ts) relies on:
//  - libuv registers uv_poll fds level-triggered (src/unix/linux.c uv__io_poll
//    passes the requested events without EPOLLET). A ring's fd polls readable
//    while the kernel's consumer position differs from its producer position
//    (kernel/bpf/ringbuf.c ringbuf_map_poll_kern -> ringbuf_avail_data_sz),
//    so a started watcher fires on every loop iteration until the consumer has
//    published a position that catches up. The callback therefore stops
//    nothing by itself; the TypeScript side starts the watcher only while it
//    waits and stops it when it wakes.
//  - A stopped watcher is inactive, so it never keeps the process alive;
//    a started one does, unless unref()'d.
//  - uv_poll_stop() takes the fd out of libuv's epoll set at once
//    (uv__platform_invalidate_fd -> EPOLL_CTL_DEL), so the fd may be closed
//    right after stop() or close().
//  - uv_poll_init() makes the fd O_NONBLOCK (a flag of the open file, shared
//    with every dup of it). BPF map fds do not read or write, so nothing changes.
//
// new FdWatcher(fd, callback(error: Error | null, events: number))
//   .start()  watch for readability (idempotent)
//   .stop()   stop watching (idempotent)
//   .close()  stop and free the uv handle; later calls throw
//   .ref() / .unref()  whether a started watcher keeps the process alive
//   .active   true while started
// callback runs on this thread's loop; it gets an Error (the watcher is then
// stopped) when libuv reports POLLERR, else the event bits (UV_READABLE = 1).
#include <uv.h>

#include <string>

#include "addon.h"

namespace rbb {
namespace {

Napi::Error UvError(Napi::Env env, const std::string& op, int status) {
  Napi::Error e = Napi::Error::New(env, op + ": " + uv_strerror(status) + " (" + uv_err_name(status) + ")");
  e.Set("errno", Napi::Number::New(env, -status));
  e.Set("code", Napi::String::New(env, uv_err_name(status)));
  e.Set("syscall", Napi::String::New(env, op));
  return e;
}

class FdWatcher : public Napi::ObjectWrap<FdWatcher> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "FdWatcher",
                       {
                           InstanceMethod<&FdWatcher::Start>("start"),
                           InstanceMethod<&FdWatcher::Stop>("stop"),
                           InstanceMethod<&FdWatcher::Close>("close"),
                           InstanceMethod<&FdWatcher::RefHandle>("ref"),
                           InstanceMethod<&FdWatcher::UnrefHandle>("unref"),
                           InstanceAccessor<&FdWatcher::Active>("active"),
                       });
  }

  FdWatcher(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<FdWatcher>(info), env_(info.Env()), async_(info.Env(), "RingFdWatcher") {
    Napi::Env env = info.Env();
    fd_ = static_cast<int>(IntArg(info, 0, "fd"));
    if (info.Length() < 2 || !info[1].IsFunction()) throw Napi::TypeError::New(env, "callback must be a function");
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || !loop) throw Napi::Error::New(env, "FdWatcher: no libuv loop");
    auto* handle = new uv_poll_t;
    int status = uv_poll_init(loop, handle, fd_);
    if (status) {
      delete handle;
      throw UvError(env, "uv_poll_init(fd " + std::to_string(fd_) + ")", status);
    }
    handle->data = this;
    handle_ = handle;
    // Kept on the wrapper object rather than in a persistent reference: a
    // persistent one is a GC root, and a callback that reaches this object
    // would keep a stopped, forgotten watcher alive forever. While started,
    // Ref() keeps the object, and so the callback, alive.
    info.This().As<Napi::Object>().DefineProperty(Napi::PropertyDescriptor::Value(kCallback, info[1], napi_default));
    // A worker's loop is closed when the worker exits, and libuv refuses to
    // close a loop that still has handles (Node aborts then): close ours first.
    napi_add_env_cleanup_hook(env, CleanupHook, this);
  }

  ~FdWatcher() override {
    CloseHandle();
    if (!torn_down_) napi_remove_env_cleanup_hook(env_, CleanupHook, this);
  }

 private:
  static void CleanupHook(void* arg) {
    auto* self = static_cast<FdWatcher*>(arg);
    self->torn_down_ = true;
    self->CloseHandle();
  }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    auto* self = static_cast<FdWatcher*>(handle->data);
    Napi::Env env = self->env_;
    Napi::HandleScope scope(env);
    self->Ref();  // the callback may stop the watcher and drop the last reference to it
    Napi::Value error = env.Null();
    if (status < 0) {
      // libuv stopped the handle itself (POLLERR).
      self->MarkStopped();
      error = UvError(env, "uv_poll(fd " + std::to_string(self->fd_) + ")", status).Value();
    }
    try {
      Napi::Object wrapper = self->Value();
      wrapper.Get(kCallback).As<Napi::Function>().MakeCallback(wrapper, {error, Napi::Number::New(env, events)}, self->async_);
    } catch (const Napi::Error& e) {
      // No JavaScript frame to throw into: report it as uncaught.
      napi_fatal_exception(env, e.Value());
    }
    self->Unref();
  }

  Napi::Value Start(const Napi::CallbackInfo& info) {
    RequireOpen(info.Env(), "start");
    if (!started_) {
      int status = uv_poll_start(handle_, UV_READABLE, OnPoll);
      if (status) throw UvError(info.Env(), "uv_poll_start(fd " + std::to_string(fd_) + ")", status);
      started_ = true;
      Ref();  // a started watcher must outlive its JavaScript references: libuv will call it
    }
    return info.Env().Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    RequireOpen(info.Env(), "stop");
    if (started_) uv_poll_stop(handle_);
    MarkStopped();
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    MarkStopped();
    CloseHandle();
    return info.Env().Undefined();
  }

  Napi::Value RefHandle(const Napi::CallbackInfo& info) {
    RequireOpen(info.Env(), "ref");
    uv_ref(reinterpret_cast<uv_handle_t*>(handle_));
    return info.Env().Undefined();
  }

  Napi::Value UnrefHandle(const Napi::CallbackInfo& info) {
    RequireOpen(info.Env(), "unref");
    uv_unref(reinterpret_cast<uv_handle_t*>(handle_));
    return info.Env().Undefined();
  }

  Napi::Value Active(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), started_); }

  void RequireOpen(Napi::Env env, const char* what) {
    if (!handle_) throw Napi::Error::New(env, std::string("FdWatcher.") + what + ": the watcher is closed");
  }

  void MarkStopped() {
    if (!started_) return;
    started_ = false;
    Unref();
  }

  // uv_close() stops the poll (uv__poll_close) and frees the handle on the
  // loop's next turn; the fd itself stays open: it belongs to the caller.
  void CloseHandle() {
    if (!handle_) return;
    uv_close(reinterpret_cast<uv_handle_t*>(handle_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    handle_ = nullptr;
  }

  static constexpr const char* kCallback = "onReadable";

  Napi::Env env_;
  Napi::AsyncContext async_;
  uv_poll_t* handle_ = nullptr;
  int fd_ = -1;
  bool started_ = false;
  bool torn_down_ = false;  // the environment's cleanup hook ran (and is gone)
};

}  // namespace

void InitFdWatcher(Napi::Env env, Napi::Object exports) {
  exports.Set("FdWatcher", FdWatcher::Define(env));
}

}  // namespace rbb
