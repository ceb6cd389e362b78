#include "dynamic_library.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <dlfcn.h>
#endif

bool DynamicLibrary::Open(const char* library) {
  name = library;
#ifdef _WIN32
  HMODULE module = LoadLibraryA(library);
  if (module == nullptr) {
    error = "LoadLibrary failed with Windows error " + std::to_string(GetLastError());
    return false;
  }
  handle = reinterpret_cast<void*>(module);
#else
  // RTLD_LOCAL keeps the driver's symbols out of the global namespace, so another copy of them
  // in the process (another addon, a CUDA runtime) cannot be bound in their place.
  handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* reason = dlerror();
    error = reason != nullptr ? reason : "dlopen failed without a reason";
    return false;
  }
#endif
  return true;
}

void* DynamicLibrary::Symbol(const char* symbol) const {
  if (handle == nullptr) return nullptr;
#ifdef _WIN32
  return reinterpret_cast<void*>(GetProcAddress(reinterpret_cast<HMODULE>(handle), symbol));
#else
  return dlsym(handle, symbol);
#endif
}

void DynamicLibrary::FindPath(void* symbol) {
  if (symbol == nullptr) return;
#ifdef _WIN32
  char buffer[MAX_PATH];
  DWORD length = GetModuleFileNameA(reinterpret_cast<HMODULE>(handle), buffer, MAX_PATH);
  if (length > 0) path.assign(buffer, length);
#else
  Dl_info info{};
  if (dladdr(symbol, &info) != 0 && info.dli_fname != nullptr) path = info.dli_fname;
#endif
}
