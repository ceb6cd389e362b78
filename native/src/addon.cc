// The ringkernel_cuda addon: CUDA driver and NVML bindings for RingKernel's CUDA backend. Loading
// it never touches the driver; the first call that needs one loads it (see driver.h).
#include <napi.h>

#include "exports.h"
#include "holds.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitHolds(env);
  RegisterDevice(env, exports);
  RegisterPeer(env, exports);
  RegisterModule(env, exports);
  RegisterMemory(env, exports);
  RegisterPinnedMemory(env, exports);
  RegisterSharedMemory(env, exports);
  RegisterCopies(env, exports);
  RegisterIpc(env, exports);
  RegisterStreams(env, exports);
  RegisterLaunch(env, exports);
  RegisterNvml(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(ringkernel_cuda, Init)
