#include "device_range.h"

#include "args.h"
#include "driver.h"
#include "errors.h"

void CheckDeviceRange(Napi::Env env, CUdeviceptr pointer, size_t bytes, const char* call, const char* what) {
  CUdeviceptr base = 0;
  size_t size = 0;
  CUresult result = Cu().cuMemGetAddressRange(&base, &size, pointer);
  if (result != CUDA_SUCCESS) {
    throw StructuredError(env, CudaErrorName(result), result, call,
                          std::string(what) + " " + Hex(pointer) +
                              " is not inside a device allocation this process holds (freed, never allocated, or "
                              "not device memory); cuMemGetAddressRange_v2 returned " + CudaErrorName(result));
  }
  uint64_t offset = pointer - base;
  if (bytes > size - offset) {
    throw StructuredError(env, "CUDA_ERROR_INVALID_VALUE", CUDA_ERROR_INVALID_VALUE, call,
                          std::string(what) + " range of " + std::to_string(bytes) + " bytes at " + Hex(pointer) +
                              " runs past its allocation (" + std::to_string(size) + " bytes at " + Hex(base) +
                              ", offset " + std::to_string(offset) + ")");
  }
}
