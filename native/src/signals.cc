// Ctrl-C and SIGTERM for the commands, in a form synchronous code can see, and
// the ways a stop reaches threads that are blocked or busy.
//
// Node runs a JavaScript signal listener only when the main thread returns to
// its event loop, but the prefill pattern fills and drains the ring in one
// synchronous stretch (a BPF_PROG_TEST_RUN of millions of repeats, a drain
// loop), and a stuck wait would never return at all. So the handler here is
// native and does only async-signal-safe things (signal-safety(7)):
//   - it counts the signal in a static word that JavaScript reads through an
//     external SharedArrayBuffer (Atomics.load), from the main thread or any
//     worker, in any loop;
//   - it writes the stop waker (an eventfd, waker.cc): a consumer that has it
//     in its epoll set wakes at once, whatever its read timeout;
//   - the first signal posts a semaphore (sem_post is async-signal-safe) that
//     wakes a deadline thread, which
//       after the wind-down budget cuts short what is still draining: an
//       interruptible section (RunInterruptibly: the prefill's drain, whose
//       run is then dropped) is terminated with v8::Isolate::TerminateExecution,
//       which is safe from any thread, and the native consumers' callbacks
//       stop at their next record (CutRequested);
//       after the grace period, if the process is still there, writes one line
//       and _exit()s, so an interrupted run always ends in time;
//   - a second signal _exit()s at once.
// _exit() closes every fd, so the kernel frees the program and maps even then.
// A test run in progress on the thread that takes the signal ends early with
// EINTR (bpf_test_timer_continue() checks signal_pending()); test runs on other
// threads (the pipeline's producers) are ended by InterruptThreads, which sends
// those threads SIGURG, whose handler does nothing but make the call return.
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <v8.h>

#include <climits>
#include <cstdint>
#include <mutex>

#include "addon.h"

namespace rbb {
namespace {

// The words JavaScript sees (src/cli/interrupt.ts names them):
// [0] signals received, [1] the last one's number, [2] grace period in ms,
// [3] the stop waker's fd (-1 before install), [4] wind-down budget in ms,
// [5] 1 once the wind-down budget has run out (drains are being cut).
alignas(8) int32_t g_words[8] = {0, 0, 0, -1, 0, 0, 0, 0};
constexpr int kCount = 0, kSignal = 1, kGrace = 2, kWakeFd = 3, kWindDown = 4, kCut = 5;
sem_t g_deadline;
bool g_installed = false;

// The one interruptible section (the main thread's drain), guarded by g_section_mu:
// the deadline thread terminates it only while it is active, and the thread that
// leaves it cancels a termination that arrived too late to take effect.
std::mutex g_section_mu;
v8::Isolate* g_section_isolate = nullptr;
bool g_section_terminated = false;

void WriteStderr(const char* text) {
  for (size_t left = strlen(text); left > 0;) {
    ssize_t n = write(STDERR_FILENO, text, left);
    if (n <= 0) return;
    text += n;
    left -= static_cast<size_t>(n);
  }
}

void OnSignal(int sig) {
  int32_t count = __atomic_add_fetch(&g_words[kCount], 1, __ATOMIC_SEQ_CST);
  __atomic_store_n(&g_words[kSignal], sig, __ATOMIC_SEQ_CST);
  if (count >= 2) {
    WriteStderr("\nbench: interrupted again: exiting now\n");
    _exit(128 + sig);
  }
  int wake_fd = __atomic_load_n(&g_words[kWakeFd], __ATOMIC_SEQ_CST);
  if (wake_fd >= 0) WakeFd(wake_fd);
  sem_post(&g_deadline);
}

void SleepMs(int32_t ms) {
  if (ms <= 0) return;
  timespec left = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&left, &left) != 0) {
  }
}

void Cut() {
  std::lock_guard<std::mutex> lock(g_section_mu);
  __atomic_store_n(&g_words[kCut], 1, __ATOMIC_SEQ_CST);
  __atomic_store_n(&g_drain_cut, 1, __ATOMIC_SEQ_CST);
  if (g_section_isolate && !g_section_terminated) {
    g_section_isolate->TerminateExecution();
    g_section_terminated = true;
  }
}

