#include "addon.h"

#include <string>

namespace rbb {

Napi::Error ErrnoError(Napi::Env env, const std::string& op, int err) {
  const char* name = strerrorname_np(err);
  std::string msg = op + ": " + std::strerror(err);
  if (name) msg += std::string(" (") + name + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("errno", Napi::Number::New(env, err));
  if (name) e.Set("code", Napi::String::New(env, name));
  e.Set("syscall", Napi::String::New(env, op));
  return e;
}

int64_t IntArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsNumber())
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  return info[i].As<Napi::Number>().Int64Value();
}

}  // namespace rbb

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  rbb::InitBpfObject(env, exports);
  rbb::InitRingMapping(env, exports);
  rbb::InitSyscalls(env, exports);
  rbb::InitNativeConsumer(env, exports);
  rbb::InitSignals(env, exports);
  return exports;
}

NODE_API_MODULE(ringbuf_bench, Init)
