// Device memory (bigint pointers), pinned host memory (ArrayBuffers the driver page-locked) and
// memsets.
#include <mutex>
#include <string>
#include <unordered_map>

#include "args.h"
#include "context.h"
#include "device_range.h"
#include "driver.h"
#include "errors.h"
#include "exports.h"
#include "handles.h"

namespace {

std::string OnDevice(int ordinal) {
  return " on CUDA device " + std::to_string(ordinal);
}

Napi::Value MemAllocJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int ordinal = ArgDevice(info, 0, "memAlloc");
  size_t bytes = ArgBytes(info, 1, "memAlloc", "bytes");
  if (bytes == 0) throw ArgumentError(env, "memAlloc", "bytes must be at least 1");
  UseDevice(env, ordinal, "cuMemAlloc_v2");
  CUdeviceptr pointer = 0;
  Check(env, Cu().cuMemAlloc(&pointer, bytes), "cuMemAlloc_v2",
        [&] { return "allocating " + std::to_string(bytes) + " bytes" + OnDevice(ordinal); });
  return Napi::BigInt::New(env, static_cast<uint64_t>(pointer));
}

Napi::Value MemFreeJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int ordinal = ArgDevice(info, 0, "memFree");
  CUdeviceptr pointer = ArgPointer(info, 1, "memFree", "pointer");
  UseDevice(env, ordinal, "cuMemFree_v2");
  Check(env, Cu().cuMemFree(pointer), "cuMemFree_v2",
        [&] { return "freeing device memory at " + Hex(pointer) + OnDevice(ordinal); });
  return env.Undefined();
}

Napi::Value PointerRangeJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int ordinal = ArgDevice(info, 0, "pointerRange");
  CUdeviceptr pointer = ArgPointer(info, 1, "pointerRange", "pointer");
  UseDevice(env, ordinal, "cuMemGetAddressRange_v2");
  CUdeviceptr base = 0;
  size_t size = 0;
  Check(env, Cu().cuMemGetAddressRange(&base, &size, pointer), "cuMemGetAddressRange_v2",
        [&] { return "finding the allocation holding " + Hex(pointer) + OnDevice(ordinal); });
  Napi::Object out = Napi::Object::New(env);
  out.Set("base", Napi::BigInt::New(env, static_cast<uint64_t>(base)));
  out.Set("size", static_cast<double>(size));
  return out;
}

Napi::Value MemsetD8Js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "memsetD8";
  int ordinal = ArgDevice(info, 0, fn);
  CUdeviceptr pointer = ArgPointer(info, 1, fn, "pointer");
  uint32_t value = ArgUint32(info, 2, fn, "value");
  if (value > 255) throw ArgumentError(env, fn, "value must be a byte (0 to 255), got " + std::to_string(value));
  size_t bytes = ArgBytes(info, 3, fn, "bytes");
  UseDevice(env, ordinal, "cuMemsetD8_v2");
  if (bytes == 0) return env.Undefined();
  CheckDeviceRange(env, pointer, bytes, "cuMemsetD8_v2", "the memset");
  Check(env, Cu().cuMemsetD8(pointer, static_cast<unsigned char>(value), bytes), "cuMemsetD8_v2",
        [&] { return "setting " + std::to_string(bytes) + " bytes at " + Hex(pointer) + OnDevice(ordinal); });
  return env.Undefined();
}

Napi::Value MemsetD8AsyncJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "memsetD8Async";
  std::shared_ptr<Resource> stream = ArgResource(info, 0, ResourceKind::Stream, fn, "stream");
  CUdeviceptr pointer = ArgPointer(info, 1, fn, "pointer");
  uint32_t value = ArgUint32(info, 2, fn, "value");
  if (value > 255) throw ArgumentError(env, fn, "value must be a byte (0 to 255), got " + std::to_string(value));
  size_t bytes = ArgBytes(info, 3, fn, "bytes");
  MakeCurrent(env, stream->context);
  if (bytes == 0) return env.Undefined();
  CheckDeviceRange(env, pointer, bytes, "cuMemsetD8Async", "the memset");
  Check(env, Cu().cuMemsetD8Async(pointer, static_cast<unsigned char>(value), bytes, stream->Stream()),
        "cuMemsetD8Async",
        [&] { return "queueing a memset of " + std::to_string(bytes) + " bytes at " + Hex(pointer) + OnDevice(stream->device); });
  return env.Undefined();
}

