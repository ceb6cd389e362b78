// Kernel launches. Parameters are device memory (an allocation handle or { allocation, offset },
// passed as its 64-bit address: the kernel ABI passes four .u64 pointers, control/state/inbox/
// outbox), bigints (a u64), or typed scalars { type: 'u32' | 'i32' | 'u64' | 'i64' | 'f32' | 'f64',
// value }. Where the driver describes the kernel's parameters (CUDA 12.4+), their count and sizes
// are checked before launching, so a mismatch is a TypeError, not garbage reads. A launch holds
// its kernel (and module) and the allocations it was given until it has run (holds.h).
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

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

struct Dim3 {
  unsigned int x = 1;
  unsigned int y = 1;
  unsigned int z = 1;
};

Dim3 ReadDim3(Napi::Env env, Napi::Value value, const char* name) {
  const char* fn = "launchKernel";
  auto component = [&](Napi::Value v, const char* axis) -> unsigned int {
    double number = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!std::isfinite(number) || number < 1 || number > 4294967295.0 || std::floor(number) != number) {
      throw ArgumentError(env, fn,
                          std::string("config.") + name + "." + axis + " must be a positive integer, got " + Describe(v));
    }
    return static_cast<unsigned int>(number);
  };
  Dim3 dim;
  if (value.IsNumber()) {
    dim.x = component(value, "x");
    return dim;
  }
  if (!value.IsArray() || value.As<Napi::Array>().Length() < 1 || value.As<Napi::Array>().Length() > 3) {
    throw ArgumentError(env, fn,
                        std::string("config.") + name + " must be a number or an array of 1 to 3 positive integers, got " +
                            Describe(value));
  }
  Napi::Array array = value.As<Napi::Array>();
  dim.x = component(array.Get(0u), "x");
  if (array.Length() > 1) dim.y = component(array.Get(1u), "y");
  if (array.Length() > 2) dim.z = component(array.Get(2u), "z");
  return dim;
}

// One kernel argument, stored in an 8-byte slot the driver reads `size` bytes from.
struct ParamSlot {
  alignas(8) unsigned char bytes[8];
  size_t size;
};

template <typename T>
ParamSlot Slot(T value) {
  ParamSlot slot{};
  std::memcpy(slot.bytes, &value, sizeof value);
  slot.size = sizeof value;
  return slot;
}

// One parameter; device memory is also added to `memory`, to be held by the launch.
ParamSlot ReadParam(Napi::Env env, Napi::Value value, uint32_t index, std::vector<DeviceRange>& memory) {
  const char* fn = "launchKernel";
  std::string where = "params[" + std::to_string(index) + "]";
  if (LooksLikeDeviceMemory(env, value)) {
    memory.push_back(ToDeviceRange(env, value, fn, where));
    return Slot(static_cast<uint64_t>(memory.back().Address()));
  }
  if (value.IsBigInt()) {
    bool lossless = false;
    uint64_t pointer = value.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) throw ArgumentError(env, fn, where + " must be a u64 (0 to 2^64-1)");
    return Slot(pointer);
  }
  if (!value.IsObject() || value.IsArray()) {
    throw ArgumentError(env, fn,
                        where + " must be device memory (an allocation or { allocation, offset }), a bigint or { type, value }, got " +
                            Describe(value));
  }
  Napi::Object object = value.As<Napi::Object>();
  Napi::Value typeValue = object.Get("type");
  Napi::Value v = object.Get("value");
  std::string type = typeValue.IsString() ? typeValue.As<Napi::String>().Utf8Value() : "";
  auto integer = [&](double min, double max) {
    double number = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
    if (!std::isfinite(number) || number < min || number > max || std::floor(number) != number) {
      throw ArgumentError(env, fn, where + ".value must be an integer in the range of " + type + ", got " + Describe(v));
    }
    return number;
  };
  auto number = [&]() {
    if (!v.IsNumber()) throw ArgumentError(env, fn, where + ".value must be a number, got " + Describe(v));
    return v.As<Napi::Number>().DoubleValue();
  };
  if (type == "u32") return Slot(static_cast<uint32_t>(integer(0, 4294967295.0)));
  if (type == "i32") return Slot(static_cast<int32_t>(integer(-2147483648.0, 2147483647.0)));
  if (type == "f32") return Slot(static_cast<float>(number()));
  if (type == "f64") return Slot(number());
  if (type == "u64" || type == "i64") {
    if (v.IsBigInt()) {
      bool lossless = false;
      if (type == "u64") {
        uint64_t bits = v.As<Napi::BigInt>().Uint64Value(&lossless);
        if (lossless) return Slot(bits);
      } else {
        int64_t bits = v.As<Napi::BigInt>().Int64Value(&lossless);
        if (lossless) return Slot(bits);
      }
      throw ArgumentError(env, fn, where + ".value does not fit in " + type);
    }
    if (type == "u64") return Slot(static_cast<uint64_t>(integer(0, 9007199254740991.0)));
    return Slot(static_cast<int64_t>(integer(-9007199254740991.0, 9007199254740991.0)));
  }
  throw ArgumentError(env, fn,
                      where + ".type must be 'u32', 'i32', 'u64', 'i64', 'f32' or 'f64', got " + Describe(typeValue));
}