void* DeadlineThread(void*) {
  while (sem_wait(&g_deadline) != 0) {
  }
  int32_t wind_down = __atomic_load_n(&g_words[kWindDown], __ATOMIC_SEQ_CST);
  int32_t grace = __atomic_load_n(&g_words[kGrace], __ATOMIC_SEQ_CST);
  SleepMs(wind_down);
  Cut();
  SleepMs(grace - wind_down);
  WriteStderr("bench: interrupted, and the run did not wind down within the grace period: exiting without results\n");
  _exit(128 + __atomic_load_n(&g_words[kSignal], __ATOMIC_SEQ_CST));
  return nullptr;
}

void Install(Napi::Env env) {
  if (sem_init(&g_deadline, 0, 0)) throw ErrnoError(env, "sem_init", errno);
  int wake_fd = OpenWakerFd();
  if (wake_fd < 0) throw ErrnoError(env, "eventfd(stop waker)", errno);
  // The deadline thread must never take the signals itself: create it with them blocked.
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  // It only sleeps, writes and exits: a small stack, so it starts even under a
  // low address-space limit (ulimit -v) that the default 8 MiB would not fit.
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, static_cast<size_t>(sysconf(_SC_THREAD_STACK_MIN)) + 64 * 1024);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  pthread_t thread;
  int err = pthread_create(&thread, &attr, DeadlineThread, nullptr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_attr_destroy(&attr);
  if (err) {
    close(wake_fd);
    throw ErrnoError(env, "pthread_create(deadline)", err);
  }
  pthread_detach(thread);
  __atomic_store_n(&g_words[kWakeFd], wake_fd, __ATOMIC_SEQ_CST);
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  // No SA_RESTART: a blocking call (epoll_wait, a test run) returns EINTR so its caller looks at the flag.
  sa.sa_flags = 0;
  if (sigaction(SIGINT, &sa, nullptr) || sigaction(SIGTERM, &sa, nullptr)) throw ErrnoError(env, "sigaction", errno);
  g_installed = true;
}

// napi_value and v8::Local<v8::Value> are the same handle in Node's N-API.
Napi::Value FromV8(Napi::Env env, v8::Local<v8::Value> value) {
  napi_value raw;
  static_assert(sizeof(raw) == sizeof(value), "napi_value is a v8::Local");
  memcpy(static_cast<void*>(&raw), static_cast<void*>(&value), sizeof(raw));
  return Napi::Value(env, raw);
}

v8::Local<v8::Value> ToV8(Napi::Value value) {
  napi_value raw = value;
  v8::Local<v8::Value> local;
  memcpy(static_cast<void*>(&local), static_cast<void*>(&raw), sizeof(raw));
  return local;
}

// interruptFlags(graceMs?, windDownMs?) -> SharedArrayBuffer over the words above (int32).
// With graceMs (main thread), installs the handlers, the stop waker and the
// deadline thread once; without, only returns a view (for workers, which share
// the process's words).
Napi::Value InterruptFlags(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() > 0 && !info[0].IsUndefined()) {
    int64_t grace = IntArg(info, 0, "graceMs");
    int64_t wind_down = info.Length() > 1 && !info[1].IsUndefined() ? IntArg(info, 1, "windDownMs") : grace;
    if (grace < 1 || grace > 600000) throw Napi::RangeError::New(env, "interruptFlags: graceMs out of range");
    if (wind_down < 0 || wind_down > grace) throw Napi::RangeError::New(env, "interruptFlags: windDownMs must be from 0 to graceMs");
    __atomic_store_n(&g_words[kGrace], static_cast<int32_t>(grace), __ATOMIC_SEQ_CST);
    __atomic_store_n(&g_words[kWindDown], static_cast<int32_t>(wind_down), __ATOMIC_SEQ_CST);
    if (!g_installed) Install(env);
  }
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  std::unique_ptr<v8::BackingStore> store =
      v8::SharedArrayBuffer::NewBackingStore(g_words, sizeof(g_words), v8::BackingStore::EmptyDeleter, nullptr);
  return FromV8(env, v8::SharedArrayBuffer::New(isolate, std::move(store)));
}

