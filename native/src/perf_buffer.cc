// The perf buffer: one PERF_COUNT_SW_BPF_OUTPUT event per online CPU, each
// with its own ring (1 metadata page + 2^k data pages), its fd put in the
// program's BPF_MAP_TYPE_PERF_EVENT_ARRAY at key = cpu, and enabled. libbpf's
// perf_buffer__new_raw() does exactly that, with the perf_event_attr we give
// it (the wake-up settings below), as the kernel's own benchmark does
// (tools/testing/selftests/bpf/benchs/bench_ringbufs.c, pb-libbpf).
//
// Both kinds of consumer read the same rings:
//   - JavaScript: each ring is mmap()ed a second time here (the kernel lets
//     an event's ring be mapped more than once at the same size) and handed
//     over as an external SharedArrayBuffer, unmapped by its deleter
//     (ring_mapping.cc), so the memory stays valid as long as JavaScript
//     holds it, whatever happens to this object. Read-write: a perf ring
//     mapped without PROT_WRITE is in overwrite mode, with no data_tail.
//   - the native consumer (native_perf_consumer.cc): perf_buffer__consume().
// libbpf reads data_tail from the shared metadata page at every consume and
// writes it back after (perf_event_read_simple()), so the two take turns on a
// ring the way the ring buffer's consumers do.
//
// Wake-ups (what makes the ring's fd readable for epoll):
//   wakeupEvents N  attr.wakeup_events = N: one wake-up per N samples
//                   (kernel/events/core.c, perf_output_sample()); libbpf's
//                   perf_buffer__new() uses 1, bench_ringbufs' sampled mode N;
//   wakeupBytes B   attr.watermark = 1, wakeup_watermark = B: one wake-up each
//                   time another B bytes have been written to that CPU's ring
//                   (kernel/events/ring_buffer.c, __perf_output_begin(): the
//                   rb->wakeup / rb->watermark test). The perf buffer's
//                   analogue of the ring buffer's sampled wake-ups (force a
//                   wake-up once SIZE bytes wait): the same for a consumer that
//                   drains on every wake-up, but per CPU and counted from the
//                   last wake-up point rather than from the consumer position.
// Perf has no "never wake": the fewest wake-ups are wakeupBytes = ring size.
#include "perf_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>
#include <unordered_map>

#include "addon.h"

namespace rbb {
namespace {

constexpr napi_type_tag kPerfBufferTag = {0x7262622d70657266ULL, 0x6275666665723031ULL};

// The online CPUs, from /sys/devices/system/cpu/online ("0-3,5"), as libbpf
// reads them: a perf event can only be opened on an online CPU.
std::vector<int> OnlineCpus() {
  std::ifstream file("/sys/devices/system/cpu/online");
  std::string text;
  std::getline(file, text);
  std::vector<int> cpus;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find(',', at);
    if (end == std::string::npos) end = text.size();
    std::string part = text.substr(at, end - at);
    size_t dash = part.find('-');
    int first = std::stoi(part.substr(0, dash));
    int last = dash == std::string::npos ? first : std::stoi(part.substr(dash + 1));
    for (int cpu = first; cpu <= last; cpu++) cpus.push_back(cpu);
    at = end + 1;
  }
  return cpus;
}

// shareId -> rings, for native consumers on other threads (PerfBuffer::Shared).
std::mutex g_shared_mutex;
std::unordered_map<uint32_t, std::weak_ptr<PerfRings>> g_shared;
uint32_t g_next_share_id = 1;

}  // namespace

int PerfRings::Consume(PerfConsumerState* state) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!pb_) return -EBADF;
  target_ = state;
  int err = perf_buffer__consume(pb_);
  target_ = nullptr;
  return err;
}

void PerfRings::Free() {
  std::lock_guard<std::mutex> lock(mutex_);
  perf_buffer__free(pb_);
  pb_ = nullptr;
}

bool PerfRings::closed() {
  std::lock_guard<std::mutex> lock(mutex_);
  return pb_ == nullptr;
}

std::shared_ptr<PerfRings> PerfBuffer::Shared(uint32_t id) {
  std::lock_guard<std::mutex> lock(g_shared_mutex);
  auto it = g_shared.find(id);
  std::shared_ptr<PerfRings> rings = it == g_shared.end() ? nullptr : it->second.lock();
  return rings && !rings->closed() ? rings : nullptr;
}

Napi::Function PerfBuffer::Define(Napi::Env env) {
  return DefineClass(env, "PerfBuffer",
                     {
                         InstanceAccessor<&PerfBuffer::Rings>("rings"),
                         InstanceAccessor<&PerfBuffer::EpollFd>("epollFd"),
                         InstanceAccessor<&PerfBuffer::ShareId>("shareId"),
                         InstanceMethod<&PerfBuffer::Close>("close"),
                     });
}

PerfBuffer* PerfBuffer::Unwrap(Napi::Value value) {
  if (!value.IsObject() || !value.As<Napi::Object>().CheckTypeTag(&kPerfBufferTag))
    throw Napi::TypeError::New(value.Env(), "expected a PerfBuffer");
  return Napi::ObjectWrap<PerfBuffer>::Unwrap(value.As<Napi::Object>());
}

