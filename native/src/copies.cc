// Copies in every direction, synchronous and on a stream. Device memory is an allocation handle
// or { allocation, offset }, and every range is checked against its allocation first; host memory
// is any ArrayBuffer or view. Pinned buffers from memAllocHost make the stream variants truly
// asynchronous, so a stream copy holds its host buffer (and its allocations) until the stream's
// work is done (holds.h): the bytes are never read or written after the collector or memFreeHost
// took them. (From pageable memory the driver stages the copy before returning; the hold is kept
// all the same, as it costs little and does not depend on the driver's staging.)
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

std::string On(const DeviceRange& range) {
  return Hex(range.Address()) + " on " + DeviceName(range.Device());
}

// dst <- src between two ranges of device memory, both checked.
struct DeviceCopy {
  DeviceRange dst;
  DeviceRange src;
  size_t bytes;

  std::string Describe() const { return ByteCount(bytes) + " from " + On(src) + " to " + On(dst); }
};

DeviceCopy ReadDeviceCopy(const Args& args, size_t first, const char* call) {
  DeviceCopy copy{args.Memory(first, "dst"), args.Memory(first + 1, "src"), args.Bytes(first + 2, "bytes")};
  CheckFits(args.Env(), copy.dst, copy.bytes, call, "the destination");
  CheckFits(args.Env(), copy.src, copy.bytes, call, "the source");
  return copy;
}

// A device-to-device copy stays on one device; `peer` names the function that copies between devices.
void RequireOneDevice(const Args& args, const DeviceCopy& copy, const char* call, const char* peer) {
  if (copy.dst.Device() == copy.src.Device()) return;
  throw StructuredError(args.Env(), "DEVICE_MISMATCH", -1, call,
                        std::string(args.Fn()) + ": the source is on " + DeviceName(copy.src.Device()) +
                            " but the destination on " + DeviceName(copy.dst.Device()) + "; copy between devices with " + peer);
}

Napi::Value MemcpyHtoDJs(const Napi::CallbackInfo& info) {
  Args args(info, "memcpyHtoD");
  DeviceRange dst = args.Memory(0, "dst");
  HostBuffer src = args.Host(1, "src");
  Napi::Env env = args.Env();
  CheckFits(env, dst, src.length, "cuMemcpyHtoD_v2", "the destination");
  if (src.length == 0) return env.Undefined();
  MakeCurrent(env, dst.Context());
  Check(env, Cu().cuMemcpyHtoD(dst.Address(), src.data, src.length), "cuMemcpyHtoD_v2",
        [&] { return "copying " + ByteCount(src.length) + " from the host to " + On(dst); });
  return env.Undefined();
}

Napi::Value MemcpyDtoHJs(const Napi::CallbackInfo& info) {
  Args args(info, "memcpyDtoH");
  HostBuffer dst = args.Host(0, "dst");
  DeviceRange src = args.Memory(1, "src");
  Napi::Env env = args.Env();
  CheckFits(env, src, dst.length, "cuMemcpyDtoH_v2", "the source");
  if (dst.length == 0) return env.Undefined();
  MakeCurrent(env, src.Context());
  Check(env, Cu().cuMemcpyDtoH(dst.data, src.Address(), dst.length), "cuMemcpyDtoH_v2",
        [&] { return "copying " + ByteCount(dst.length) + " from " + On(src) + " to the host"; });
  return env.Undefined();
}

Napi::Value MemcpyDtoDJs(const Napi::CallbackInfo& info) {
  Args args(info, "memcpyDtoD");
  DeviceCopy copy = ReadDeviceCopy(args, 0, "cuMemcpyDtoD_v2");
  RequireOneDevice(args, copy, "cuMemcpyDtoD_v2", "memcpyPeer");
  Napi::Env env = args.Env();
  if (copy.bytes == 0) return env.Undefined();
  MakeCurrent(env, copy.dst.Context());
  Check(env, Cu().cuMemcpyDtoD(copy.dst.Address(), copy.src.Address(), copy.bytes), "cuMemcpyDtoD_v2",
        [&] { return "copying " + copy.Describe(); });
  return env.Undefined();
}

// Between devices: over NVLink or PCIe where peer access is on, else staged through the host.
Napi::Value MemcpyPeerJs(const Napi::CallbackInfo& info) {
  Args args(info, "memcpyPeer");
  DeviceCopy copy = ReadDeviceCopy(args, 0, "cuMemcpyPeer");
  Napi::Env env = args.Env();
  if (copy.bytes == 0) return env.Undefined();
  MakeCurrent(env, copy.dst.Context());
  Check(env, Cu().cuMemcpyPeer(copy.dst.Address(), copy.dst.Context(), copy.src.Address(), copy.src.Context(), copy.bytes),
        "cuMemcpyPeer", [&] { return "copying " + copy.Describe(); });
  return env.Undefined();
}

