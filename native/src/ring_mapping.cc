// Maps a BPF ring buffer and hands it to JavaScript as two external
// SharedArrayBuffers, the layout kernel/bpf/ringbuf.c exposes to user space:
//   offset 0, one page, read-write:   consumer position (u64 at offset 0)
//   offset one page, read-only:       producer position page, then the data
//                                     area mapped twice back to back, so a
//                                     record that wraps is contiguous.
// Each mapping is munmap()ed by the SharedArrayBuffer's deleter, which V8 calls
// when the last reference in any isolate (main thread or worker) is gone.
#include <sys/mman.h>
#include <unistd.h>
#include <v8.h>

#include <memory>

#include "addon.h"

namespace rbb {
namespace {

struct Mapping {
  void* addr;
  size_t len;
};

void Unmap(void* /*data*/, size_t /*length*/, void* deleter_data) {
  Mapping* m = static_cast<Mapping*>(deleter_data);
  munmap(m->addr, m->len);
  delete m;
}

}  // namespace

// node-addon-api has no external SharedArrayBuffer, so build it with V8 and
// convert the handle: napi_value is a v8::Local<v8::Value> in Node's N-API.
// The perf buffer's per-CPU rings (perf_buffer.cc) are handed over the same way.
Napi::Value MappedSharedArrayBuffer(Napi::Env env, void* addr, size_t len) {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  std::unique_ptr<v8::BackingStore> store =
      v8::SharedArrayBuffer::NewBackingStore(addr, len, Unmap, new Mapping{addr, len});
  v8::Local<v8::SharedArrayBuffer> sab = v8::SharedArrayBuffer::New(isolate, std::move(store));
  v8::Local<v8::Value> value = sab;
  napi_value raw;
  static_assert(sizeof(raw) == sizeof(value), "napi_value is a v8::Local");
  memcpy(static_cast<void*>(&raw), static_cast<void*>(&value), sizeof(raw));
  return Napi::Value(env, raw);
}

namespace {

// mapRing(ringFd, ringSize, populate) -> { consumer: SAB, producer: SAB, pageSize }
// populate = true pre-faults every page (MAP_POPULATE) so the first pass over a
// fresh mapping is not charged for page faults.
Napi::Value MapRing(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = static_cast<int>(IntArg(info, 0, "ringFd"));
  int64_t ring_size = IntArg(info, 1, "ringSize");
  bool populate = info.Length() > 2 && info[2].ToBoolean();
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size_t producer_len = page + 2 * static_cast<size_t>(ring_size);
  if (ring_size <= 0 || producer_len > (size_t{1} << 32))
    throw Napi::RangeError::New(env, "mapRing: page + 2 * ringSize must fit in 2^32 bytes");
  int flags = MAP_SHARED | (populate ? MAP_POPULATE : 0);

  void* consumer = mmap(nullptr, page, PROT_READ | PROT_WRITE, flags, fd, 0);
  if (consumer == MAP_FAILED) throw ErrnoError(env, "mmap(ring consumer page)", errno);
  void* producer = mmap(nullptr, producer_len, PROT_READ, flags, fd, static_cast<off_t>(page));
  if (producer == MAP_FAILED) {
    int err = errno;
    munmap(consumer, page);
    throw ErrnoError(env, "mmap(ring producer page + data)", err);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("consumer", MappedSharedArrayBuffer(env, consumer, page));
  out.Set("producer", MappedSharedArrayBuffer(env, producer, producer_len));
  out.Set("pageSize", Napi::Number::New(env, static_cast<double>(page)));
  return out;
}

}  // namespace

void InitRingMapping(Napi::Env env, Napi::Object exports) {
  exports.Set("mapRing", Napi::Function::New(env, MapRing, "mapRing"));
}

}  // namespace rbb
