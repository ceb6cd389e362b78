// The few CUDA driver API types, constants and entry-point signatures this addon uses, declared
// here so the addon builds without the CUDA toolkit. Values match the driver ABI (cuda.h, 12.x).
#pragma once

#include <cstddef>
#include <cstdint>

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st*;
using CUmodule = struct CUmod_st*;
using CUfunction = struct CUfunc_st*;
using CUstream = struct CUstream_st*;
using CUevent = struct CUevent_st*;
using CUlinkState = struct CUlinkState_st*;

struct CUuuid {
  unsigned char bytes[16];
};

// An exported device allocation (cuIpcGetMemHandle): 64 opaque bytes another process can open.
constexpr size_t kIpcHandleBytes = 64;
struct CUipcMemHandle {
  char reserved[kIpcHandleBytes];
};
// cuIpcOpenMemHandle flag: enable peer access to the exporting device on first use, if it is another device.
constexpr unsigned int CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS = 0x1;

constexpr CUresult CUDA_SUCCESS = 0;
constexpr CUresult CUDA_ERROR_INVALID_VALUE = 1;
constexpr CUresult CUDA_ERROR_NOT_INITIALIZED = 3;
constexpr CUresult CUDA_ERROR_INVALID_DEVICE = 101;
constexpr CUresult CUDA_ERROR_INVALID_HANDLE = 400;
constexpr CUresult CUDA_ERROR_NOT_FOUND = 500;
constexpr CUresult CUDA_ERROR_NOT_READY = 600;

// The API version every entry point is requested at, so behaviour does not drift with the driver.
constexpr int kCudaApiVersion = 12000;

// cuGetProcAddress flags and status.
constexpr uint64_t CU_GET_PROC_ADDRESS_DEFAULT = 0;
constexpr int CU_GET_PROC_ADDRESS_SUCCESS = 0;
constexpr int CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND = 1;
constexpr int CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT = 2;

// CUdevice_attribute values used by deviceInfo.
enum CuDeviceAttribute : int {
  kAttrMaxThreadsPerBlock = 1,
  kAttrMaxBlockDimX = 2,
  kAttrMaxBlockDimY = 3,
  kAttrMaxBlockDimZ = 4,
  kAttrMaxGridDimX = 5,
  kAttrMaxGridDimY = 6,
  kAttrMaxGridDimZ = 7,
  kAttrMaxSharedMemoryPerBlock = 8,
  kAttrTotalConstantMemory = 9,
  kAttrWarpSize = 10,
  kAttrMaxRegistersPerBlock = 12,
  kAttrClockRate = 13,
  kAttrMultiprocessorCount = 16,
  kAttrKernelExecTimeout = 17,
  kAttrIntegrated = 18,
  kAttrCanMapHostMemory = 19,
  kAttrComputeMode = 20,
  kAttrConcurrentKernels = 31,
  kAttrEccEnabled = 32,
  kAttrMemoryClockRate = 36,
  kAttrGlobalMemoryBusWidth = 37,
  kAttrL2CacheSize = 38,
  kAttrMaxThreadsPerMultiprocessor = 39,
  kAttrAsyncEngineCount = 40,
  kAttrUnifiedAddressing = 41,
  kAttrComputeCapabilityMajor = 75,
  kAttrComputeCapabilityMinor = 76,
  kAttrMaxSharedMemoryPerMultiprocessor = 81,
  kAttrManagedMemory = 83,
  kAttrMultiGpuBoard = 84,
  kAttrCooperativeLaunch = 95,
  kAttrMaxSharedMemoryPerBlockOptin = 97,
  kAttrNumaConfig = 130,
  kAttrNumaId = 131,
  kAttrHostNumaId = 134,
};

// CUdevice_P2PAttribute.
enum CuP2PAttribute : int {
  kP2PPerformanceRank = 1,
  kP2PAccessSupported = 2,
  kP2PNativeAtomicSupported = 3,
  kP2PCudaArrayAccessSupported = 4,
};