// new PerfBuffer(perfMapFd, { pagesPerCpu, wakeupEvents?, wakeupBytes?, populate? })
PerfBuffer::PerfBuffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PerfBuffer>(info) {
  Napi::Env env = info.Env();
  int map_fd = static_cast<int>(IntArg(info, 0, "perfMapFd"));
  if (info.Length() < 2 || !info[1].IsObject()) throw Napi::TypeError::New(env, "PerfBuffer(perfMapFd, options)");
  Napi::Object opts = info[1].As<Napi::Object>();
  auto number = [&](const char* name) -> int64_t {
    Napi::Value v = opts.Get(name);
    return v.IsNumber() ? v.As<Napi::Number>().Int64Value() : 0;
  };
  const int64_t pages = number("pagesPerCpu");
  const int64_t wakeup_events = number("wakeupEvents");
  const int64_t wakeup_bytes = number("wakeupBytes");
  const bool populate = opts.Get("populate").ToBoolean();
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  if (pages < 1 || (pages & (pages - 1)) || (static_cast<size_t>(pages) + 1) * page > (size_t{1} << 32))
    throw Napi::RangeError::New(env, "PerfBuffer: pagesPerCpu must be a power of two and (pages + 1) * page fit in 2^32 bytes");
  if (wakeup_events && wakeup_bytes) throw Napi::RangeError::New(env, "PerfBuffer: give wakeupEvents or wakeupBytes, not both");
  if (wakeup_events < 0 || wakeup_events > UINT32_MAX || wakeup_bytes < 0 || wakeup_bytes > UINT32_MAX)
    throw Napi::RangeError::New(env, "PerfBuffer: wakeupEvents / wakeupBytes out of range");
  info.This().As<Napi::Object>().TypeTag(&kPerfBufferTag);

  perf_event_attr attr = {};
  attr.size = sizeof(attr);
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_BPF_OUTPUT;
  attr.sample_type = PERF_SAMPLE_RAW;
  attr.sample_period = 1;
  if (wakeup_bytes) {
    attr.watermark = 1;
    attr.wakeup_watermark = static_cast<uint32_t>(wakeup_bytes);
  } else {
    attr.wakeup_events = static_cast<uint32_t>(wakeup_events ? wakeup_events : 1);
  }

  std::vector<int>& cpus = core_->cpus_;
  cpus = OnlineCpus();
  std::vector<int> keys = cpus;  // the program writes with BPF_F_CURRENT_CPU: key = cpu
  LIBBPF_OPTS(perf_buffer_raw_opts, raw_opts, .cpu_cnt = static_cast<int>(cpus.size()), .cpus = cpus.data(),
              .map_keys = keys.data());
  perf_buffer* pb = perf_buffer__new_raw(map_fd, static_cast<size_t>(pages), &attr, DispatchPerfRecord, &core_->target_, &raw_opts);
  if (!pb) throw ErrnoError(env, "perf_buffer__new_raw", errno);
  core_->pb_ = pb;
  epoll_fd_ = perf_buffer__epoll_fd(pb);

  const size_t len = (static_cast<size_t>(pages) + 1) * page;
  Napi::Array rings = Napi::Array::New(env, cpus.size());
  for (size_t i = 0; i < cpus.size(); i++) {
    int fd = perf_buffer__buffer_fd(pb, i);
    void* addr = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED) {
      int err = errno;
      Free();
      throw ErrnoError(env, "mmap(perf ring of cpu " + std::to_string(cpus[i]) + ")", err);
    }
    if (populate) Prefault(addr, len);
    Napi::Object ring = Napi::Object::New(env);
    ring.Set("cpu", Napi::Number::New(env, cpus[i]));
    ring.Set("fd", Napi::Number::New(env, fd));
    ring.Set("buffer", MappedSharedArrayBuffer(env, addr, len));
    rings[i] = ring;
  }
  rings_ = Napi::Persistent(rings.As<Napi::Object>());
  std::lock_guard<std::mutex> lock(g_shared_mutex);
  share_id_ = g_next_share_id++;
  g_shared[share_id_] = core_;
}

PerfBuffer::~PerfBuffer() { Free(); }

// [{ cpu, fd, buffer }]: each ring as an external SharedArrayBuffer
// (metadata page + data pages). The fds are closed by close(); after it, [].
Napi::Value PerfBuffer::Rings(const Napi::CallbackInfo& info) {
  return rings_.IsEmpty() ? Napi::Array::New(info.Env()) : rings_.Value();
}

// libbpf's epoll fd over every ring's fd (EPOLLIN): readable when a ring
// was woken up. Closed by close(); usable from any thread until then.
Napi::Value PerfBuffer::EpollFd(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), epoll_fd_);
}

// A number a native consumer on any thread can be made with
// (new NativePerfConsumer(shareId, ...)): workers get numbers, not objects.
Napi::Value PerfBuffer::ShareId(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), share_id_);
}

// perf_buffer__free(): clears the map's entries, disables and closes the
// events, unmaps libbpf's mappings. JavaScript's mappings stay valid (they
// hold the rings) until their SharedArrayBuffers are collected; this object
// stops holding them, so they go as soon as nobody else does.
Napi::Value PerfBuffer::Close(const Napi::CallbackInfo& info) {
  Free();
  rings_.Reset();
  return info.Env().Undefined();
}

void PerfBuffer::Free() {
  core_->Free();
  epoll_fd_ = -1;
  std::lock_guard<std::mutex> lock(g_shared_mutex);
  g_shared.erase(share_id_);
}

void InitPerfBuffer(Napi::Env env, Napi::Object exports) { exports.Set("PerfBuffer", PerfBuffer::Define(env)); }

}  // namespace rbb
