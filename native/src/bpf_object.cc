// The BPF object's lifecycle: open the committed .o, set the event size and
// submit flags in .rodata and the ring size on the map, load, and close.
// Only the main thread owns a BpfObject; workers get plain fds from it.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>
#include <string>

#include "addon.h"
#include "ringbuf_bench.h"

namespace rbb {
namespace {

// libbpf prints warnings and the verifier log through this hook. Keep the last
// lines so a failed load can say why, and stay quiet otherwise.
thread_local std::string g_libbpf_log;

int CaptureLibbpfLog(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char buf[1024];
  int n = vsnprintf(buf, sizeof(buf), fmt, args);
  g_libbpf_log += buf;
  if (g_libbpf_log.size() > 8192) g_libbpf_log.erase(0, g_libbpf_log.size() - 8192);
  if (getenv("RINGBUF_BENCH_LIBBPF_LOG")) fputs(buf, stderr);
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

class BpfObject : public Napi::ObjectWrap<BpfObject> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "BpfObject",
                       {
                           InstanceAccessor<&BpfObject::ProgFd>("progFd"),
                           InstanceAccessor<&BpfObject::RingFd>("ringFd"),
                           InstanceAccessor<&BpfObject::StateFd>("stateFd"),
                           InstanceMethod<&BpfObject::Close>("close"),
                       });
  }

  // new BpfObject(path, { eventSize, ringSize, submitFlags, discardEvery })
  BpfObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfObject>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsObject())
      throw Napi::TypeError::New(env, "BpfObject(path, options)");
    std::string path = info[0].As<Napi::String>();
    Napi::Object opts = info[1].As<Napi::Object>();
    bench_config config = {};
    config.event_size = opts.Get("eventSize").As<Napi::Number>().Uint32Value();
    config.discard_every = opts.Has("discardEvery") ? opts.Get("discardEvery").As<Napi::Number>().Uint32Value() : 0;
    config.submit_flags = opts.Has("submitFlags") ? opts.Get("submitFlags").As<Napi::Number>().Int64Value() : 0;
    uint32_t ring_size = opts.Get("ringSize").As<Napi::Number>().Uint32Value();

    libbpf_set_print(CaptureLibbpfLog);
    g_libbpf_log.clear();
    obj_ = bpf_object__open_file(path.c_str(), nullptr);
    if (!obj_) throw ErrnoError(env, "bpf_object__open_file(" + path + ")", errno);

    bpf_map* rodata = FindInternalMap(obj_, ".rodata");
    bpf_map* ring = bpf_object__find_map_by_name(obj_, "events");
    bpf_program* prog = bpf_object__find_program_by_name(obj_, "produce");
    if (!rodata || !ring || !prog) Fail(env, "bpf object lookup (.rodata, events, produce)", ENOENT);
    size_t rodata_size = 0;
    bpf_map__initial_value(rodata, &rodata_size);
    if (rodata_size != sizeof(config)) Fail(env, "bpf object .rodata size check", EINVAL);
    int err = bpf_map__set_initial_value(rodata, &config, sizeof(config));
    if (err) Fail(env, "bpf_map__set_initial_value(.rodata)", -err);
    err = bpf_map__set_max_entries(ring, ring_size);
    if (err) Fail(env, "bpf_map__set_max_entries(events)", -err);
    err = bpf_object__load(obj_);
    if (err) Fail(env, "bpf_object__load", -err);

    prog_fd_ = bpf_program__fd(prog);
    ring_fd_ = bpf_map__fd(ring);
    bpf_map* bss = FindInternalMap(obj_, ".bss");
    state_fd_ = bss ? bpf_map__fd(bss) : -1;
  }

  ~BpfObject() override { bpf_object__close(obj_); }

 private:
  [[noreturn]] void Fail(Napi::Env env, const std::string& op, int err) {
    std::string log = g_libbpf_log;
    bpf_object__close(obj_);
    obj_ = nullptr;
    Napi::Error e = ErrnoError(env, op, err);
    if (!log.empty()) e.Set("libbpfLog", Napi::String::New(env, log));
    throw e;
  }

  Napi::Value ProgFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), prog_fd_); }
  Napi::Value RingFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), ring_fd_); }
  Napi::Value StateFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), state_fd_); }

  // Closes the program and maps now rather than at garbage collection. Existing
  // ring mappings stay valid: the kernel keeps the map alive until they are unmapped.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    bpf_object__close(obj_);
    obj_ = nullptr;
    prog_fd_ = ring_fd_ = state_fd_ = -1;
    return info.Env().Undefined();
  }

  bpf_object* obj_ = nullptr;
  int prog_fd_ = -1, ring_fd_ = -1, state_fd_ = -1;
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