// CUjit_option values used by moduleLoad.
enum CuJitOption : int {
  kJitMaxRegisters = 0,
  kJitWallTime = 2,
  kJitInfoLogBuffer = 3,
  kJitInfoLogBufferSizeBytes = 4,
  kJitErrorLogBuffer = 5,
  kJitErrorLogBufferSizeBytes = 6,
  kJitOptimizationLevel = 7,
  kJitGenerateDebugInfo = 11,
  kJitLogVerbose = 12,
  kJitGenerateLineInfo = 13,
};

// CUjitInputType values: what the linker is given.
enum CuJitInputType : int {
  kJitInputCubin = 0,
  kJitInputPtx = 1,
  kJitInputFatbinary = 2,
};

// CUfunction_attribute values used by functionInfo.
enum CuFunctionAttribute : int {
  kFuncMaxThreadsPerBlock = 0,
  kFuncSharedSizeBytes = 1,
  kFuncConstSizeBytes = 2,
  kFuncLocalSizeBytes = 3,
  kFuncNumRegs = 4,
  kFuncPtxVersion = 5,
  kFuncBinaryVersion = 6,
};

constexpr unsigned int CU_MEMHOSTALLOC_PORTABLE = 0x01;
constexpr unsigned int CU_STREAM_NON_BLOCKING = 0x01;
constexpr unsigned int CU_EVENT_BLOCKING_SYNC = 0x01;
constexpr unsigned int CU_EVENT_DISABLE_TIMING = 0x02;

// Entry points: the signature of each driver function this addon calls.
using PFN_cuGetProcAddress_v2 = CUresult (*)(const char* symbol, void** pfn, int cudaVersion, uint64_t flags,
                                            int* symbolStatus);
using PFN_cuGetProcAddress_v1 = CUresult (*)(const char* symbol, void** pfn, int cudaVersion, uint64_t flags);

using PFN_cuInit = CUresult (*)(unsigned int flags);
using PFN_cuDriverGetVersion = CUresult (*)(int* version);
using PFN_cuGetErrorName = CUresult (*)(CUresult error, const char** name);
using PFN_cuGetErrorString = CUresult (*)(CUresult error, const char** text);
using PFN_cuDeviceGetCount = CUresult (*)(int* count);
using PFN_cuDeviceGet = CUresult (*)(CUdevice* device, int ordinal);
using PFN_cuDeviceGetName = CUresult (*)(char* name, int length, CUdevice device);
using PFN_cuDeviceGetUuid = CUresult (*)(CUuuid* uuid, CUdevice device);
using PFN_cuDeviceGetPCIBusId = CUresult (*)(char* busId, int length, CUdevice device);
using PFN_cuDeviceTotalMem = CUresult (*)(size_t* bytes, CUdevice device);
using PFN_cuDeviceGetAttribute = CUresult (*)(int* value, int attribute, CUdevice device);
using PFN_cuDevicePrimaryCtxRetain = CUresult (*)(CUcontext* context, CUdevice device);
using PFN_cuCtxSetCurrent = CUresult (*)(CUcontext context);
using PFN_cuCtxSynchronize = CUresult (*)();
using PFN_cuMemGetInfo = CUresult (*)(size_t* free, size_t* total);
using PFN_cuDeviceCanAccessPeer = CUresult (*)(int* canAccess, CUdevice device, CUdevice peer);
using PFN_cuDeviceGetP2PAttribute = CUresult (*)(int* value, int attribute, CUdevice src, CUdevice dst);
using PFN_cuCtxEnablePeerAccess = CUresult (*)(CUcontext peer, unsigned int flags);
using PFN_cuCtxDisablePeerAccess = CUresult (*)(CUcontext peer);
using PFN_cuModuleLoadDataEx = CUresult (*)(CUmodule* module, const void* image, unsigned int numOptions,
                                           int* options, void** optionValues);
using PFN_cuLinkCreate = CUresult (*)(unsigned int numOptions, int* options, void** optionValues, CUlinkState* state);
using PFN_cuLinkAddData = CUresult (*)(CUlinkState state, int type, void* data, size_t size, const char* name,
                                      unsigned int numOptions, int* options, void** optionValues);
