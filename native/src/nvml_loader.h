// NVML (libnvidia-ml.so.1, nvml.dll on Windows), loaded at run time with the platform loader and
// initialised once. Only nvmlInit_v2 and nvmlErrorString are required; every other entry point is
// optional and reported by name when missing.
#pragma once

#include <string>
#include <vector>

#include "nvml_types.h"

#define RINGKERNEL_NVML_ENTRY_POINTS(X)         \
  X(nvmlSystemGetDriverVersion)                 \
  X(nvmlSystemGetNVMLVersion)                   \
  X(nvmlDeviceGetCount_v2)                      \
  X(nvmlDeviceGetHandleByIndex_v2)              \
  X(nvmlDeviceGetHandleByPciBusId_v2)           \
  X(nvmlDeviceGetIndex)                         \
  X(nvmlDeviceGetName)                          \
  X(nvmlDeviceGetUUID)                          \
  X(nvmlDeviceGetPciInfo_v3)                    \
  X(nvmlDeviceGetMemoryInfo)                    \
  X(nvmlDeviceGetNumaNodeId)                    \
  X(nvmlDeviceGetNvLinkState)                   \
  X(nvmlDeviceGetNvLinkVersion)                 \
  X(nvmlDeviceGetNvLinkRemotePciInfo_v2)        \
  X(nvmlDeviceGetNvLinkRemoteDeviceType)        \
  X(nvmlDeviceGetTopologyCommonAncestor)

struct NvmlApi {
  PFN_nvmlInit_v2 nvmlInit_v2 = nullptr;
  PFN_nvmlErrorString nvmlErrorString = nullptr;
#define RINGKERNEL_DECLARE_NVML(name) PFN_##name name = nullptr;
  RINGKERNEL_NVML_ENTRY_POINTS(RINGKERNEL_DECLARE_NVML)
#undef RINGKERNEL_DECLARE_NVML
};

struct NvmlStatus {
  bool available = false;
  std::string errorName;  // NVML_NOT_FOUND, ENTRY_POINT_MISSING or NVML_ERROR_* from nvmlInit_v2
  std::string errorCall;
  int errorCode = -1;
  std::string reason;
  std::string library;
  std::string libraryPath;
  double initMs = 0;
  std::vector<std::string> missing;  // optional entry points this NVML lacks
};

const NvmlStatus& LoadNvml();
const NvmlApi& Nvml();
// "NVML_ERROR_NOT_SUPPORTED" etc.
std::string NvmlErrorName(nvmlReturn_t result);
std::string NvmlErrorText(nvmlReturn_t result);