Napi::Value MemcpyHtoDAsyncJs(const Napi::CallbackInfo& info) {
  Args args(info, "memcpyHtoDAsync");
  std::shared_ptr<Resource> stream = args.Handle(0, ResourceKind::Stream, "stream");
  DeviceRange dst = args.Memory(1, "dst");
  HostBuffer src = args.Host(2, "src");
  Napi::Env env = args.Env();
  const char* call = "cuMemcpyHtoDAsync_v2";
  CheckFits(env, dst, src.length, call, "the destination");
  RequireStreamDevice(env, args.Fn(), call, *stream, dst.Device(), "the destination");
  if (src.length == 0) return env.Undefined();
  WorkBatch& batch = QueueOn(
      env, stream, call, [&] { return Cu().cuMemcpyHtoDAsync(dst.Address(), src.data, src.length, stream->Stream()); },
      [&] { return "queueing a copy of " + ByteCount(src.length) + " from the host to " + On(dst); });
  batch.Use(dst);
  batch.UseHost(src);
  return env.Undefined();
}

Napi::Value MemcpyDtoHAsyncJs(const Napi::CallbackInfo& info) {
  Args args(info, "memcpyDtoHAsync");
  std::shared_ptr<Resource> stream = args.Handle(0, ResourceKind::Stream, "stream");
  HostBuffer dst = args.Host(1, "dst");
  DeviceRange src = args.Memory(2, "src");
  Napi::Env env = args.Env();
  const char* call = "cuMemcpyDtoHAsync_v2";
  CheckFits(env, src, dst.length, call, "the source");
  RequireStreamDevice(env, args.Fn(), call, *stream, src.Device(), "the source");
  if (dst.length == 0) return env.Undefined();
  WorkBatch& batch = QueueOn(
      env, stream, call, [&] { return Cu().cuMemcpyDtoHAsync(dst.data, src.Address(), dst.length, stream->Stream()); },
      [&] { return "queueing a copy of " + ByteCount(dst.length) + " from " + On(src) + " to the host"; });
  batch.Use(src);
  batch.UseHost(dst);
  return env.Undefined();
}

Napi::Value MemcpyDtoDAsyncJs(const Napi::CallbackInfo& info) {
  Args args(info, "memcpyDtoDAsync");
  std::shared_ptr<Resource> stream = args.Handle(0, ResourceKind::Stream, "stream");
  const char* call = "cuMemcpyDtoDAsync_v2";
  DeviceCopy copy = ReadDeviceCopy(args, 1, call);
  RequireOneDevice(args, copy, call, "memcpyPeerAsync");
  Napi::Env env = args.Env();
  RequireStreamDevice(env, args.Fn(), call, *stream, copy.dst.Device(), "the copy");
  if (copy.bytes == 0) return env.Undefined();
  WorkBatch& batch = QueueOn(
      env, stream, call,
      [&] { return Cu().cuMemcpyDtoDAsync(copy.dst.Address(), copy.src.Address(), copy.bytes, stream->Stream()); },
      [&] { return "queueing a copy of " + copy.Describe(); });
  batch.Use(copy.dst);
  batch.Use(copy.src);
  return env.Undefined();
}

Napi::Value MemcpyPeerAsyncJs(const Napi::CallbackInfo& info) {
  Args args(info, "memcpyPeerAsync");
  std::shared_ptr<Resource> stream = args.Handle(0, ResourceKind::Stream, "stream");
  const char* call = "cuMemcpyPeerAsync";
  DeviceCopy copy = ReadDeviceCopy(args, 1, call);
  Napi::Env env = args.Env();
  if (copy.bytes == 0) return env.Undefined();
  WorkBatch& batch = QueueOn(
      env, stream, call,
      [&] {
        return Cu().cuMemcpyPeerAsync(copy.dst.Address(), copy.dst.Context(), copy.src.Address(), copy.src.Context(),
                                      copy.bytes, stream->Stream());
      },
      [&] { return "queueing a copy of " + copy.Describe(); });
  batch.Use(copy.dst);
  batch.Use(copy.src);
  return env.Undefined();
}

}  // namespace

void RegisterCopies(Napi::Env env, Napi::Object exports) {
  Export(env, exports, {
                           {"memcpyHtoD", MemcpyHtoDJs},
                           {"memcpyDtoH", MemcpyDtoHJs},
                           {"memcpyDtoD", MemcpyDtoDJs},
                           {"memcpyPeer", MemcpyPeerJs},
                           {"memcpyHtoDAsync", MemcpyHtoDAsyncJs},
                           {"memcpyDtoHAsync", MemcpyDtoHAsyncJs},
                           {"memcpyDtoDAsync", MemcpyDtoDAsyncJs},
                           {"memcpyPeerAsync", MemcpyPeerAsyncJs},
                       });
}