using PFN_cuLinkComplete = CUresult (*)(CUlinkState state, void** cubin, size_t* size);
using PFN_cuLinkDestroy = CUresult (*)(CUlinkState state);
using PFN_cuModuleUnload = CUresult (*)(CUmodule module);
using PFN_cuModuleGetFunction = CUresult (*)(CUfunction* function, CUmodule module, const char* name);
using PFN_cuFuncGetAttribute = CUresult (*)(int* value, int attribute, CUfunction function);
using PFN_cuFuncGetParamInfo = CUresult (*)(CUfunction function, size_t index, size_t* offset, size_t* size);
using PFN_cuMemAlloc = CUresult (*)(CUdeviceptr* dptr, size_t bytes);
using PFN_cuMemFree = CUresult (*)(CUdeviceptr dptr);
using PFN_cuMemHostAlloc = CUresult (*)(void** pointer, size_t bytes, unsigned int flags);
using PFN_cuMemFreeHost = CUresult (*)(void* pointer);
using PFN_cuMemHostRegister = CUresult (*)(void* pointer, size_t bytes, unsigned int flags);
using PFN_cuMemHostUnregister = CUresult (*)(void* pointer);
using PFN_cuMemsetD8 = CUresult (*)(CUdeviceptr dst, unsigned char value, size_t count);
using PFN_cuMemsetD8Async = CUresult (*)(CUdeviceptr dst, unsigned char value, size_t count, CUstream stream);
using PFN_cuMemcpyHtoD = CUresult (*)(CUdeviceptr dst, const void* src, size_t bytes);
using PFN_cuMemcpyDtoH = CUresult (*)(void* dst, CUdeviceptr src, size_t bytes);
using PFN_cuMemcpyDtoD = CUresult (*)(CUdeviceptr dst, CUdeviceptr src, size_t bytes);
using PFN_cuMemcpyPeer = CUresult (*)(CUdeviceptr dst, CUcontext dstContext, CUdeviceptr src, CUcontext srcContext,
                                     size_t bytes);
using PFN_cuMemcpyHtoDAsync = CUresult (*)(CUdeviceptr dst, const void* src, size_t bytes, CUstream stream);
using PFN_cuMemcpyDtoHAsync = CUresult (*)(void* dst, CUdeviceptr src, size_t bytes, CUstream stream);
using PFN_cuMemcpyDtoDAsync = CUresult (*)(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream stream);
using PFN_cuMemcpyPeerAsync = CUresult (*)(CUdeviceptr dst, CUcontext dstContext, CUdeviceptr src,
                                          CUcontext srcContext, size_t bytes, CUstream stream);
using PFN_cuIpcGetMemHandle = CUresult (*)(CUipcMemHandle* handle, CUdeviceptr dptr);
using PFN_cuIpcOpenMemHandle = CUresult (*)(CUdeviceptr* dptr, CUipcMemHandle handle, unsigned int flags);
using PFN_cuIpcCloseMemHandle = CUresult (*)(CUdeviceptr dptr);
using PFN_cuMemGetAddressRange = CUresult (*)(CUdeviceptr* base, size_t* bytes, CUdeviceptr dptr);
using PFN_cuStreamCreate = CUresult (*)(CUstream* stream, unsigned int flags);
using PFN_cuStreamDestroy = CUresult (*)(CUstream stream);
using PFN_cuStreamSynchronize = CUresult (*)(CUstream stream);
using PFN_cuStreamQuery = CUresult (*)(CUstream stream);
using PFN_cuEventCreate = CUresult (*)(CUevent* event, unsigned int flags);
using PFN_cuEventDestroy = CUresult (*)(CUevent event);
using PFN_cuEventRecord = CUresult (*)(CUevent event, CUstream stream);
using PFN_cuEventSynchronize = CUresult (*)(CUevent event);
using PFN_cuEventQuery = CUresult (*)(CUevent event);
using PFN_cuEventElapsedTime = CUresult (*)(float* milliseconds, CUevent start, CUevent end);
using PFN_cuLaunchKernel = CUresult (*)(CUfunction function, unsigned int gridX, unsigned int gridY,
                                       unsigned int gridZ, unsigned int blockX, unsigned int blockY,
                                       unsigned int blockZ, unsigned int sharedMemBytes, CUstream stream,
                                       void** kernelParams, void** extra);
