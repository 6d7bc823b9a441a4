// The perf buffer's per-CPU rings, shared by the JavaScript readers and the
// native perf consumer. See perf_buffer.cc.
#pragma once

#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <napi.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace rbb {

// What the native perf consumer keeps (native_perf_consumer.cc). libbpf hands
// every record of perf_buffer__consume() to DispatchPerfRecord with a pointer
// to the PerfBuffer's target slot, which holds the consumer draining now.
struct PerfConsumerState;
enum bpf_perf_event_ret DispatchPerfRecord(void* target_slot, int cpu, struct perf_event_header* event);

// libbpf's perf_buffer and what its callback needs, shared between the
// PerfBuffer that made it (main thread) and the native consumers that read it,
// which may live on another thread (the pipeline's consumer worker, which gets
// the PerfBuffer's shareId, not the object). The mutex is held by Consume()
// and Free(), so close() on one thread never frees the rings under a consume
// on another; after Free(), Consume() fails with EBADF.
class PerfRings {
 public:
  // perf_buffer__consume(): every CPU's ring, each up to the data_head it
  // reads, every record to `state`. Returns libbpf's result (0 or -errno).
  int Consume(PerfConsumerState* state);
  void Free();
  bool closed();
  // The CPU of each ring, in ring order; the highest is below cpu_limit().
  const std::vector<int>& cpus() const { return cpus_; }
  int cpu_limit() const { return cpus_.empty() ? 0 : cpus_.back() + 1; }

 private:
  friend class PerfBuffer;
  std::mutex mutex_;
  perf_buffer* pb_ = nullptr;
  PerfConsumerState* target_ = nullptr;  // libbpf's ctx is &target_
  std::vector<int> cpus_;
};

class PerfBuffer : public Napi::ObjectWrap<PerfBuffer> {
 public:
  static Napi::Function Define(Napi::Env env);
  // The PerfBuffer wrapped by `value`, checked by type tag; throws a TypeError otherwise.
  static PerfBuffer* Unwrap(Napi::Value value);
  // The rings of the PerfBuffer whose shareId is `id`, from any thread; null
  // once that PerfBuffer is closed or collected.
  static std::shared_ptr<PerfRings> Shared(uint32_t id);

  explicit PerfBuffer(const Napi::CallbackInfo& info);
  ~PerfBuffer() override;

  const std::shared_ptr<PerfRings>& rings() const { return core_; }

 private:
  Napi::Value Rings(const Napi::CallbackInfo& info);
  Napi::Value EpollFd(const Napi::CallbackInfo& info);
  Napi::Value ShareId(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  void Free();

  std::shared_ptr<PerfRings> core_ = std::make_shared<PerfRings>();
  uint32_t share_id_ = 0;
  int epoll_fd_ = -1;
  Napi::ObjectReference rings_;
};

}  // namespace rbb
