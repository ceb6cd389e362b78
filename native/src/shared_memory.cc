// Shared memory between processes, with no copy: mapShared maps a file of /dev/shm (MAP_SHARED)
// and hands JavaScript an ArrayBuffer over those pages, so the language server and a device host
// (or two device hosts) that map the same file see the same bytes. It needs no CUDA driver: every
// device host loads the addon for it, a WebGPU one too. memHostRegister page-locks such a mapping
// for the CUDA driver (cuMemHostRegister), so copies from and to it are DMA, as from memAllocHost.
//
// Lifetime: unmapShared detaches the ArrayBuffer at once (JavaScript never sees the pages after)
// and unmaps them, unregistering them first when registered; a mapping nobody references is
// unmapped by its finalizer. A stream copy holds the ArrayBuffer it reads or writes (holds.h), so
// the collector cannot take a mapping under the GPU; an explicit unmap while a copy is queued is
// the caller's bug, which the device host's transfer pool never does (it unmaps only idle regions).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>

#include "args.h"
#include "context.h"
#include "driver.h"
#include "errors.h"
#include "exports.h"
#include "messages.h"

namespace {

constexpr unsigned int CU_MEMHOSTREGISTER_PORTABLE = 0x01;

struct Mapping {
  void* data;
  size_t bytes;
  CUcontext registeredIn = nullptr;  // set while cuMemHostRegister holds the pages
  bool unmapped = false;
};

std::mutex mutex;
std::unordered_map<void*, Mapping*> mappings;

// With `mutex` held: unregisters (when registered) and unmaps, once.
void Release(Mapping* mapping) {
  if (mapping->unmapped) return;
  mapping->unmapped = true;
  if (mapping->registeredIn != nullptr && LoadDriver().available) {
    if (Cu().cuCtxSetCurrent(mapping->registeredIn) == CUDA_SUCCESS) Cu().cuMemHostUnregister(mapping->data);
    mapping->registeredIn = nullptr;
  }
  munmap(mapping->data, mapping->bytes);
}

void FinalizeMapping(napi_env, void*, void* hint) {
  auto* mapping = static_cast<Mapping*>(hint);
  std::lock_guard<std::mutex> lock(mutex);
  auto found = mappings.find(mapping->data);
  if (found != mappings.end() && found->second == mapping) mappings.erase(found);
  Release(mapping);
  delete mapping;
}

std::string SystemError(const std::string& what, int error) {
  return what + ": " + std::strerror(error);
}

// The mapping behind an ArrayBuffer mapShared returned, or a TypeError.
Mapping* MappingOf(const Args& args, size_t index, Napi::ArrayBuffer* out) {
  Napi::Value value = args.At(index);
  if (!value.IsArrayBuffer())
    throw args.Error("buffer must be the ArrayBuffer mapShared returned, got " + Describe(value));
  Napi::ArrayBuffer buffer = value.As<Napi::ArrayBuffer>();
  void* data = buffer.Data();
  auto found = data != nullptr ? mappings.find(data) : mappings.end();
  if (found == mappings.end()) throw args.Error("buffer was not mapped by mapShared, or was already unmapped");
  if (out) *out = buffer;
  return found->second;
}

// mapShared(path, bytes): the file must exist and hold exactly `bytes` (its creator sized it).
Napi::Value MapSharedJs(const Napi::CallbackInfo& info) {
  Args args(info, "mapShared");
  std::string path = args.String(0, "path");
  size_t bytes = args.PositiveBytes(1, "bytes");
  Napi::Env env = args.Env();
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) throw Napi::Error::New(env, SystemError("mapShared: cannot open " + path, errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int error = errno;
    close(fd);
    throw Napi::Error::New(env, SystemError("mapShared: cannot stat " + path, error));
  }
  if (!S_ISREG(st.st_mode) || static_cast<size_t>(st.st_size) != bytes) {
    close(fd);
    throw Napi::Error::New(env, "mapShared: " + path + " holds " + std::to_string(st.st_size) + " bytes, not the " +
                                    std::to_string(bytes) + " asked for (or is not a regular file)");
  }
  // MAP_POPULATE: the page tables (and, for a new file, its pages) are made now, at the first use of
  // a region in this process, not one fault per 4 KiB during a transfer.
  void* data = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  int error = errno;
  close(fd);  // the mapping keeps the file's pages; the descriptor is not needed any more
  if (data == MAP_FAILED) throw Napi::Error::New(env, SystemError("mapShared: cannot map " + path, error));
  auto* mapping = new Mapping{data, bytes};
  napi_value buffer = nullptr;
  napi_status status = napi_create_external_arraybuffer(env, data, bytes, FinalizeMapping, mapping, &buffer);
  if (status != napi_ok) {
    munmap(data, bytes);
    delete mapping;
    if (status == napi_no_external_buffers_allowed)
      throw StructuredError(env, "EXTERNAL_BUFFERS_NOT_ALLOWED", -1, "napi_create_external_arraybuffer",
                            "this JavaScript runtime does not allow ArrayBuffers over mapped memory; shared "
                            "transfers fall back to reading the file");
    throw Napi::Error::New(env, "mapShared: could not wrap the mapping of " + path + " in an ArrayBuffer");
  }
  std::lock_guard<std::mutex> lock(mutex);
  mappings[data] = mapping;
  return Napi::Value(env, buffer);
}

Napi::Value UnmapSharedJs(const Napi::CallbackInfo& info) {
  Args args(info, "unmapShared");
  std::lock_guard<std::mutex> lock(mutex);
  Napi::ArrayBuffer buffer;
  Mapping* mapping = MappingOf(args, 0, &buffer);
  mappings.erase(mapping->data);
  // Detach first: JavaScript must never reach the pages once they are gone. The finalizer still
  // runs later and deletes the bookkeeping; Release does nothing twice.
  buffer.Detach();
  Release(mapping);
  return args.Env().Undefined();
}

// memHostRegister(buffer, device): page-locks a mapShared mapping for the CUDA driver (portable:
// for every context), so copies between it and the device are DMA.
Napi::Value MemHostRegisterJs(const Napi::CallbackInfo& info) {
  Args args(info, "memHostRegister");
  int ordinal = args.Device(1);
  Napi::Env env = args.Env();
  std::lock_guard<std::mutex> lock(mutex);
  Mapping* mapping = MappingOf(args, 0, nullptr);
  if (mapping->registeredIn != nullptr) return env.Undefined();
  CUcontext context = UseDevice(env, ordinal, "cuMemHostRegister");
  Check(env, Cu().cuMemHostRegister(mapping->data, mapping->bytes, CU_MEMHOSTREGISTER_PORTABLE), "cuMemHostRegister_v2",
        [&] { return "page-locking " + ByteCount(mapping->bytes) + " of shared memory for " + DeviceName(ordinal); });
  mapping->registeredIn = context;
  return env.Undefined();
}

Napi::Value MemHostUnregisterJs(const Napi::CallbackInfo& info) {
  Args args(info, "memHostUnregister");
  Napi::Env env = args.Env();
  std::lock_guard<std::mutex> lock(mutex);
  Mapping* mapping = MappingOf(args, 0, nullptr);
  if (mapping->registeredIn == nullptr) return env.Undefined();
  MakeCurrent(env, mapping->registeredIn);
  CUresult result = Cu().cuMemHostUnregister(mapping->data);
  mapping->registeredIn = nullptr;
  Check(env, result, "cuMemHostUnregister", [&] { return "unlocking " + ByteCount(mapping->bytes) + " of shared memory"; });
  return env.Undefined();
}

}  // namespace

void RegisterSharedMemory(Napi::Env env, Napi::Object exports) {
  Export(env, exports, {
                           {"mapShared", MapSharedJs},
                           {"unmapShared", UnmapSharedJs},
                           {"memHostRegister", MemHostRegisterJs},
                           {"memHostUnregister", MemHostUnregisterJs},
                       });
}
