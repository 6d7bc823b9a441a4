// Opening, inspecting and pinning BPF maps that someone else created: the
// library reads any program's ring buffer, so it needs the map's fd from a
// bpffs pin (BPF_OBJ_GET) or a map id (BPF_MAP_GET_FD_BY_ID), and the kernel's
// description of it (BPF_OBJ_GET_INFO_BY_FD) to check it really is a ring.
//
// Every fd the kernel hands out for a BPF object is close-on-exec
// (kernel/bpf/syscall.c bpf_map_new_fd: anon_inode_getfd(..., flags | O_CLOEXEC)),
// and libbpf moves fds 0..2 out of the way (ensure_good_fd), so nothing here
// needs fcntl. Errors name the path or id and the errno; TypeScript
// (src/lib/bpf-map.ts) turns them into one-line explanations.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <string>

#include "addon.h"

namespace rbb {
namespace {

// mapOpenPinned(path) -> fd. Any pinned BPF object opens this way, a program
// or a link too: the caller checks the fd's kind (src/lib/bpf-map.ts).
Napi::Value MapOpenPinned(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info, 0, "path");
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) throw ErrnoError(env, "bpf_obj_get(" + path + ")", errno);
  return Napi::Number::New(env, fd);
}

// mapOpenById(id) -> fd. The kernel allows this to CAP_SYS_ADMIN only
// (kernel/bpf/syscall.c bpf_map_get_fd_by_id).
Napi::Value MapOpenById(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t id = IntArg(info, 0, "mapId");
  if (id < 1 || id > UINT32_MAX) throw Napi::RangeError::New(env, "mapId must be an integer in 1..2^32-1");
  int fd = bpf_map_get_fd_by_id(static_cast<__u32>(id));
  if (fd < 0) throw ErrnoError(env, "bpf_map_get_fd_by_id(" + std::to_string(id) + ")", errno);
  return Napi::Number::New(env, fd);
}

// mapInfo(fd) -> { type, typeName, id, name, maxEntries, keySize, valueSize, mapFlags }
// The fd must be a map: for a program fd the kernel would fill a
// bpf_prog_info into the buffer instead (the caller checks the kind first).
Napi::Value MapInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = static_cast<int>(IntArg(info, 0, "fd"));
  bpf_map_info map = {};
  __u32 len = sizeof(map);
  if (bpf_obj_get_info_by_fd(fd, &map, &len))
    throw ErrnoError(env, "bpf_obj_get_info_by_fd(fd " + std::to_string(fd) + ")", errno);
  const char* type_name = libbpf_bpf_map_type_str(static_cast<bpf_map_type>(map.type));
  Napi::Object out = Napi::Object::New(env);
  out.Set("type", Napi::Number::New(env, map.type));
  // Newer kernels know types this libbpf does not: keep the number then.
  out.Set("typeName", type_name ? Napi::String::New(env, type_name) : Napi::String::New(env, std::to_string(map.type)));
  out.Set("id", Napi::Number::New(env, map.id));
  out.Set("name", Napi::String::New(env, std::string(map.name, strnlen(map.name, sizeof(map.name)))));
  out.Set("maxEntries", Napi::Number::New(env, map.max_entries));
  out.Set("keySize", Napi::Number::New(env, map.key_size));
  out.Set("valueSize", Napi::Number::New(env, map.value_size));
  out.Set("mapFlags", Napi::Number::New(env, map.map_flags));
  return out;
}

// objectPin(fd, path): pins a map (or any BPF object) at a bpffs path, so that
// another process can open it with BPF_OBJ_GET. Tests and fixtures use it.
Napi::Value ObjectPin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = static_cast<int>(IntArg(info, 0, "fd"));
  std::string path = StringArg(info, 1, "path");
  if (bpf_obj_pin(fd, path.c_str())) throw ErrnoError(env, "bpf_obj_pin(" + path + ")", errno);
  return env.Undefined();
}

}  // namespace

void InitBpfMap(Napi::Env env, Napi::Object exports) {
  exports.Set("mapOpenPinned", Napi::Function::New(env, MapOpenPinned, "mapOpenPinned"));
  exports.Set("mapOpenById", Napi::Function::New(env, MapOpenById, "mapOpenById"));
  exports.Set("mapInfo", Napi::Function::New(env, MapInfo, "mapInfo"));
  exports.Set("objectPin", Napi::Function::New(env, ObjectPin, "objectPin"));
}

}  // namespace rbb
