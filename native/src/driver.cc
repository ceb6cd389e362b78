#include "driver.h"

#include <chrono>
#include <mutex>

#include "dynamic_library.h"

namespace {

#ifdef _WIN32
constexpr const char* kDriverLibrary = "nvcuda.dll";
#else
constexpr const char* kDriverLibrary = "libcuda.so.1";
#endif

DriverApi api;
DriverStatus status;
DynamicLibrary library;
std::once_flag once;

double MillisecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

void Fail(const char* name, const std::string& call, const std::string& reason, int code = -1) {
  status.available = false;
  status.errorName = name;
  status.errorCall = call;
  status.errorCode = code;
  status.reason = reason;
}

// Resolves through cuGetProcAddress_v2 where the driver has it (CUDA 12.0+), else through the
// four-argument cuGetProcAddress of CUDA 11.3-11.8.
class ProcAddress {
 public:
  bool Find() {
    v2_ = reinterpret_cast<PFN_cuGetProcAddress_v2>(library.Symbol("cuGetProcAddress_v2"));
    if (v2_ == nullptr) v1_ = reinterpret_cast<PFN_cuGetProcAddress_v1>(library.Symbol("cuGetProcAddress"));
    library.FindPath(v2_ != nullptr ? reinterpret_cast<void*>(v2_) : reinterpret_cast<void*>(v1_));
    return v2_ != nullptr || v1_ != nullptr;
  }

  void* Get(const char* symbol, int version) const {
    void* pfn = nullptr;
    if (v2_ != nullptr) {
      int found = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
      if (v2_(symbol, &pfn, version, CU_GET_PROC_ADDRESS_DEFAULT, &found) != CUDA_SUCCESS ||
          found != CU_GET_PROC_ADDRESS_SUCCESS) {
        return nullptr;
      }
    } else if (v1_(symbol, &pfn, version, CU_GET_PROC_ADDRESS_DEFAULT) != CUDA_SUCCESS) {
      return nullptr;
    }
    return pfn;
  }

 private:
  PFN_cuGetProcAddress_v2 v2_ = nullptr;
  PFN_cuGetProcAddress_v1 v1_ = nullptr;
};

std::string ErrorText(CUresult result) {
  const char* name = nullptr;
  const char* text = nullptr;
  if (api.cuGetErrorName != nullptr) api.cuGetErrorName(result, &name);
  if (api.cuGetErrorString != nullptr) api.cuGetErrorString(result, &text);
  std::string out = text != nullptr ? text : "unknown error";
  out += " (";
  out += name != nullptr ? name : "CUresult " + std::to_string(result);
  out += ")";
  return out;
}

void Load() {
  status.library = kDriverLibrary;
  auto started = std::chrono::steady_clock::now();
  if (!library.Open(kDriverLibrary)) {
    Fail("DRIVER_NOT_FOUND", "dlopen",
         std::string(kDriverLibrary) + " could not be loaded (" + library.error +
             "). The NVIDIA driver is not installed here, or its library is not on the loader's search "
             "path; CUDA kernels need an NVIDIA GPU with its driver (CUDA 12.0 or newer).");
    return;
  }
  ProcAddress resolver;
  if (!resolver.Find()) {
    Fail("DRIVER_TOO_OLD", "cuGetProcAddress",
         std::string(kDriverLibrary) +
             " has no cuGetProcAddress; this NVIDIA driver is older than CUDA 11.3. Update the driver "
             "(CUDA 12.0 or newer).");
    return;
  }
  status.libraryPath = library.path;

  std::string missing;
#define RINGKERNEL_RESOLVE_ENTRY(member, symbol, version, required)                         \
  api.member = reinterpret_cast<PFN_##member>(resolver.Get(#member, version));               \
  if (api.member == nullptr) {                                                               \
    if (required) {                                                                          \
      missing += missing.empty() ? symbol : std::string(", ") + symbol;                      \
    } else {                                                                                 \
      status.missingOptional.push_back(symbol);                                              \
    }                                                                                        \
  }
  RINGKERNEL_CUDA_ENTRY_POINTS(RINGKERNEL_RESOLVE_ENTRY)
#undef RINGKERNEL_RESOLVE_ENTRY
  status.loadMs = MillisecondsSince(started);
  if (!missing.empty()) {
    Fail("ENTRY_POINT_MISSING", "cuGetProcAddress",
         "the NVIDIA driver at " + library.path + " lacks " + missing + " at API version " +
             std::to_string(kCudaApiVersion) + "; update the driver (CUDA 12.0 or newer).");
    return;
  }

  started = std::chrono::steady_clock::now();
  CUresult result = api.cuInit(0);
  status.initMs = MillisecondsSince(started);
  api.cuDriverGetVersion(&status.driverVersion);
  if (result != CUDA_SUCCESS) {
    const char* name = nullptr;
    api.cuGetErrorName(result, &name);
    Fail(name != nullptr ? name : "CUDA_ERROR_UNKNOWN", "cuInit",
         "the NVIDIA driver (" + library.path + ") loaded but cuInit failed: " + ErrorText(result) +
             ". Check that a GPU is visible (nvidia-smi) and that this process may use it.",
         result);
    return;
  }
  status.available = true;
}

}  // namespace

const DriverStatus& LoadDriver() {
  std::call_once(once, Load);
  return status;
}

const DriverApi& Cu() {
  return api;
}
