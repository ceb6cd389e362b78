// The CUDA driver, loaded at run time: libcuda.so.1 (nvcuda.dll on Windows) is opened with the
// platform loader, only cuGetProcAddress is looked up by name, and every other entry point comes
// through it at one pinned API version, so a newer driver cannot change what we call.
#pragma once

#include <string>
#include <vector>

#include "cuda_types.h"

// Each entry point: member name, symbol the driver resolves it to at our version (for reports),
// API version requested, whether the addon can work without it.
#define RINGKERNEL_CUDA_ENTRY_POINTS(X)                                     \
  X(cuInit, "cuInit", kCudaApiVersion, true)                                \
  X(cuDriverGetVersion, "cuDriverGetVersion", kCudaApiVersion, true)        \
  X(cuGetErrorName, "cuGetErrorName", kCudaApiVersion, true)                \
  X(cuGetErrorString, "cuGetErrorString", kCudaApiVersion, true)            \
  X(cuDeviceGetCount, "cuDeviceGetCount", kCudaApiVersion, true)            \
  X(cuDeviceGet, "cuDeviceGet", kCudaApiVersion, true)                      \
  X(cuDeviceGetName, "cuDeviceGetName", kCudaApiVersion, true)              \
  X(cuDeviceGetUuid, "cuDeviceGetUuid_v2", kCudaApiVersion, true)           \
  X(cuDeviceGetPCIBusId, "cuDeviceGetPCIBusId", kCudaApiVersion, true)      \
  X(cuDeviceTotalMem, "cuDeviceTotalMem_v2", kCudaApiVersion, true)         \
  X(cuDeviceGetAttribute, "cuDeviceGetAttribute", kCudaApiVersion, true)    \
  X(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain", kCudaApiVersion, true) \
  X(cuCtxSetCurrent, "cuCtxSetCurrent", kCudaApiVersion, true)              \
  X(cuCtxSynchronize, "cuCtxSynchronize", kCudaApiVersion, true)            \
  X(cuMemGetInfo, "cuMemGetInfo_v2", kCudaApiVersion, true)                 \
  X(cuDeviceCanAccessPeer, "cuDeviceCanAccessPeer", kCudaApiVersion, true)  \
  X(cuDeviceGetP2PAttribute, "cuDeviceGetP2PAttribute", kCudaApiVersion, true) \
  X(cuCtxEnablePeerAccess, "cuCtxEnablePeerAccess", kCudaApiVersion, true)  \
  X(cuCtxDisablePeerAccess, "cuCtxDisablePeerAccess", kCudaApiVersion, true) \
  X(cuModuleLoadDataEx, "cuModuleLoadDataEx", kCudaApiVersion, true)        \
  X(cuLinkCreate, "cuLinkCreate_v2", kCudaApiVersion, true)                 \
  X(cuLinkAddData, "cuLinkAddData_v2", kCudaApiVersion, true)               \
  X(cuLinkComplete, "cuLinkComplete", kCudaApiVersion, true)                \
  X(cuLinkDestroy, "cuLinkDestroy", kCudaApiVersion, true)                  \
  X(cuModuleUnload, "cuModuleUnload", kCudaApiVersion, true)                \
  X(cuModuleGetFunction, "cuModuleGetFunction", kCudaApiVersion, true)      \
  X(cuFuncGetAttribute, "cuFuncGetAttribute", kCudaApiVersion, true)        \
  X(cuFuncGetParamInfo, "cuFuncGetParamInfo", 12040, false)                 \
  X(cuMemAlloc, "cuMemAlloc_v2", kCudaApiVersion, true)                     \
  X(cuMemFree, "cuMemFree_v2", kCudaApiVersion, true)                       \
  X(cuMemHostAlloc, "cuMemHostAlloc", kCudaApiVersion, true)                \
  X(cuMemFreeHost, "cuMemFreeHost", kCudaApiVersion, true)                  \
  X(cuMemHostRegister, "cuMemHostRegister_v2", kCudaApiVersion, true)       \
  X(cuMemHostUnregister, "cuMemHostUnregister", kCudaApiVersion, true)      \
  X(cuMemsetD8, "cuMemsetD8_v2", kCudaApiVersion, true)                     \
  X(cuMemsetD8Async, "cuMemsetD8Async", kCudaApiVersion, true)              \
  X(cuMemcpyHtoD, "cuMemcpyHtoD_v2", kCudaApiVersion, true)                 \
  X(cuMemcpyDtoH, "cuMemcpyDtoH_v2", kCudaApiVersion, true)                 \
  X(cuMemcpyDtoD, "cuMemcpyDtoD_v2", kCudaApiVersion, true)                 \
  X(cuMemcpyPeer, "cuMemcpyPeer", kCudaApiVersion, true)                    \
  X(cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2", kCudaApiVersion, true)       \
  X(cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2", kCudaApiVersion, true)       \
  X(cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2", kCudaApiVersion, true)       \
  X(cuMemcpyPeerAsync, "cuMemcpyPeerAsync", kCudaApiVersion, true)          \
  X(cuIpcGetMemHandle, "cuIpcGetMemHandle", kCudaApiVersion, false)        \
  X(cuIpcOpenMemHandle, "cuIpcOpenMemHandle_v2", kCudaApiVersion, false)    \
  X(cuIpcCloseMemHandle, "cuIpcCloseMemHandle", kCudaApiVersion, false)    \
  X(cuMemGetAddressRange, "cuMemGetAddressRange_v2", kCudaApiVersion, false) \
  X(cuStreamCreate, "cuStreamCreate", kCudaApiVersion, true)                \
  X(cuStreamDestroy, "cuStreamDestroy_v2", kCudaApiVersion, true)           \
  X(cuStreamSynchronize, "cuStreamSynchronize", kCudaApiVersion, true)      \
  X(cuStreamQuery, "cuStreamQuery", kCudaApiVersion, true)                  \
  X(cuEventCreate, "cuEventCreate", kCudaApiVersion, true)                  \
  X(cuEventDestroy, "cuEventDestroy_v2", kCudaApiVersion, true)             \
  X(cuEventRecord, "cuEventRecord", kCudaApiVersion, true)                  \
  X(cuEventSynchronize, "cuEventSynchronize", kCudaApiVersion, true)        \
  X(cuEventQuery, "cuEventQuery", kCudaApiVersion, true)                    \
  X(cuEventElapsedTime, "cuEventElapsedTime", kCudaApiVersion, true)        \
  X(cuLaunchKernel, "cuLaunchKernel", kCudaApiVersion, true)