// runInterruptibly(fn) -> true if fn returned, false if the wind-down budget ran
// out first and the deadline thread terminated it (its work is then partial and
// must be dropped). An exception fn throws is rethrown. One section at a time.
Napi::Value RunInterruptibly(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) throw Napi::TypeError::New(env, "runInterruptibly(fn)");
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  {
    std::lock_guard<std::mutex> lock(g_section_mu);
    if (g_section_isolate) throw Napi::Error::New(env, "runInterruptibly: already inside an interruptible section");
    if (__atomic_load_n(&g_words[kCut], __ATOMIC_SEQ_CST)) return Napi::Boolean::New(env, false);
    g_section_isolate = isolate;
    g_section_terminated = false;
  }
  v8::Local<v8::Function> fn = ToV8(info[0]).As<v8::Function>();
  v8::TryCatch try_catch(isolate);
  v8::MaybeLocal<v8::Value> result = fn->Call(isolate->GetCurrentContext(), v8::Undefined(isolate), 0, nullptr);
  (void)result;
  bool terminated;
  {
    std::lock_guard<std::mutex> lock(g_section_mu);
    terminated = g_section_terminated;
    g_section_isolate = nullptr;
    // Also when fn had already returned: a termination requested after that
    // must not hit whatever JavaScript runs next.
    if (terminated) isolate->CancelTerminateExecution();
  }
  if (terminated) return Napi::Boolean::New(env, false);
  if (try_catch.HasCaught()) {
    try_catch.ReThrow();
    return env.Undefined();
  }
  return Napi::Boolean::New(env, true);
}

void OnNudge(int) {}

// SIGURG: its default action is to ignore it, so a nudge that arrives before
// the handler is installed is harmless; with the handler it ends the target
// thread's test run (EINTR), and SA_RESTART lets every restartable call go on.
void InstallNudge() {
  struct sigaction sa = {};
  sa.sa_handler = OnNudge;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGURG, &sa, nullptr);
}

// threadId() -> the calling thread's kernel id, for interruptThreads().
Napi::Value ThreadId(const Napi::CallbackInfo& info) {
  static std::once_flag once;
  std::call_once(once, InstallNudge);
  return Napi::Number::New(info.Env(), static_cast<double>(gettid()));
}

// interruptThreads(tids): ends the BPF_PROG_TEST_RUN (or other interruptible
// call) each of these threads of this process is in. A thread that has already
// gone is skipped (ESRCH).
Napi::Value InterruptThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "interruptThreads(tids)");
  Napi::Object tids = info[0].As<Napi::Object>();
  uint32_t n = tids.Get("length").As<Napi::Number>().Uint32Value();
  pid_t pid = getpid();
  for (uint32_t i = 0; i < n; i++) {
    int64_t tid = tids.Get(i).As<Napi::Number>().Int64Value();
    if (tid > 0 && tid <= INT_MAX) tgkill(pid, static_cast<pid_t>(tid), SIGURG);
  }
  return env.Undefined();
}

}  // namespace

int32_t g_drain_cut = 0;

bool SignalReceived() { return __atomic_load_n(&g_words[kCount], __ATOMIC_RELAXED) > 0; }

void InitSignals(Napi::Env env, Napi::Object exports) {
  exports.Set("interruptFlags", Napi::Function::New(env, InterruptFlags, "interruptFlags"));
  exports.Set("runInterruptibly", Napi::Function::New(env, RunInterruptibly, "runInterruptibly"));
  exports.Set("threadId", Napi::Function::New(env, ThreadId, "threadId"));
  exports.Set("interruptThreads", Napi::Function::New(env, InterruptThreads, "interruptThreads"));
}

}  // namespace rbb
