// The perf buffer's per-CPU rings, shared by the JavaScript readers and the
// native perf consumer. See perf_buffer.cc.
#pragma once

#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <napi.h>

#include <vector>

namespace rbb {

// What the native perf consumer keeps (native_perf_consumer.cc). libbpf hands
// every record of perf_buffer__consume() to DispatchPerfRecord with a pointer
// to the PerfBuffer's target slot, which holds the consumer draining now.
struct PerfConsumerState;
enum bpf_perf_event_ret DispatchPerfRecord(void* target_slot, int cpu, struct perf_event_header* event);

class PerfBuffer : public Napi::ObjectWrap<PerfBuffer> {
 public:
  static Napi::Function Define(Napi::Env env);
  // The PerfBuffer wrapped by `value`, checked by type tag; throws a TypeError otherwise.
  static PerfBuffer* Unwrap(Napi::Value value);

  explicit PerfBuffer(const Napi::CallbackInfo& info);
  ~PerfBuffer() override;

  // perf_buffer__consume(): every CPU's ring, each up to the data_head it
  // reads, every record to `state`. Returns libbpf's result (0 or -errno).
  int Consume(PerfConsumerState* state);
  bool closed() const { return pb_ == nullptr; }
  // The CPU of each ring, in ring order; the highest is below cpu_limit().
  const std::vector<int>& cpus() const { return cpus_; }
  int cpu_limit() const { return cpus_.empty() ? 0 : cpus_.back() + 1; }

 private:
  Napi::Value Rings(const Napi::CallbackInfo& info);
  Napi::Value EpollFd(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  void Free();

  perf_buffer* pb_ = nullptr;
  PerfConsumerState* target_ = nullptr;  // libbpf's ctx is &target_
  std::vector<int> cpus_;
  Napi::ObjectReference rings_;
};

}  // namespace rbb
