#include "nvml_loader.h"

#include <chrono>
#include <mutex>

#include "dynamic_library.h"

namespace {

#ifdef _WIN32
constexpr const char* kNvmlLibrary = "nvml.dll";
#else
constexpr const char* kNvmlLibrary = "libnvidia-ml.so.1";
#endif

NvmlApi api;
NvmlStatus status;
DynamicLibrary library;
std::once_flag once;

void Fail(const std::string& name, const char* call, const std::string& reason, int code = -1) {
  status.available = false;
  status.errorName = name;
  status.errorCall = call;
  status.errorCode = code;
  status.reason = reason;
}

void Load() {
  status.library = kNvmlLibrary;
  if (!library.Open(kNvmlLibrary)) {
    Fail("NVML_NOT_FOUND", "dlopen",
         std::string(kNvmlLibrary) + " could not be loaded (" + library.error +
             "). It ships with the NVIDIA driver; without it NVLink and PCIe topology are unknown.");
    return;
  }
  api.nvmlInit_v2 = reinterpret_cast<PFN_nvmlInit_v2>(library.Symbol("nvmlInit_v2"));
  api.nvmlErrorString = reinterpret_cast<PFN_nvmlErrorString>(library.Symbol("nvmlErrorString"));
  library.FindPath(reinterpret_cast<void*>(api.nvmlInit_v2));
  status.libraryPath = library.path;
  if (api.nvmlInit_v2 == nullptr || api.nvmlErrorString == nullptr) {
    Fail("ENTRY_POINT_MISSING", "dlsym",
         std::string(kNvmlLibrary) + " lacks nvmlInit_v2 or nvmlErrorString; the NVIDIA driver is too old.");
    return;
  }
#define RINGKERNEL_RESOLVE_NVML(name)                                        \
  api.name = reinterpret_cast<PFN_##name>(library.Symbol(#name));            \
  if (api.name == nullptr) status.missing.push_back(#name);
  RINGKERNEL_NVML_ENTRY_POINTS(RINGKERNEL_RESOLVE_NVML)
#undef RINGKERNEL_RESOLVE_NVML
  auto started = std::chrono::steady_clock::now();
  nvmlReturn_t result = api.nvmlInit_v2();
  status.initMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  if (result != NVML_SUCCESS) {
    Fail(NvmlErrorName(result), "nvmlInit_v2",
         "NVML (" + library.path + ") loaded but nvmlInit_v2 failed: " + NvmlErrorText(result), result);
    return;
  }
  status.available = true;
}

}  // namespace

const NvmlStatus& LoadNvml() {
  std::call_once(once, Load);
  return status;
}

const NvmlApi& Nvml() {
  return api;
}

std::string NvmlErrorName(nvmlReturn_t result) {
  switch (result) {
    case 0: return "NVML_SUCCESS";
    case 1: return "NVML_ERROR_UNINITIALIZED";
    case 2: return "NVML_ERROR_INVALID_ARGUMENT";
    case 3: return "NVML_ERROR_NOT_SUPPORTED";
    case 4: return "NVML_ERROR_NO_PERMISSION";
    case 5: return "NVML_ERROR_ALREADY_INITIALIZED";
    case 6: return "NVML_ERROR_NOT_FOUND";
    case 7: return "NVML_ERROR_INSUFFICIENT_SIZE";
    case 8: return "NVML_ERROR_INSUFFICIENT_POWER";
    case 9: return "NVML_ERROR_DRIVER_NOT_LOADED";
    case 10: return "NVML_ERROR_TIMEOUT";
    case 11: return "NVML_ERROR_IRQ_ISSUE";
    case 12: return "NVML_ERROR_LIBRARY_NOT_FOUND";
    case 13: return "NVML_ERROR_FUNCTION_NOT_FOUND";
    case 14: return "NVML_ERROR_CORRUPTED_INFOROM";
    case 15: return "NVML_ERROR_GPU_IS_LOST";
    case 16: return "NVML_ERROR_RESET_REQUIRED";
    case 17: return "NVML_ERROR_OPERATING_SYSTEM";
    case 18: return "NVML_ERROR_LIB_RM_VERSION_MISMATCH";
    case 19: return "NVML_ERROR_IN_USE";
    case 20: return "NVML_ERROR_MEMORY";
    case 21: return "NVML_ERROR_NO_DATA";
    case 22: return "NVML_ERROR_VGPU_ECC_NOT_SUPPORTED";
    case 23: return "NVML_ERROR_INSUFFICIENT_RESOURCES";
    case 24: return "NVML_ERROR_FREQ_NOT_SUPPORTED";
    case 25: return "NVML_ERROR_ARGUMENT_VERSION_MISMATCH";
    case 26: return "NVML_ERROR_DEPRECATED";
    case 27: return "NVML_ERROR_NOT_READY";
    case 28: return "NVML_ERROR_GPU_NOT_FOUND";
    case 29: return "NVML_ERROR_INVALID_STATE";
    default: return result == 999 ? "NVML_ERROR_UNKNOWN" : "NVML_ERROR_" + std::to_string(result);
  }
}

std::string NvmlErrorText(nvmlReturn_t result) {
  const char* text = api.nvmlErrorString != nullptr ? api.nvmlErrorString(result) : nullptr;
  return std::string(text != nullptr ? text : "unknown NVML error") + " (" + NvmlErrorName(result) + ")";
}
