// Maps a BPF ring buffer and hands it to JavaScript as two external
// SharedArrayBuffers, the layout kernel/bpf/ringbuf.c exposes to user space:
//   offset 0, one page, read-write:   consumer position (u64 at offset 0)
//   offset one page, read-only:       producer position page, then the data
//                                     area mapped twice back to back, so a
//                                     record that wraps is contiguous.
//
// Lifetime. Each mapping holds a reference on the map's file (the vma's
// vm_file), so the map and its ring memory live as long as either mapping,
// whoever else closed their fds. Two ways to let go:
//  - release(): now. Each range is replaced in place with anonymous memory
//    (mmap MAP_FIXED over the same addresses), which unmaps the BPF mapping
//    (dropping its file reference) in the same call. JavaScript may still hold
//    the SharedArrayBuffers or typed arrays over them: those now read a frozen,
//    empty ring (see Release) instead of faulting, because the addresses stay
//    valid. There is no way to detach a SharedArrayBuffer, and munmap() alone
//    would turn a stale read into SIGSEGV.
//  - the SharedArrayBuffer's deleter, which V8 calls when the last reference in
//    any isolate (main thread or worker) is gone: munmap() of whatever is at the
//    range then, the BPF mapping or its anonymous replacement.
// A region's state is shared (and locked) between the two, because the deleter
// may run on another thread, and release() must never map over a range the
// deleter has already given back to the process.
#include <sys/mman.h>
#include <unistd.h>
#include <v8.h>

#include <algorithm>
#include <memory>
#include <mutex>

#include "addon.h"

namespace rbb {
namespace {

struct Region {
  std::mutex mu;
  void* addr;
  size_t len;
  int prot;
  bool unmapped = false;  // the deleter ran: the range is no longer ours
  bool released = false;  // replaced with anonymous memory

  Region(void* a, size_t l, int p) : addr(a), len(l), prot(p) {}
};

void Unmap(void* /*data*/, size_t /*length*/, void* deleter_data) {
  auto* holder = static_cast<std::shared_ptr<Region>*>(deleter_data);
  {
    Region& r = **holder;
    std::lock_guard<std::mutex> lock(r.mu);
    munmap(r.addr, r.len);
    r.unmapped = true;
  }
  delete holder;
}

// node-addon-api has no external SharedArrayBuffer, so build it with V8 and
// convert the handle: napi_value is a v8::Local<v8::Value> in Node's N-API.
Napi::Value ExternalSharedArrayBuffer(Napi::Env env, const std::shared_ptr<Region>& region) {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  std::unique_ptr<v8::BackingStore> store = v8::SharedArrayBuffer::NewBackingStore(
      region->addr, region->len, Unmap, new std::shared_ptr<Region>(region));
  v8::Local<v8::SharedArrayBuffer> sab = v8::SharedArrayBuffer::New(isolate, std::move(store));
  v8::Local<v8::Value> value = sab;
  napi_value raw;
  static_assert(sizeof(raw) == sizeof(value), "napi_value is a v8::Local");
  memcpy(static_cast<void*>(&raw), static_cast<void*>(&value), sizeof(raw));
  return Napi::Value(env, raw);
}

}  // namespace

// The perf buffer's per-CPU rings (perf_buffer.cc) are handed over the same
// way, unmapped by the deleter only (they have no release()).
Napi::Value MappedSharedArrayBuffer(Napi::Env env, void* addr, size_t len) {
  return ExternalSharedArrayBuffer(env, std::make_shared<Region>(addr, len, PROT_READ | PROT_WRITE));
}

void Prefault(const void* addr, size_t len) {
#ifndef MADV_POPULATE_READ
  constexpr int MADV_POPULATE_READ = 22;  // include/uapi/asm-generic/mman-common.h, Linux 5.14
#endif
  constexpr size_t kStep = size_t{16} << 20;
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const char* base = static_cast<const char*>(addr);
  bool madvise_works = true;
  for (size_t off = 0; off < len && !SignalReceived(); off += kStep) {
    const size_t n = std::min(kStep, len - off);
    if (madvise_works && madvise(const_cast<char*>(base + off), n, MADV_POPULATE_READ) == 0) continue;
    madvise_works = false;  // EINVAL before 5.14: fault the pages in by reading one byte of each
    for (size_t p = 0; p < n; p += page) (void)*static_cast<const volatile char*>(base + off + p);
  }
}

namespace {

// Replaces the region's pages with zero-filled anonymous memory at the same
// addresses, with `position` as the u64 at offset 0. MAP_FIXED unmaps the
// old mapping in the same call; there is no moment at which the range is
// unmapped. Returns 0 or an errno.
int ReplaceWithAnonymous(Region& r, uint64_t position) {
  std::lock_guard<std::mutex> lock(r.mu);
  if (r.unmapped || r.released) return 0;
  void* at = mmap(r.addr, r.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  if (at == MAP_FAILED) return errno;
  *static_cast<uint64_t*>(r.addr) = position;
  // Back to the protection JavaScript had: read-only stays read-only. Touches
  // no pages beyond the first, so a 2 GiB range costs one page of memory.
  if (r.prot != (PROT_READ | PROT_WRITE) && mprotect(r.addr, r.len, r.prot)) return errno;
  r.released = true;
  return 0;
}

// new RingMapping(ringFd, ringSize, populate)
//   .consumer: SharedArrayBuffer  (own, enumerable, read-only properties, so
//   .producer: SharedArrayBuffer   that { ...mapping } copies them)
//   .pageSize: number
//   .release(): unmap the ring now (idempotent)
//   .released: boolean
// populate = true pre-faults every page (Prefault: interruptible, unlike
// MAP_POPULATE) so the first pass over a fresh mapping is not charged for page
// faults.
class RingMapping : public Napi::ObjectWrap<RingMapping> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "RingMapping",
                       {
                           InstanceMethod<&RingMapping::Release>("release"),
                           InstanceAccessor<&RingMapping::Released>("released"),
                       });
  }

