// Ctrl-C and SIGTERM for the bench command, in a form synchronous code can see.
//
// Node runs a JavaScript signal listener only when the main thread returns to
// its event loop, but the prefill pattern fills and drains the ring in one
// synchronous stretch (a BPF_PROG_TEST_RUN of millions of repeats, a drain
// loop), and a stuck wait would never return at all. So the handler here is
// native and does only async-signal-safe things (signal-safety(7)):
//   - it counts the signal in a static word that JavaScript reads through an
//     external SharedArrayBuffer (Atomics.load), from the main thread or any
//     worker, in any loop;
//   - the first signal posts a semaphore (sem_post is async-signal-safe) that
//     wakes a deadline thread: if the process has not exited `grace` ms later,
//     it writes one line and _exit()s, so an interrupted run always ends in time;
//   - a second signal _exit()s at once.
// _exit() closes every fd, so the kernel frees the program and maps even then.
// A test run in progress on the thread that takes the signal ends early with
// EINTR (bpf_test_timer_continue() checks signal_pending()): the fill stops too.
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <v8.h>

#include <cstdint>

#include "addon.h"

namespace rbb {
namespace {

// [0] signals received, [1] the last one's number, [2] grace period in ms.
alignas(8) int32_t g_words[4];
sem_t g_deadline;
bool g_installed = false;

void WriteStderr(const char* text) {
  for (size_t left = strlen(text); left > 0;) {
    ssize_t n = write(STDERR_FILENO, text, left);
    if (n <= 0) return;
    text += n;
    left -= static_cast<size_t>(n);
  }
}

void OnSignal(int sig) {
  int32_t count = __atomic_add_fetch(&g_words[0], 1, __ATOMIC_SEQ_CST);
  __atomic_store_n(&g_words[1], sig, __ATOMIC_SEQ_CST);
  if (count >= 2) {
    WriteStderr("\nbench: interrupted again: exiting now\n");
    _exit(128 + sig);
  }
  sem_post(&g_deadline);
}

void* DeadlineThread(void*) {
  while (sem_wait(&g_deadline) != 0) {
  }
  int32_t ms = __atomic_load_n(&g_words[2], __ATOMIC_SEQ_CST);
  timespec left = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&left, &left) != 0) {
  }
  WriteStderr("bench: interrupted, and the run did not wind down within the grace period: exiting without results\n");
  _exit(128 + __atomic_load_n(&g_words[1], __ATOMIC_SEQ_CST));
  return nullptr;
}

void Install(Napi::Env env) {
  if (sem_init(&g_deadline, 0, 0)) throw ErrnoError(env, "sem_init", errno);
  // The deadline thread must never take the signals itself: create it with them blocked.
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  pthread_t thread;
  int err = pthread_create(&thread, nullptr, DeadlineThread, nullptr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (err) throw ErrnoError(env, "pthread_create(deadline)", err);
  pthread_detach(thread);
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  // No SA_RESTART: a blocking call (epoll_wait, a test run) returns EINTR so its caller looks at the flag.
  sa.sa_flags = 0;
  if (sigaction(SIGINT, &sa, nullptr) || sigaction(SIGTERM, &sa, nullptr)) throw ErrnoError(env, "sigaction", errno);
  g_installed = true;
}

// interruptFlags(graceMs?) -> SharedArrayBuffer over [count, signal, graceMs, 0] (int32).
// With graceMs (main thread, once), installs the handlers and the deadline thread;
// without, only returns a view (for workers, which share the process's words).
Napi::Value InterruptFlags(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() > 0 && !info[0].IsUndefined()) {
    int64_t grace = IntArg(info, 0, "graceMs");
    if (grace < 1 || grace > 600000) throw Napi::RangeError::New(env, "interruptFlags: graceMs out of range");
    __atomic_store_n(&g_words[2], static_cast<int32_t>(grace), __ATOMIC_SEQ_CST);
    if (!g_installed) Install(env);
  }
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  std::unique_ptr<v8::BackingStore> store =
      v8::SharedArrayBuffer::NewBackingStore(g_words, sizeof(g_words), v8::BackingStore::EmptyDeleter, nullptr);
  v8::Local<v8::Value> value = v8::SharedArrayBuffer::New(isolate, std::move(store));
  napi_value raw;
  static_assert(sizeof(raw) == sizeof(value), "napi_value is a v8::Local");
  memcpy(static_cast<void*>(&raw), static_cast<void*>(&value), sizeof(raw));
  return Napi::Value(env, raw);
}

}  // namespace

void InitSignals(Napi::Env env, Napi::Object exports) {
  exports.Set("interruptFlags", Napi::Function::New(env, InterruptFlags, "interruptFlags"));
}

}  // namespace rbb