std::string DescribeSizes(const std::vector<KernelParam>& params) {
  std::string out;
  for (const KernelParam& param : params) {
    if (!out.empty()) out += ", ";
    out += std::to_string(param.size);
  }
  return out;
}

Napi::Value LaunchKernelJs(const Napi::CallbackInfo& info) {
  Args args(info, "launchKernel");
  const char* fn = args.Fn();
  std::shared_ptr<Resource> function = args.Handle(0, ResourceKind::Function, "function");
  Napi::Env env = args.Env();
  if (!args.At(1).IsObject() || args.At(1).IsArray()) {
    throw args.Error("config must be { grid, block, sharedMemBytes?, stream? }, got " + Describe(args.At(1)));
  }
  Options config(args.At(1).As<Napi::Object>(), fn, "config");
  Dim3 grid = ReadDim3(env, config.Get("grid"), "grid");
  Dim3 block = ReadDim3(env, config.Get("block"), "block");
  uint32_t sharedMemBytes = config.Uint32("sharedMemBytes", 0);
  Napi::Value streamValue = config.Get("stream");
  std::shared_ptr<Resource> stream =
      streamValue.IsUndefined() || streamValue.IsNull() ? nullptr : ToResource(env, streamValue, ResourceKind::Stream, fn, "config.stream");
  Napi::Value paramsValue = args.At(2);
  if (!paramsValue.IsArray() && !paramsValue.IsUndefined()) throw args.Error("params must be an array, got " + Describe(paramsValue));
  std::vector<ParamSlot> slots;
  std::vector<DeviceRange> memory;
  if (paramsValue.IsArray()) {
    Napi::Array params = paramsValue.As<Napi::Array>();
    for (uint32_t i = 0; i < params.Length(); i++) slots.push_back(ReadParam(env, params.Get(i), i, memory));
  }
  if (function->paramsKnown) {
    bool match = slots.size() == function->params.size();
    for (size_t i = 0; match && i < slots.size(); i++) match = slots[i].size == function->params[i].size;
    if (!match) {
      std::vector<KernelParam> given;
      for (const ParamSlot& slot : slots) given.push_back({0, slot.size});
      throw args.Error("kernel '" + function->name + "' takes " + std::to_string(function->params.size()) +
                       " parameters of sizes [" + DescribeSizes(function->params) + "] bytes but got " +
                       std::to_string(slots.size()) + " of sizes [" + DescribeSizes(given) + "]");
    }
  }
  std::string kernel = "kernel '" + function->name + "' is loaded on " + DeviceName(function->device);
  if (stream != nullptr) RequireStreamDevice(env, fn, "cuLaunchKernel", *stream, function->device, kernel);
  for (const DeviceRange& range : memory) {
    if (range.Device() != function->device) {
      throw StructuredError(env, "DEVICE_MISMATCH", -1, "cuLaunchKernel",
                            std::string(fn) + ": " + kernel + " but one of its parameters is memory on " +
                                DeviceName(range.Device()));
    }
  }
  std::vector<void*> pointers;
  for (ParamSlot& slot : slots) pointers.push_back(slot.bytes);

  auto launch = [&] {
    return Cu().cuLaunchKernel(function->Function(), grid.x, grid.y, grid.z, block.x, block.y, block.z, sharedMemBytes,
                               stream != nullptr ? stream->Stream() : nullptr, pointers.empty() ? nullptr : pointers.data(),
                               nullptr);
  };
  auto what = [&] {
    return "launching kernel '" + function->name + "' on " + DeviceName(function->device) + " with grid [" +
           std::to_string(grid.x) + ", " + std::to_string(grid.y) + ", " + std::to_string(grid.z) + "] and block [" +
           std::to_string(block.x) + ", " + std::to_string(block.y) + ", " + std::to_string(block.z) + "]";
  };
  auto hold = [&](WorkBatch& batch) {
    batch.Use(function);
    batch.Use(function->module);
    for (const DeviceRange& range : memory) batch.Use(range);
  };
  if (stream != nullptr) {
    hold(QueueOn(env, stream, "cuLaunchKernel", launch, what));
  } else {
    // The legacy default stream has no handle to gather holds on: seal this launch's own.
    WorkHolds& holds = WorkHolds::Of(env);
    holds.Poll();
    MakeCurrent(env, function->context);
    Check(env, launch(), "cuLaunchKernel", what);
    WorkBatch batch;
    hold(batch);
    holds.Seal(std::move(batch), function->context, nullptr);
  }
  return env.Undefined();
}

}  // namespace

void RegisterLaunch(Napi::Env env, Napi::Object exports) {
  Export(env, exports, {{"launchKernel", LaunchKernelJs}});
}