struct DriverApi {
#define RINGKERNEL_DECLARE_ENTRY(member, symbol, version, required) PFN_##member member = nullptr;
  RINGKERNEL_CUDA_ENTRY_POINTS(RINGKERNEL_DECLARE_ENTRY)
#undef RINGKERNEL_DECLARE_ENTRY
};

struct DriverStatus {
  bool available = false;
  // When unavailable: a stable name a caller can act on (DRIVER_NOT_FOUND, DRIVER_TOO_OLD,
  // ENTRY_POINT_MISSING, or the CUDA_ERROR_* name cuInit returned), the call that failed, the
  // CUresult when there is one (-1 otherwise), and a sentence for people.
  std::string errorName;
  std::string errorCall;
  int errorCode = -1;
  std::string reason;
  std::string library;      // the file name asked for
  std::string libraryPath;  // where it was found
  int driverVersion = 0;    // e.g. 13000 for CUDA 13.0
  double loadMs = 0;        // opening the library and resolving entry points
  double initMs = 0;        // cuInit
  std::vector<std::string> missingOptional;  // entry points this driver lacks; features degrade
};

// Loads and initialises the driver on first use (thread-safe); later calls return the same status.
const DriverStatus& LoadDriver();
// The entry points. Only valid to call through when LoadDriver().available; optional ones may be null.
const DriverApi& Cu();