// Pinned blocks by address, so memFreeHost can find the block behind an ArrayBuffer and the
// collector's finalizer does not free it a second time.
struct PinnedBlock {
  CUcontext context;
  size_t bytes;
  bool freed = false;
};
std::mutex pinnedMutex;
std::unordered_map<void*, PinnedBlock*> pinned;

void FinalizePinned(napi_env, void* data, void* hint) {
  auto* block = static_cast<PinnedBlock*>(hint);
  {
    std::lock_guard<std::mutex> lock(pinnedMutex);
    if (!block->freed) {
      block->freed = true;
      Cu().cuCtxSetCurrent(block->context);
      Cu().cuMemFreeHost(data);
    }
    auto found = pinned.find(data);
    if (found != pinned.end() && found->second == block) pinned.erase(found);
  }
  delete block;
}

Napi::Value MemAllocHostJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int ordinal = ArgDevice(info, 0, "memAllocHost");
  size_t bytes = ArgBytes(info, 1, "memAllocHost", "bytes");
  if (bytes == 0) throw ArgumentError(env, "memAllocHost", "bytes must be at least 1");
  CUcontext context = UseDevice(env, ordinal, "cuMemHostAlloc");
  void* data = nullptr;
  // Portable: the pages count as pinned for every context in the process, not only this device's.
  Check(env, Cu().cuMemHostAlloc(&data, bytes, CU_MEMHOSTALLOC_PORTABLE), "cuMemHostAlloc",
        [&] { return "allocating " + std::to_string(bytes) + " bytes of pinned host memory for CUDA device " + std::to_string(ordinal); });
  auto* block = new PinnedBlock{context, bytes};
  napi_value buffer = nullptr;
  napi_status status = napi_create_external_arraybuffer(env, data, bytes, FinalizePinned, block, &buffer);
  if (status != napi_ok) {
    Cu().cuMemFreeHost(data);
    delete block;
    if (status == napi_no_external_buffers_allowed) {
      throw StructuredError(env, "EXTERNAL_BUFFERS_NOT_ALLOWED", -1, "napi_create_external_arraybuffer",
                            "this JavaScript runtime (V8 memory cage, as in Electron) does not allow ArrayBuffers over "
                            "driver memory, so pinned buffers are unavailable; copy from ordinary buffers instead");
    }
    throw Napi::Error::New(env, "memAllocHost: could not wrap pinned memory in an ArrayBuffer");
  }
  std::lock_guard<std::mutex> lock(pinnedMutex);
  pinned[data] = block;
  return Napi::Value(env, buffer);
}

Napi::Value MemFreeHostJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Value value = info[0];
  if (!value.IsArrayBuffer()) {
    throw ArgumentError(env, "memFreeHost", "buffer must be the ArrayBuffer memAllocHost returned, got " + Describe(value));
  }
  Napi::ArrayBuffer buffer = value.As<Napi::ArrayBuffer>();
  void* data = buffer.Data();
  PinnedBlock* block = nullptr;
  {
    std::lock_guard<std::mutex> lock(pinnedMutex);
    auto found = data != nullptr ? pinned.find(data) : pinned.end();
    if (found == pinned.end() || found->second->freed) {
      throw ArgumentError(env, "memFreeHost", "buffer was not allocated by memAllocHost, or was already freed");
    }
    block = found->second;
    block->freed = true;  // the finalizer, when it comes, only deletes the bookkeeping
    pinned.erase(found);
  }
  // Detach first: JavaScript must never see the pages after they go back to the driver.
  buffer.Detach();
  MakeCurrent(env, block->context);
  Check(env, Cu().cuMemFreeHost(data), "cuMemFreeHost",
        [&] { return "freeing " + std::to_string(block->bytes) + " bytes of pinned host memory"; });
  return env.Undefined();
}

}  // namespace

void RegisterMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("memAlloc", Napi::Function::New(env, MemAllocJs, "memAlloc"));
  exports.Set("memFree", Napi::Function::New(env, MemFreeJs, "memFree"));
  exports.Set("pointerRange", Napi::Function::New(env, PointerRangeJs, "pointerRange"));
  exports.Set("memsetD8", Napi::Function::New(env, MemsetD8Js, "memsetD8"));
  exports.Set("memsetD8Async", Napi::Function::New(env, MemsetD8AsyncJs, "memsetD8Async"));
  exports.Set("memAllocHost", Napi::Function::New(env, MemAllocHostJs, "memAllocHost"));
  exports.Set("memFreeHost", Napi::Function::New(env, MemFreeHostJs, "memFreeHost"));
}
