// Driver status and device queries: what the probe and the topology view show.
#include <cstdio>
#include <string>

#include "args.h"
#include "context.h"
#include "driver.h"
#include "errors.h"
#include "exports.h"
#include "messages.h"
#include "handles.h"
#include "holds.h"
#include "pci_bus_id.h"
#include "pinned_memory.h"

namespace {

Napi::Value DriverStatusJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const DriverStatus& status = LoadDriver();
  Napi::Object out = Napi::Object::New(env);
  out.Set("available", status.available);
  out.Set("library", status.library);
  out.Set("apiVersion", kCudaApiVersion);
  if (!status.libraryPath.empty()) out.Set("libraryPath", status.libraryPath);
  if (status.driverVersion > 0) out.Set("driverVersion", status.driverVersion);
  if (status.loadMs > 0) out.Set("loadMs", status.loadMs);
  if (status.initMs > 0) out.Set("initMs", status.initMs);
  if (!status.available) {
    out.Set("reason", status.reason);
    Napi::Object error = Napi::Object::New(env);
    error.Set("name", status.errorName);
    error.Set("code", status.errorCode);
    error.Set("call", status.errorCall);
    out.Set("error", error);
  }
  Napi::Array missing = Napi::Array::New(env, status.missingOptional.size());
  for (size_t i = 0; i < status.missingOptional.size(); i++) missing.Set(static_cast<uint32_t>(i), status.missingOptional[i]);
  out.Set("missingEntryPoints", missing);
  return out;
}

Napi::Value DeviceCountJs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), DeviceCount(info.Env(), "cuDeviceGetCount"));
}

int Attribute(Napi::Env env, CUdevice device, int attribute, int ordinal) {
  int value = 0;
  Check(env, Cu().cuDeviceGetAttribute(&value, attribute, device), "cuDeviceGetAttribute", [&] {
    return "reading attribute " + std::to_string(attribute) + " of " + DeviceName(ordinal);
  });
  return value;
}

// Attributes newer than our API version's drivers may not know: -1 when the driver refuses.
int OptionalAttribute(CUdevice device, int attribute) {
  int value = 0;
  return Cu().cuDeviceGetAttribute(&value, attribute, device) == CUDA_SUCCESS ? value : -1;
}

std::string FormatUuid(const CUuuid& uuid) {
  // nvidia-smi's form: GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx
  std::string out = "GPU-";
  char hex[3];
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    std::snprintf(hex, sizeof hex, "%02x", uuid.bytes[i]);
    out += hex;
  }
  return out;
}

Napi::Array Dim3(Napi::Env env, int x, int y, int z) {
  Napi::Array array = Napi::Array::New(env, 3);
  array.Set(0u, x);
  array.Set(1u, y);
  array.Set(2u, z);
  return array;
}

