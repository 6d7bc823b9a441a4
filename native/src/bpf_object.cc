// The BPF object's lifecycle: open the committed .o, set the .rodata config
// and the ring size, pick the one program the trigger needs (libbpf
// autoload), load, attach it for the syscall trigger, and close.
// Only the main thread owns a BpfObject; workers get plain fds from it.
//
// The syscall trigger tries its hooks in order and keeps the first one this
// kernel both loads and attaches (see kSyscallHooks); each candidate is a
// fresh open + load, because a failed bpf_object__load() leaves nothing to
// retry with. Every failure's reason is kept, for the report and for the
// error when none works.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <string>
#include <vector>

#include "addon.h"
#include "ringbuf_bench.h"

namespace rbb {
namespace {

// libbpf prints warnings and the verifier log through this hook. Keep the last
// lines so a failed load can say why, and stay quiet otherwise.
thread_local std::string g_libbpf_log;

int CaptureLibbpfLog(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  // One message can be the whole verifier log, whose end says why: format it all, keep the tail.
  va_list again;
  va_copy(again, args);
  int n = vsnprintf(nullptr, 0, fmt, again);
  va_end(again);
  if (n <= 0) return n;
  std::string msg(static_cast<size_t>(n) + 1, '\0');
  vsnprintf(msg.data(), msg.size(), fmt, args);
  msg.resize(static_cast<size_t>(n));
  g_libbpf_log += msg;
  if (g_libbpf_log.size() > 8192) g_libbpf_log.erase(0, g_libbpf_log.size() - 8192);
  if (getenv("RINGBUF_BENCH_LIBBPF_LOG")) fputs(msg.c_str(), stderr);
  return n;
}

bpf_map* FindInternalMap(bpf_object* obj, const char* suffix) {
  bpf_map* map;
  bpf_object__for_each_map(map, obj) {
    std::string name = bpf_map__name(map);
    if (name.size() >= strlen(suffix) && name.compare(name.size() - strlen(suffix), std::string::npos, suffix) == 0)
      return map;
  }
  return nullptr;
}

// The kernel's function for that syscall, for fentry: the arch's syscall wrapper.
#if defined(__x86_64__)
constexpr const char* kSyscallFunction = "__x64_sys_getpgid";
#elif defined(__aarch64__)
constexpr const char* kSyscallFunction = "__arm64_sys_getpgid";
#elif defined(__s390x__)
constexpr const char* kSyscallFunction = "__s390x_sys_getpgid";
#elif defined(__riscv)
constexpr const char* kSyscallFunction = "__riscv_sys_getpgid";
#else
constexpr const char* kSyscallFunction = nullptr;
#endif

// PROC_PID_INIT_INO (include/linux/proc_ns.h): the initial pid namespace's inode.
constexpr uint64_t kInitPidNamespaceIno = 0xEFFFFFFCU;

// One way to run the program: the tc program for BPF_PROG_TEST_RUN, or one
// of the syscall hooks. `option` is the name TypeScript passes in `hooks`.
struct Candidate {
  const char* option;
  const char* program;
  std::string label;  // what the report prints: section/target
};

Candidate TestRunCandidate() { return {"test-run", "produce", "test-run (tc, BPF_PROG_TEST_RUN)"}; }

// In order of preference: fentry fires only for this syscall; tp_btf and
// raw_tp fire for every syscall and filter by number (tp_btf reads its
// arguments with BTF-checked direct loads, raw_tp is the oldest and most
// widely available). kprobe/ and tp/syscalls/ are left out: they need tracefs
// (ENOENT on this project's VM) and do nothing raw_tp cannot.
std::vector<Candidate> SyscallCandidates() {
  std::string fentry = std::string("fentry/") + (kSyscallFunction ? kSyscallFunction : "<unknown arch>");
  return {
      {"fentry", "produce_fentry", fentry},
      {"tp_btf", "produce_tp_btf", "tp_btf/sys_enter"},
      {"raw_tp", "produce_raw_tp", "raw_tp/sys_enter"},
  };
}

const char* kAllPrograms[] = {"produce", "produce_fentry", "produce_tp_btf", "produce_raw_tp"};

std::string StringOption(Napi::Object opts, const char* name, const char* fallback) {
  if (!opts.Has(name) || opts.Get(name).IsUndefined()) return fallback;
  Napi::Value v = opts.Get(name);
  if (!v.IsString()) throw Napi::TypeError::New(opts.Env(), std::string("BpfObject: ") + name + " must be a string");
  return v.As<Napi::String>();
}

uint64_t NumberOption(Napi::Object opts, const char* name, uint64_t fallback) {
  if (!opts.Has(name) || opts.Get(name).IsUndefined()) return fallback;
  Napi::Value v = opts.Get(name);
  if (!v.IsNumber() || v.As<Napi::Number>().DoubleValue() < 0)
    throw Napi::TypeError::New(opts.Env(), std::string("BpfObject: ") + name + " must be a non-negative number");
  return static_cast<uint64_t>(v.As<Napi::Number>().Int64Value());
}

// A failed step: which libbpf call, its errno, and libbpf's last words.
struct Failure {
  std::string op;
  int err = 0;
  std::string log;
};

class BpfObject : public Napi::ObjectWrap<BpfObject> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "BpfObject",
                       {
                           InstanceAccessor<&BpfObject::ProgFd>("progFd"),
                           InstanceAccessor<&BpfObject::RingFd>("ringFd"),
                           InstanceAccessor<&BpfObject::StateFd>("stateFd"),
                           InstanceAccessor<&BpfObject::PerfMapFd>("perfMapFd"),
                           InstanceAccessor<&BpfObject::ThreadsFd>("producerThreadsFd"),
                           InstanceAccessor<&BpfObject::TemplatesFd>("producerEventsFd"),
                           InstanceAccessor<&BpfObject::Hook>("hook"),
                           InstanceAccessor<&BpfObject::HookFailures>("hookFailures"),
                           InstanceMethod<&BpfObject::Close>("close"),
                       });
  }

  // new BpfObject(path, { eventSize, ringSize, submitFlags, discardEvery,
  //                       buffer, submit, wakeupThreshold, trigger, hooks })
  BpfObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfObject>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsObject())
      throw Napi::TypeError::New(env, "BpfObject(path, options)");
    path_ = info[0].As<Napi::String>().Utf8Value();
    Napi::Object opts = info[1].As<Napi::Object>();
    ParseOptions(env, opts);

    libbpf_set_print(CaptureLibbpfLog);
    std::vector<Candidate> candidates = trigger_syscall_ ? ChosenHooks(env, opts) : std::vector<Candidate>{TestRunCandidate()};
    std::vector<std::pair<const Candidate*, Failure>> failed;
    for (const Candidate& c : candidates) {
      Failure why;
      if (TryLoad(c, &why)) {
        hook_ = c.label;
        break;
      }
      failed.emplace_back(&c, why);
    }
    for (auto& [c, why] : failed)
      hook_failures_.push_back(c->label + ": " + why.op + ": " + ErrnoText(why.err));
    if (!obj_) throw LoadError(env, candidates, failed);
  }

  ~BpfObject() override { Release(); }

 private:
  void ParseOptions(Napi::Env env, Napi::Object opts) {
    config_.event_size = static_cast<uint32_t>(NumberOption(opts, "eventSize", 0));
    config_.discard_every = static_cast<uint32_t>(NumberOption(opts, "discardEvery", 0));
    config_.submit_flags = NumberOption(opts, "submitFlags", 0);
    config_.wakeup_threshold = NumberOption(opts, "wakeupThreshold", 0);
    ring_size_ = static_cast<uint32_t>(NumberOption(opts, "ringSize", 0));
    std::string buffer = StringOption(opts, "buffer", "ringbuf");
    std::string submit = StringOption(opts, "submit", "reserve");
    std::string trigger = StringOption(opts, "trigger", "test-run");
    if (buffer != "ringbuf" && buffer != "perfbuf") throw Napi::TypeError::New(env, "BpfObject: buffer must be ringbuf or perfbuf");
    if (submit != "reserve" && submit != "output") throw Napi::TypeError::New(env, "BpfObject: submit must be reserve or output");
    if (trigger != "test-run" && trigger != "syscall") throw Napi::TypeError::New(env, "BpfObject: trigger must be test-run or syscall");
    config_.buffer = buffer == "perfbuf" ? BENCH_BUFFER_PERFBUF : BENCH_BUFFER_RINGBUF;
    config_.submit = submit == "output" ? BENCH_SUBMIT_OUTPUT : BENCH_SUBMIT_RESERVE;
    trigger_syscall_ = trigger == "syscall";
    config_.syscall_nr = static_cast<uint32_t>(kTriggerSyscall);

    // TypeScript validates flags first (exit 2, nothing loaded); these stop misuse of the API.
    auto range = [&](const std::string& msg) { throw Napi::RangeError::New(env, "BpfObject: " + msg); };
    if (config_.event_size < sizeof(bench_event_header) || config_.event_size > BENCH_MAX_EVENT_SIZE)
      range("eventSize must be " + std::to_string(sizeof(bench_event_header)) + ".." + std::to_string(BENCH_MAX_EVENT_SIZE));
    if (config_.submit == BENCH_SUBMIT_OUTPUT && config_.event_size > BENCH_OUTPUT_MAX_EVENT_SIZE)
      range("eventSize " + std::to_string(config_.event_size) + " is more than bpf_ringbuf_output() can send from the BPF stack (" +
            std::to_string(BENCH_OUTPUT_MAX_EVENT_SIZE) + " bytes)");
    if (config_.buffer == BENCH_BUFFER_PERFBUF) {
      if (config_.submit == BENCH_SUBMIT_OUTPUT) range("submit output applies to the ring buffer only (the perf buffer always copies)");
      if (config_.wakeup_threshold || config_.submit_flags)
        range("perf buffer wake-ups are set on the PerfBuffer (wakeupEvents / wakeupBytes), not on the program");
      // The ring buffer map is still created (the programs reference it); keep it one page.
      ring_size_ = static_cast<uint32_t>(sysconf(_SC_PAGESIZE));
    }
    if (config_.discard_every && (config_.buffer == BENCH_BUFFER_PERFBUF || config_.submit == BENCH_SUBMIT_OUTPUT))
      range("discardEvery needs the ring buffer with submit reserve (nothing else can discard)");
    if (config_.wakeup_threshold && config_.submit_flags)
      range("wakeupThreshold replaces submitFlags; give one of them");
    if (trigger_syscall_) {
      struct stat st;
      if (stat("/proc/self/ns/pid", &st) == 0 && st.st_ino != kInitPidNamespaceIno) {
        config_.pidns_ino = static_cast<uint32_t>(st.st_ino);
        config_.pidns_dev = st.st_dev;
      }
    }
  }

  // The syscall hooks to try: options.hooks (in its order) or all of them.
  std::vector<Candidate> ChosenHooks(Napi::Env env, Napi::Object opts) {
    std::vector<Candidate> all = SyscallCandidates();
    if (!opts.Has("hooks") || opts.Get("hooks").IsUndefined()) return all;
    if (!opts.Get("hooks").IsArray()) throw Napi::TypeError::New(env, "BpfObject: hooks must be an array");
    Napi::Array names = opts.Get("hooks").As<Napi::Array>();
    std::vector<Candidate> chosen;
    for (uint32_t i = 0; i < names.Length(); i++) {
      std::string name = names.Get(i).ToString();
      auto it = std::find_if(all.begin(), all.end(), [&](const Candidate& c) { return name == c.option; });
      if (it == all.end()) throw Napi::TypeError::New(env, "BpfObject: unknown hook " + name + " (fentry, tp_btf, raw_tp)");
      chosen.push_back(*it);
    }
    if (chosen.empty()) throw Napi::TypeError::New(env, "BpfObject: hooks is empty");
    return chosen;
  }

  // Open, configure, load with only c.program, attach it if it is a hook.
  // On failure everything is closed again and *why says which step failed.
  bool TryLoad(const Candidate& c, Failure* why) {
    g_libbpf_log.clear();
    auto fail = [&](const std::string& op, int err) {
      why->op = op;
      why->err = err;
      why->log = g_libbpf_log;
      Release();
      return false;
    };
    obj_ = bpf_object__open_file(path_.c_str(), nullptr);
    if (!obj_) return fail("bpf_object__open_file(" + path_ + ")", errno);

    bpf_map* rodata = FindInternalMap(obj_, ".rodata");
    bpf_map* ring = bpf_object__find_map_by_name(obj_, "events");
    prog_ = bpf_object__find_program_by_name(obj_, c.program);
    if (!rodata || !ring || !prog_) return fail(std::string("bpf object lookup (.rodata, events, ") + c.program + ")", ENOENT);
    size_t rodata_size = 0;
    bpf_map__initial_value(rodata, &rodata_size);
    if (rodata_size != sizeof(config_)) return fail("bpf object .rodata size check", EINVAL);
    int err = bpf_map__set_initial_value(rodata, &config_, sizeof(config_));
    if (err) return fail("bpf_map__set_initial_value(.rodata)", -err);
    err = bpf_map__set_max_entries(ring, ring_size_);
    if (err) return fail("bpf_map__set_max_entries(events)", -err);
    for (const char* name : kAllPrograms) {
      bpf_program* p = bpf_object__find_program_by_name(obj_, name);
      if (p) bpf_program__set_autoload(p, p == prog_);
    }
    if (std::string(c.option) == "fentry") {
      if (!kSyscallFunction) return fail("fentry: no syscall function name known for this architecture", EOPNOTSUPP);
      err = bpf_program__set_attach_target(prog_, 0, kSyscallFunction);
      if (err) return fail(std::string("bpf_program__set_attach_target(") + kSyscallFunction + ")", -err);
    }
    err = bpf_object__load(obj_);
    if (err) return fail("bpf_object__load", -err);
    if (trigger_syscall_) {
      link_ = bpf_program__attach(prog_);
      if (!link_) return fail("bpf_program__attach", errno);
    }
    return true;
  }

  // No candidate worked. One candidate (test-run, or a single hook asked
  // for): its own error. Several: one message listing each reason; `code` is
  // EPERM when every one was refused for privileges (the usual cause: no
  // CAP_PERFMON), so the CLI's advice can say so.
  Napi::Error LoadError(Napi::Env env, const std::vector<Candidate>& candidates,
                        const std::vector<std::pair<const Candidate*, Failure>>& failed) {
    if (candidates.size() == 1 && !trigger_syscall_) {
      const Failure& f = failed[0].second;
      Napi::Error e = ErrnoError(env, f.op, f.err);
      if (!f.log.empty()) e.Set("libbpfLog", Napi::String::New(env, f.log));
      return e;
    }
    std::string msg = "no syscall hook works on this kernel:";
    bool all_eperm = true;
    Napi::Array list = Napi::Array::New(env, failed.size());
    for (size_t i = 0; i < failed.size(); i++) {
      const Failure& f = failed[i].second;
      msg += std::string(i ? "; " : " ") + hook_failures_[i];
      all_eperm = all_eperm && f.err == EPERM;
      Napi::Object item = Napi::Object::New(env);
      item.Set("hook", failed[i].first->label);
      item.Set("syscall", f.op);
      item.Set("errno", f.err);
      if (const char* name = strerrorname_np(f.err)) item.Set("code", name);
      item.Set("message", hook_failures_[i]);
      if (!f.log.empty()) item.Set("libbpfLog", f.log);
      list[i] = item;
    }
    int err = all_eperm ? EPERM : failed.back().second.err;
    Napi::Error e = Napi::Error::New(env, msg);
    e.Set("errno", Napi::Number::New(env, err));
    if (const char* name = strerrorname_np(err)) e.Set("code", Napi::String::New(env, name));
    e.Set("syscall", Napi::String::New(env, "bpf_object__load/attach"));
    e.Set("hookFailures", list);
    return e;
  }

  static std::string ErrnoText(int err) {
    std::string text = std::strerror(err);
    if (const char* name = strerrorname_np(err)) text += std::string(" (") + name + ")";
    return text;
  }

  int MapFd(const char* name) const {
    bpf_map* m = obj_ ? bpf_object__find_map_by_name(obj_, name) : nullptr;
    return m ? bpf_map__fd(m) : -1;
  }

  Napi::Value ProgFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), obj_ ? bpf_program__fd(prog_) : -1); }
  Napi::Value RingFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), MapFd("events")); }
  Napi::Value StateFd(const Napi::CallbackInfo& info) {
    bpf_map* bss = obj_ ? FindInternalMap(obj_, ".bss") : nullptr;
    return Napi::Number::New(info.Env(), bss ? bpf_map__fd(bss) : -1);
  }
  Napi::Value PerfMapFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), MapFd("perf_events")); }
  Napi::Value ThreadsFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), MapFd("producer_threads")); }
  Napi::Value TemplatesFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), MapFd("producer_events")); }
  Napi::Value Hook(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), hook_); }
  Napi::Value HookFailures(const Napi::CallbackInfo& info) {
    Napi::Array out = Napi::Array::New(info.Env(), hook_failures_.size());
    for (size_t i = 0; i < hook_failures_.size(); i++) out[i] = Napi::String::New(info.Env(), hook_failures_[i]);
    return out;
  }

  // Detaches the hook and closes the program and maps now rather than at
  // garbage collection. Existing ring mappings stay valid: the kernel keeps a
  // map alive until its mappings are gone.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Release();
    return info.Env().Undefined();
  }

  void Release() {
    bpf_link__destroy(link_);
    link_ = nullptr;
    bpf_object__close(obj_);
    obj_ = nullptr;
    prog_ = nullptr;
  }

  std::string path_;
  bench_config config_ = {};
  uint32_t ring_size_ = 0;
  bool trigger_syscall_ = false;
  bpf_object* obj_ = nullptr;
  bpf_program* prog_ = nullptr;
  bpf_link* link_ = nullptr;
  std::string hook_;
  std::vector<std::string> hook_failures_;
};

