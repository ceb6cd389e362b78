// Device memory: allocations are owning handles (handles.h), freed by memFree or when collected,
// never while queued work still uses them (holds.h); memsets, synchronous and on a stream.
#include <string>

#include "args.h"
#include "context.h"
#include "device_range.h"
#include "driver.h"
#include "errors.h"
#include "exports.h"
#include "handles.h"
#include "holds.h"
#include "messages.h"

namespace {

Napi::Value MemAllocJs(const Napi::CallbackInfo& info) {
  Args args(info, "memAlloc");
  int ordinal = args.Device(0);
  size_t bytes = args.PositiveBytes(1, "bytes");
  Napi::Env env = args.Env();
  CUcontext context = UseDevice(env, ordinal, "cuMemAlloc_v2");
  CUdeviceptr address = 0;
  Check(env, Cu().cuMemAlloc(&address, bytes), "cuMemAlloc_v2",
        [&] { return "allocating " + ByteCount(bytes) + " on " + DeviceName(ordinal); });
  return WrapResource(env, Resource::Allocation(ordinal, context, address, bytes));
}

// Frees now, or once the queued work that uses the allocation is done; the handle is unusable at once.
Napi::Value MemFreeJs(const Napi::CallbackInfo& info) {
  Args args(info, "memFree");
  std::shared_ptr<Resource> allocation = args.Handle(0, ResourceKind::Allocation, "allocation");
  Napi::Env env = args.Env();
  if (allocation->ipc)
    throw args.Error("the allocation is another process's memory mapped here (ipcOpenMemHandle); close it with ipcCloseMemHandle");
  WorkHolds::Of(env).Poll();
  Check(env, allocation->Destroy(), "cuMemFree_v2", [&] {
    return "freeing " + ByteCount(allocation->bytes) + " at " + Hex(allocation->address) + " on " + DeviceName(allocation->device);
  });
  return env.Undefined();
}

struct Fill {
  DeviceRange dst;
  unsigned char value;
  size_t bytes;
};

Fill ReadFill(const Args& args, size_t first, const char* call) {
  Fill fill{args.Memory(first, "dst"), args.Byte(first + 1, "value"), args.Bytes(first + 2, "bytes")};
  CheckFits(args.Env(), fill.dst, fill.bytes, call, "the memset");
  return fill;
}

std::string DescribeFill(const Fill& fill) {
  return ByteCount(fill.bytes) + " at " + Hex(fill.dst.Address()) + " on " + DeviceName(fill.dst.Device());
}

Napi::Value MemsetD8Js(const Napi::CallbackInfo& info) {
  Args args(info, "memsetD8");
  Fill fill = ReadFill(args, 0, "cuMemsetD8_v2");
  Napi::Env env = args.Env();
  if (fill.bytes == 0) return env.Undefined();
  MakeCurrent(env, fill.dst.Context());
  Check(env, Cu().cuMemsetD8(fill.dst.Address(), fill.value, fill.bytes), "cuMemsetD8_v2",
        [&] { return "setting " + DescribeFill(fill); });
  return env.Undefined();
}

Napi::Value MemsetD8AsyncJs(const Napi::CallbackInfo& info) {
  Args args(info, "memsetD8Async");
  std::shared_ptr<Resource> stream = args.Handle(0, ResourceKind::Stream, "stream");
  Fill fill = ReadFill(args, 1, "cuMemsetD8Async");
  Napi::Env env = args.Env();
  RequireStreamDevice(env, args.Fn(), "cuMemsetD8Async", *stream, fill.dst.Device(), "the memset's destination");
  if (fill.bytes == 0) return env.Undefined();
  QueueOn(
      env, stream, "cuMemsetD8Async",
      [&] { return Cu().cuMemsetD8Async(fill.dst.Address(), fill.value, fill.bytes, stream->Stream()); },
      [&] { return "queueing a memset of " + DescribeFill(fill); })
      .Use(fill.dst);
  return env.Undefined();
}

}  // namespace

void RegisterMemory(Napi::Env env, Napi::Object exports) {
  Export(env, exports, {
                           {"memAlloc", MemAllocJs},
                           {"memFree", MemFreeJs},
                           {"memsetD8", MemsetD8Js},
                           {"memsetD8Async", MemsetD8AsyncJs},
                       });
}