  RingMapping(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RingMapping>(info) {
    Napi::Env env = info.Env();
    int fd = static_cast<int>(IntArg(info, 0, "ringFd"));
    int64_t ring_size = IntArg(info, 1, "ringSize");
    bool populate = info.Length() > 2 && info[2].ToBoolean();
    size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    size_t producer_len = page + 2 * static_cast<size_t>(ring_size);
    if (ring_size <= 0 || producer_len > (size_t{1} << 32))
      throw Napi::RangeError::New(env, "RingMapping: page + 2 * ringSize must fit in 2^32 bytes");
    const int flags = MAP_SHARED;

    void* consumer = mmap(nullptr, page, PROT_READ | PROT_WRITE, flags, fd, 0);
    if (consumer == MAP_FAILED) throw ErrnoError(env, "mmap(ring consumer page)", errno);
    void* producer = mmap(nullptr, producer_len, PROT_READ, flags, fd, static_cast<off_t>(page));
    if (producer == MAP_FAILED) {
      int err = errno;
      munmap(consumer, page);
      throw ErrnoError(env, "mmap(ring producer page + data)", err);
    }
    if (populate) {
      Prefault(consumer, page);
      Prefault(producer, producer_len);
    }
    consumer_ = std::make_shared<Region>(consumer, page, PROT_READ | PROT_WRITE);
    producer_ = std::make_shared<Region>(producer, producer_len, PROT_READ);

    Napi::Object self = info.This().As<Napi::Object>();
    auto constant = [&](const char* name, Napi::Value v) {
      self.DefineProperty(Napi::PropertyDescriptor::Value(name, v, napi_enumerable));
    };
    constant("consumer", ExternalSharedArrayBuffer(env, consumer_));
    constant("producer", ExternalSharedArrayBuffer(env, producer_));
    constant("pageSize", Napi::Number::New(env, static_cast<double>(page)));
  }

 private:
  // Both ranges become anonymous memory in which the consumer and the producer
  // position equal the consumer position the kernel last saw, and every data
  // byte reads 0. A stale reader that had caught up therefore finds the ring
  // empty rather than a stream of zero-length records. The consumer page is
  // read first, so a position committed just before release is kept.
  Napi::Value Release(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint64_t position;
    {
      std::lock_guard<std::mutex> lock(consumer_->mu);
      position = consumer_->unmapped ? 0 : __atomic_load_n(static_cast<uint64_t*>(consumer_->addr), __ATOMIC_ACQUIRE);
    }
    if (int err = ReplaceWithAnonymous(*consumer_, position)) throw ErrnoError(env, "mmap(MAP_FIXED, ring consumer page)", err);
    if (int err = ReplaceWithAnonymous(*producer_, position)) throw ErrnoError(env, "mmap(MAP_FIXED, ring producer page + data)", err);
    return env.Undefined();
  }

  Napi::Value Released(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> a(consumer_->mu);
    std::lock_guard<std::mutex> b(producer_->mu);
    bool gone = (consumer_->released || consumer_->unmapped) && (producer_->released || producer_->unmapped);
    return Napi::Boolean::New(info.Env(), gone);
  }

  std::shared_ptr<Region> consumer_;
  std::shared_ptr<Region> producer_;
};

}  // namespace

void InitRingMapping(Napi::Env env, Napi::Object exports) {
  exports.Set("RingMapping", RingMapping::Define(env));
}

}  // namespace rbb
