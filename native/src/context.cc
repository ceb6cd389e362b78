#include "context.h"

#include <mutex>
#include <string>
#include <vector>

#include "driver.h"
#include "errors.h"

namespace {

std::mutex mutex;
std::vector<CUcontext> contexts;
int cachedCount = -1;

}  // namespace

int DeviceCount(Napi::Env env, const char* call) {
  RequireDriver(env, call);
  std::lock_guard<std::mutex> lock(mutex);
  if (cachedCount < 0) {
    int count = 0;
    Check(env, Cu().cuDeviceGetCount(&count), "cuDeviceGetCount", [] { return std::string("counting CUDA devices"); });
    cachedCount = count;
    contexts.assign(static_cast<size_t>(count), nullptr);
  }
  return cachedCount;
}

CUdevice DeviceHandle(Napi::Env env, int ordinal, const char* call) {
  int count = DeviceCount(env, call);
  if (ordinal < 0 || ordinal >= count) {
    throw StructuredError(env, "CUDA_ERROR_INVALID_DEVICE", CUDA_ERROR_INVALID_DEVICE, call,
                          "there is no CUDA device " + std::to_string(ordinal) + " (this machine has " +
                              std::to_string(count) + (count == 1 ? " device" : " devices") + ")");
  }
  CUdevice device = 0;
  Check(env, Cu().cuDeviceGet(&device, ordinal), "cuDeviceGet",
        [&] { return "opening CUDA device " + std::to_string(ordinal); });
  return device;
}

CUcontext PrimaryContext(Napi::Env env, int ordinal, const char* call) {
  CUdevice device = DeviceHandle(env, ordinal, call);
  std::lock_guard<std::mutex> lock(mutex);
  CUcontext& slot = contexts[static_cast<size_t>(ordinal)];
  if (slot == nullptr) {
    CUcontext context = nullptr;
    Check(env, Cu().cuDevicePrimaryCtxRetain(&context, device), "cuDevicePrimaryCtxRetain",
          [&] { return "creating the primary context of CUDA device " + std::to_string(ordinal); });
    slot = context;
  }
  return slot;
}

void MakeCurrent(Napi::Env env, CUcontext context) {
  Check(env, Cu().cuCtxSetCurrent(context), "cuCtxSetCurrent", [] { return std::string("making a CUDA context current"); });
}

CUcontext UseDevice(Napi::Env env, int ordinal, const char* call) {
  CUcontext context = PrimaryContext(env, ordinal, call);
  MakeCurrent(env, context);
  return context;
}