// readState(stateFd) -> { nextSeq: number[], drops: number[], discards: number[] }
// Per-producer counters from the program's .bss. Numbers stay exact below 2^53.
Napi::Value ReadState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = static_cast<int>(IntArg(info, 0, "stateFd"));
  static_assert(sizeof(bench_state) % 8 == 0, "state is an array of u64");
  bench_state state;
  uint32_t zero = 0;
  if (bpf_map_lookup_elem(fd, &zero, &state)) throw ErrnoError(env, "bpf_map_lookup_elem(.bss)", errno);
  Napi::Array next_seq = Napi::Array::New(env, BENCH_MAX_PRODUCERS);
  Napi::Array drops = Napi::Array::New(env, BENCH_MAX_PRODUCERS);
  Napi::Array discards = Napi::Array::New(env, BENCH_MAX_PRODUCERS);
  for (uint32_t i = 0; i < BENCH_MAX_PRODUCERS; i++) {
    next_seq[i] = static_cast<double>(state.producers[i].next_seq);
    drops[i] = static_cast<double>(state.producers[i].drops);
    discards[i] = static_cast<double>(state.producers[i].discards);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("nextSeq", next_seq);
  out.Set("drops", drops);
  out.Set("discards", discards);
  return out;
}

// resetState(stateFd): zeroes every producer's counters, so each run's sequence
// numbers start at 0 and runs of different modes produce identical events.
// Call it only while no producer runs.
Napi::Value ResetState(const Napi::CallbackInfo& info) {
  int fd = static_cast<int>(IntArg(info, 0, "stateFd"));
  bench_state state = {};
  uint32_t zero = 0;
  if (bpf_map_update_elem(fd, &zero, &state, BPF_ANY))
    throw ErrnoError(info.Env(), "bpf_map_update_elem(.bss)", errno);
  return info.Env().Undefined();
}

}  // namespace

void InitBpfObject(Napi::Env env, Napi::Object exports) {
  exports.Set("BpfObject", BpfObject::Define(env));
  exports.Set("readState", Napi::Function::New(env, ReadState, "readState"));
  exports.Set("resetState", Napi::Function::New(env, ResetState, "resetState"));
  exports.Set("maxProducers", Napi::Number::New(env, BENCH_MAX_PRODUCERS));
}

}  // namespace rbb