Napi::Value DeviceInfoJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int ordinal = Args(info, "deviceInfo").Device(0);
  CUdevice device = DeviceHandle(env, ordinal, "cuDeviceGet");
  const DriverApi& cu = Cu();
  auto context = [&](const char* what) { return [=] { return std::string(what) + " of " + DeviceName(ordinal); }; };

  char name[256] = {0};
  Check(env, cu.cuDeviceGetName(name, sizeof name - 1, device), "cuDeviceGetName", context("reading the name"));
  CUuuid uuid{};
  Check(env, cu.cuDeviceGetUuid(&uuid, device), "cuDeviceGetUuid_v2", context("reading the UUID"));
  char busId[64] = {0};
  Check(env, cu.cuDeviceGetPCIBusId(busId, sizeof busId - 1, device), "cuDeviceGetPCIBusId", context("reading the PCI bus id"));
  size_t totalMem = 0;
  Check(env, cu.cuDeviceTotalMem(&totalMem, device), "cuDeviceTotalMem_v2", context("reading the memory size"));

  auto attr = [&](int attribute) { return Attribute(env, device, attribute, ordinal); };
  Napi::Object out = Napi::Object::New(env);
  out.Set("ordinal", ordinal);
  out.Set("name", std::string(name));
  out.Set("uuid", FormatUuid(uuid));
  out.Set("pciBusId", NormalizePciBusId(busId));
  out.Set("totalMem", static_cast<double>(totalMem));
  Napi::Object capability = Napi::Object::New(env);
  capability.Set("major", attr(kAttrComputeCapabilityMajor));
  capability.Set("minor", attr(kAttrComputeCapabilityMinor));
  out.Set("computeCapability", capability);
  out.Set("multiprocessorCount", attr(kAttrMultiprocessorCount));
  out.Set("maxThreadsPerBlock", attr(kAttrMaxThreadsPerBlock));
  out.Set("maxThreadsPerMultiprocessor", attr(kAttrMaxThreadsPerMultiprocessor));
  out.Set("maxBlockDim", Dim3(env, attr(kAttrMaxBlockDimX), attr(kAttrMaxBlockDimY), attr(kAttrMaxBlockDimZ)));
  out.Set("maxGridDim", Dim3(env, attr(kAttrMaxGridDimX), attr(kAttrMaxGridDimY), attr(kAttrMaxGridDimZ)));
  out.Set("warpSize", attr(kAttrWarpSize));
  out.Set("sharedMemPerBlock", attr(kAttrMaxSharedMemoryPerBlock));
  out.Set("sharedMemPerBlockOptin", attr(kAttrMaxSharedMemoryPerBlockOptin));
  out.Set("sharedMemPerMultiprocessor", attr(kAttrMaxSharedMemoryPerMultiprocessor));
  out.Set("totalConstantMem", attr(kAttrTotalConstantMemory));
  out.Set("registersPerBlock", attr(kAttrMaxRegistersPerBlock));
  out.Set("clockRateKHz", attr(kAttrClockRate));
  out.Set("memoryClockRateKHz", attr(kAttrMemoryClockRate));
  out.Set("memoryBusWidth", attr(kAttrGlobalMemoryBusWidth));
  out.Set("l2CacheSize", attr(kAttrL2CacheSize));
  out.Set("asyncEngineCount", attr(kAttrAsyncEngineCount));
  out.Set("unifiedAddressing", attr(kAttrUnifiedAddressing) != 0);
  out.Set("canMapHostMemory", attr(kAttrCanMapHostMemory) != 0);
  out.Set("managedMemory", attr(kAttrManagedMemory) != 0);
  out.Set("concurrentKernels", attr(kAttrConcurrentKernels) != 0);
  out.Set("cooperativeLaunch", attr(kAttrCooperativeLaunch) != 0);
  out.Set("eccEnabled", attr(kAttrEccEnabled) != 0);
  out.Set("integrated", attr(kAttrIntegrated) != 0);
  out.Set("multiGpuBoard", attr(kAttrMultiGpuBoard) != 0);
  out.Set("kernelExecTimeout", attr(kAttrKernelExecTimeout) != 0);
  out.Set("computeMode", attr(kAttrComputeMode));
  // NUMA attributes arrived in CUDA 12.2; null where the driver does not answer or has no NUMA.
  int numaConfig = OptionalAttribute(device, kAttrNumaConfig);
  int numaId = OptionalAttribute(device, kAttrNumaId);
  int hostNumaId = OptionalAttribute(device, kAttrHostNumaId);
  out.Set("numaNode", numaConfig > 0 && numaId >= 0 ? Napi::Value(Napi::Number::New(env, numaId)) : env.Null());
  out.Set("hostNumaNode", hostNumaId >= 0 ? Napi::Value(Napi::Number::New(env, hostNumaId)) : env.Null());
  return out;
}

Napi::Value MemGetInfoJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int ordinal = Args(info, "memGetInfo").Device(0);
  UseDevice(env, ordinal, "cuMemGetInfo_v2");
  size_t free = 0;
  size_t total = 0;
  Check(env, Cu().cuMemGetInfo(&free, &total), "cuMemGetInfo_v2",
        [&] { return "reading free memory of " + DeviceName(ordinal); });
  Napi::Object out = Napi::Object::New(env);
  out.Set("free", static_cast<double>(free));
  out.Set("total", static_cast<double>(total));
  return out;
}

// The driver objects this process holds, and what queued work holds for itself (holds.h): what
// a test or a leak hunt reads to see that releases happen.
Napi::Value LiveResourcesJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  WorkHolds& holds = WorkHolds::Of(env);
  holds.Poll();  // work seen finished lets go of what it held before counting
  LiveCounts live = CountLive();
  Napi::Object out = Napi::Object::New(env);
  out.Set("allocations", live.allocations);
  out.Set("allocatedBytes", live.allocatedBytes);
  out.Set("modules", live.modules);
  out.Set("streams", live.streams);
  out.Set("events", live.events);
  out.Set("pinnedBuffers", LivePinnedBlocks());
  out.Set("pinnedBytes", LivePinnedBytes());
  out.Set("heldHostBuffers", LiveHeldHostBuffers());
  out.Set("pendingWork", static_cast<double>(holds.Batches()));
  return out;
}

}  // namespace

void RegisterDevice(Napi::Env env, Napi::Object exports) {
  Export(env, exports, {
                           {"driverStatus", DriverStatusJs},
                           {"deviceCount", DeviceCountJs},
                           {"deviceInfo", DeviceInfoJs},
                           {"memGetInfo", MemGetInfoJs},
                           {"liveResources", LiveResourcesJs},
                       });
}
