#include "pinned_memory.h"

#include <atomic>
#include <mutex>
#include <string>
#include <unordered_map>

#include "args.h"
#include "context.h"
#include "driver.h"
#include "errors.h"
#include "exports.h"
#include "messages.h"

struct PinnedBlock {
  void* data;
  CUcontext context;
  size_t bytes;
  int holds = 0;             // queued copies using the pages
  bool freeAsked = false;    // memFreeHost ran, or the buffer was collected
  bool collected = false;    // the ArrayBuffer's finalizer ran
  bool pagesFreed = false;   // cuMemFreeHost ran
};

namespace {

// Blocks by address, while JavaScript can still present their buffer: memFreeHost and holds find
// the block behind an ArrayBuffer here.
std::mutex mutex;
std::unordered_map<void*, PinnedBlock*> blocks;
std::atomic<long long> liveBlocks{0};
std::atomic<long long> liveBytes{0};

// With `mutex` held. The pages go back once nothing uses them any more.
CUresult FreePagesIfIdle(PinnedBlock* block) {
  if (block->pagesFreed || !block->freeAsked || block->holds > 0) return CUDA_SUCCESS;
  block->pagesFreed = true;
  liveBlocks--;
  liveBytes -= static_cast<long long>(block->bytes);
  CUresult result = Cu().cuCtxSetCurrent(block->context);
  return result == CUDA_SUCCESS ? Cu().cuMemFreeHost(block->data) : result;
}

// With `mutex` held: the bookkeeping goes once both the buffer and the pages are gone.
void DeleteIfDone(PinnedBlock* block) {
  if (block->collected && block->pagesFreed) delete block;
}

void Forget(PinnedBlock* block) {
  auto found = blocks.find(block->data);
  if (found != blocks.end() && found->second == block) blocks.erase(found);
}

void FinalizePinned(napi_env, void*, void* hint) {
  auto* block = static_cast<PinnedBlock*>(hint);
  std::lock_guard<std::mutex> lock(mutex);
  Forget(block);
  block->collected = true;
  block->freeAsked = true;
  FreePagesIfIdle(block);  // collected: nobody to report a failure to
  DeleteIfDone(block);
}

Napi::Value MemAllocHostJs(const Napi::CallbackInfo& info) {
  Args args(info, "memAllocHost");
  int ordinal = args.Device(0);
  size_t bytes = args.PositiveBytes(1, "bytes");
  Napi::Env env = args.Env();
  CUcontext context = UseDevice(env, ordinal, "cuMemHostAlloc");
  void* data = nullptr;
  // Portable: the pages count as pinned for every context in the process, not only this device's.
  Check(env, Cu().cuMemHostAlloc(&data, bytes, CU_MEMHOSTALLOC_PORTABLE), "cuMemHostAlloc",
        [&] { return "allocating " + ByteCount(bytes) + " of pinned host memory for " + DeviceName(ordinal); });
  auto* block = new PinnedBlock{data, context, bytes};
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
  liveBlocks++;
  liveBytes += static_cast<long long>(bytes);
  std::lock_guard<std::mutex> lock(mutex);
  blocks[data] = block;
  return Napi::Value(env, buffer);
}

Napi::Value MemFreeHostJs(const Napi::CallbackInfo& info) {
  Args args(info, "memFreeHost");
  Napi::Env env = args.Env();
  Napi::Value value = args.At(0);
  if (!value.IsArrayBuffer()) throw args.Error("buffer must be the ArrayBuffer memAllocHost returned, got " + Describe(value));
  Napi::ArrayBuffer buffer = value.As<Napi::ArrayBuffer>();
  void* data = buffer.Data();
  std::unique_lock<std::mutex> lock(mutex);
  auto found = data != nullptr ? blocks.find(data) : blocks.end();
  if (found == blocks.end()) throw args.Error("buffer was not allocated by memAllocHost, or was already freed");
  PinnedBlock* block = found->second;
  blocks.erase(found);
  block->freeAsked = true;
  size_t bytes = block->bytes;
  // Detach first: JavaScript must never see the pages after they go back to the driver. Queued
  // copies that still use them keep them until they are done (UnholdPinned frees them then).
  buffer.Detach();
  CUresult result = FreePagesIfIdle(block);
  lock.unlock();
  Check(env, result, "cuMemFreeHost", [&] { return "freeing " + ByteCount(bytes) + " of pinned host memory"; });
  return env.Undefined();
}

}  // namespace

PinnedBlock* HoldPinned(void* base) {
  if (base == nullptr) return nullptr;
  std::lock_guard<std::mutex> lock(mutex);
  auto found = blocks.find(base);
  if (found == blocks.end()) return nullptr;
  found->second->holds++;
  return found->second;
}

void UnholdPinned(PinnedBlock* block) {
  std::lock_guard<std::mutex> lock(mutex);
  block->holds--;
  FreePagesIfIdle(block);  // a memFreeHost that waited for this copy; it already returned
  DeleteIfDone(block);
}

double LivePinnedBlocks() {
  return static_cast<double>(liveBlocks.load());
}

double LivePinnedBytes() {
  return static_cast<double>(liveBytes.load());
}

void RegisterPinnedMemory(Napi::Env env, Napi::Object exports) {
  Export(env, exports, {
                           {"memAllocHost", MemAllocHostJs},
                           {"memFreeHost", MemFreeHostJs},
                       });
}
