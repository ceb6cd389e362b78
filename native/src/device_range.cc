#include "device_range.h"

#include <cmath>

#include "errors.h"
#include "messages.h"

namespace {

constexpr double kMaxSafeInteger = 9007199254740991.0;

// A byte offset: a non-negative safe-integer number or a bigint; false for anything else.
bool ReadOffset(const Napi::Value& value, size_t* offset) {
  if (value.IsBigInt()) {
    bool lossless = false;
    uint64_t bits = value.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless || bits > SIZE_MAX) return false;
    *offset = static_cast<size_t>(bits);
    return true;
  }
  if (!value.IsNumber()) return false;
  double number = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(number) || number < 0 || number > kMaxSafeInteger || std::floor(number) != number) return false;
  *offset = static_cast<size_t>(number);
  return true;
}

}  // namespace

bool LooksLikeDeviceMemory(Napi::Env env, const Napi::Value& value) {
  if (IsHandle(env, value, ResourceKind::Allocation)) return true;
  return value.IsObject() && !value.IsArray() && value.As<Napi::Object>().Has("allocation");
}

DeviceRange ToDeviceRange(Napi::Env env, const Napi::Value& value, const char* fn, const std::string& name) {
  DeviceRange range;
  if (IsHandle(env, value, ResourceKind::Allocation)) {
    range.allocation = ToResource(env, value, ResourceKind::Allocation, fn, name);
    return range;
  }
  if (!value.IsObject() || value.IsArray() || !value.As<Napi::Object>().Has("allocation")) {
    throw ArgumentError(env, fn,
                        name + " must be device memory: an allocation handle (from memAlloc) or { allocation, offset }, got " +
                            Describe(value));
  }
  Napi::Object slice = value.As<Napi::Object>();
  range.allocation = ToResource(env, slice.Get("allocation"), ResourceKind::Allocation, fn, name + ".allocation");
  Napi::Value offset = slice.Get("offset");
  if (!offset.IsUndefined() && !ReadOffset(offset, &range.offset)) {
    throw ArgumentError(env, fn, name + ".offset must be a byte offset (a non-negative integer number or bigint), got " +
                                     Describe(offset));
  }
  if (range.offset > range.allocation->bytes) {
    throw ArgumentError(env, fn,
                        name + ".offset " + std::to_string(range.offset) + " lies past the end of its allocation of " +
                            ByteCount(range.allocation->bytes));
  }
  return range;
}

void CheckFits(Napi::Env env, const DeviceRange& range, size_t bytes, const char* call, const char* what) {
  size_t size = range.allocation->bytes;
  if (bytes <= size - range.offset) return;
  throw StructuredError(env, "CUDA_ERROR_INVALID_VALUE", CUDA_ERROR_INVALID_VALUE, call,
                        std::string(what) + " range of " + ByteCount(bytes) + " at offset " + std::to_string(range.offset) +
                            " runs past its allocation (" + ByteCount(size) + " at " + Hex(range.allocation->address) +
                            " on " + DeviceName(range.Device()) + ")");
}
