// Copies in every direction, synchronous and on a stream. Device ranges are checked against their
// allocations first. Host memory is any ArrayBuffer or view; pinned buffers from memAllocHost make
// the stream variants truly asynchronous (from pageable memory the driver stages the copy and
// returns once the host side is done with the bytes, so a JS buffer is never read late).
#include <string>

#include "args.h"
#include "context.h"
#include "device_range.h"
#include "driver.h"
#include "errors.h"
#include "exports.h"
#include "handles.h"

namespace {

std::string Bytes(size_t bytes) {
  return std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes");
}

std::string Device(int ordinal) {
  return "CUDA device " + std::to_string(ordinal);
}

Napi::Value MemcpyHtoDJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "memcpyHtoD";
  int ordinal = ArgDevice(info, 0, fn);
  CUdeviceptr dst = ArgPointer(info, 1, fn, "dst");
  HostSpan src = ArgHostBuffer(info, 2, fn, "src");
  UseDevice(env, ordinal, "cuMemcpyHtoD_v2");
  if (src.length == 0) return env.Undefined();
  CheckDeviceRange(env, dst, src.length, "cuMemcpyHtoD_v2", "the destination");
  Check(env, Cu().cuMemcpyHtoD(dst, src.data, src.length), "cuMemcpyHtoD_v2",
        [&] { return "copying " + Bytes(src.length) + " from the host to " + Hex(dst) + " on " + Device(ordinal); });
  return env.Undefined();
}

Napi::Value MemcpyDtoHJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "memcpyDtoH";
  int ordinal = ArgDevice(info, 0, fn);
  HostSpan dst = ArgHostBuffer(info, 1, fn, "dst");
  CUdeviceptr src = ArgPointer(info, 2, fn, "src");
  UseDevice(env, ordinal, "cuMemcpyDtoH_v2");
  if (dst.length == 0) return env.Undefined();
  CheckDeviceRange(env, src, dst.length, "cuMemcpyDtoH_v2", "the source");
  Check(env, Cu().cuMemcpyDtoH(dst.data, src, dst.length), "cuMemcpyDtoH_v2",
        [&] { return "copying " + Bytes(dst.length) + " from " + Hex(src) + " on " + Device(ordinal) + " to the host"; });
  return env.Undefined();
}

Napi::Value MemcpyDtoDJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "memcpyDtoD";
  int ordinal = ArgDevice(info, 0, fn);
  CUdeviceptr dst = ArgPointer(info, 1, fn, "dst");
  CUdeviceptr src = ArgPointer(info, 2, fn, "src");
  size_t bytes = ArgBytes(info, 3, fn, "bytes");
  UseDevice(env, ordinal, "cuMemcpyDtoD_v2");
  if (bytes == 0) return env.Undefined();
  CheckDeviceRange(env, dst, bytes, "cuMemcpyDtoD_v2", "the destination");
  CheckDeviceRange(env, src, bytes, "cuMemcpyDtoD_v2", "the source");
  Check(env, Cu().cuMemcpyDtoD(dst, src, bytes), "cuMemcpyDtoD_v2",
        [&] { return "copying " + Bytes(bytes) + " from " + Hex(src) + " to " + Hex(dst) + " on " + Device(ordinal); });
  return env.Undefined();
}

struct PeerArgs {
  int dstDevice;
  CUdeviceptr dst;
  int srcDevice;
  CUdeviceptr src;
  size_t bytes;
  CUcontext dstContext;
  CUcontext srcContext;
};

// Reads (dstDevice, dst, srcDevice, src, bytes) from `first` on and checks both ranges, each with
// its own device's context current.
PeerArgs ReadPeerArgs(const Napi::CallbackInfo& info, size_t first, const char* fn, const char* call) {
  Napi::Env env = info.Env();
  PeerArgs args{};
  args.dstDevice = ArgDevice(info, first, fn, "dstDevice");
  args.dst = ArgPointer(info, first + 1, fn, "dst");
  args.srcDevice = ArgDevice(info, first + 2, fn, "srcDevice");
  args.src = ArgPointer(info, first + 3, fn, "src");
  args.bytes = ArgBytes(info, first + 4, fn, "bytes");
  args.srcContext = UseDevice(env, args.srcDevice, call);
  if (args.bytes > 0) CheckDeviceRange(env, args.src, args.bytes, call, "the source");
  args.dstContext = UseDevice(env, args.dstDevice, call);
  if (args.bytes > 0) CheckDeviceRange(env, args.dst, args.bytes, call, "the destination");
  return args;
}

std::string DescribePeer(const PeerArgs& args) {
  return Bytes(args.bytes) + " from " + Hex(args.src) + " on " + Device(args.srcDevice) + " to " +
         Hex(args.dst) + " on " + Device(args.dstDevice);
}

Napi::Value MemcpyPeerJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PeerArgs args = ReadPeerArgs(info, 0, "memcpyPeer", "cuMemcpyPeer");
  if (args.bytes == 0) return env.Undefined();
  Check(env, Cu().cuMemcpyPeer(args.dst, args.dstContext, args.src, args.srcContext, args.bytes), "cuMemcpyPeer",
        [&] { return "copying " + DescribePeer(args); });
  return env.Undefined();
}

Napi::Value MemcpyHtoDAsyncJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "memcpyHtoDAsync";
  std::shared_ptr<Resource> stream = ArgResource(info, 0, ResourceKind::Stream, fn, "stream");
  CUdeviceptr dst = ArgPointer(info, 1, fn, "dst");
  HostSpan src = ArgHostBuffer(info, 2, fn, "src");
  MakeCurrent(env, stream->context);
  if (src.length == 0) return env.Undefined();
  CheckDeviceRange(env, dst, src.length, "cuMemcpyHtoDAsync_v2", "the destination");
  Check(env, Cu().cuMemcpyHtoDAsync(dst, src.data, src.length, stream->Stream()), "cuMemcpyHtoDAsync_v2", [&] {
    return "queueing a copy of " + Bytes(src.length) + " from the host to " + Hex(dst) + " on " + Device(stream->device);
  });
  return env.Undefined();
}

Napi::Value MemcpyDtoHAsyncJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "memcpyDtoHAsync";
  std::shared_ptr<Resource> stream = ArgResource(info, 0, ResourceKind::Stream, fn, "stream");
  HostSpan dst = ArgHostBuffer(info, 1, fn, "dst");
  CUdeviceptr src = ArgPointer(info, 2, fn, "src");
  MakeCurrent(env, stream->context);
  if (dst.length == 0) return env.Undefined();
  CheckDeviceRange(env, src, dst.length, "cuMemcpyDtoHAsync_v2", "the source");
  Check(env, Cu().cuMemcpyDtoHAsync(dst.data, src, dst.length, stream->Stream()), "cuMemcpyDtoHAsync_v2", [&] {
    return "queueing a copy of " + Bytes(dst.length) + " from " + Hex(src) + " on " + Device(stream->device) + " to the host";
  });
  return env.Undefined();
}

Napi::Value MemcpyDtoDAsyncJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "memcpyDtoDAsync";
  std::shared_ptr<Resource> stream = ArgResource(info, 0, ResourceKind::Stream, fn, "stream");
  CUdeviceptr dst = ArgPointer(info, 1, fn, "dst");
  CUdeviceptr src = ArgPointer(info, 2, fn, "src");
  size_t bytes = ArgBytes(info, 3, fn, "bytes");
  MakeCurrent(env, stream->context);
  if (bytes == 0) return env.Undefined();
  CheckDeviceRange(env, dst, bytes, "cuMemcpyDtoDAsync_v2", "the destination");
  CheckDeviceRange(env, src, bytes, "cuMemcpyDtoDAsync_v2", "the source");
  Check(env, Cu().cuMemcpyDtoDAsync(dst, src, bytes, stream->Stream()), "cuMemcpyDtoDAsync_v2", [&] {
    return "queueing a copy of " + Bytes(bytes) + " from " + Hex(src) + " to " + Hex(dst) + " on " + Device(stream->device);
  });
  return env.Undefined();
}

Napi::Value MemcpyPeerAsyncJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "memcpyPeerAsync";
  std::shared_ptr<Resource> stream = ArgResource(info, 0, ResourceKind::Stream, fn, "stream");
  PeerArgs args = ReadPeerArgs(info, 1, fn, "cuMemcpyPeerAsync");
  if (args.bytes == 0) return env.Undefined();
  MakeCurrent(env, stream->context);
  Check(env,
        Cu().cuMemcpyPeerAsync(args.dst, args.dstContext, args.src, args.srcContext, args.bytes, stream->Stream()),
        "cuMemcpyPeerAsync", [&] { return "queueing a copy of " + DescribePeer(args); });
  return env.Undefined();
}

}  // namespace

void RegisterCopies(Napi::Env env, Napi::Object exports) {
  exports.Set("memcpyHtoD", Napi::Function::New(env, MemcpyHtoDJs, "memcpyHtoD"));
  exports.Set("memcpyDtoH", Napi::Function::New(env, MemcpyDtoHJs, "memcpyDtoH"));
  exports.Set("memcpyDtoD", Napi::Function::New(env, MemcpyDtoDJs, "memcpyDtoD"));
  exports.Set("memcpyPeer", Napi::Function::New(env, MemcpyPeerJs, "memcpyPeer"));
  exports.Set("memcpyHtoDAsync", Napi::Function::New(env, MemcpyHtoDAsyncJs, "memcpyHtoDAsync"));
  exports.Set("memcpyDtoHAsync", Napi::Function::New(env, MemcpyDtoHAsyncJs, "memcpyDtoHAsync"));
  exports.Set("memcpyDtoDAsync", Napi::Function::New(env, MemcpyDtoDAsyncJs, "memcpyDtoDAsync"));
  exports.Set("memcpyPeerAsync", Napi::Function::New(env, MemcpyPeerAsyncJs, "memcpyPeerAsync"));
}
