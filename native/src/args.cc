#include "args.h"

#include <cmath>
#include <cstdio>

#include "errors.h"

namespace {

constexpr double kMaxSafeInteger = 9007199254740991.0;

bool IsNonNegativeInteger(const Napi::Value& value, double max) {
  if (!value.IsNumber()) return false;
  double number = value.As<Napi::Number>().DoubleValue();
  return std::isfinite(number) && number >= 0 && number <= max && std::floor(number) == number;
}

}  // namespace

std::string Describe(const Napi::Value& value) {
  switch (value.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "a boolean";
    case napi_number: {
      char buffer[64];
      std::snprintf(buffer, sizeof buffer, "a number (%.17g)", value.As<Napi::Number>().DoubleValue());
      return buffer;
    }
    case napi_string: return "a string";
    case napi_symbol: return "a symbol";
    case napi_function: return "a function";
    case napi_bigint: return "a bigint";
    case napi_external: return "an external";
    default: return value.IsArray() ? "an array" : "an object";
  }
}

int ArgDevice(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* name) {
  Napi::Value value = info[index];
  if (!IsNonNegativeInteger(value, 2147483647.0)) {
    throw ArgumentError(info.Env(), fn,
                        std::string(name) + " must be a device ordinal (an integer from 0), got " + Describe(value));
  }
  return value.As<Napi::Number>().Int32Value();
}

CUdeviceptr ArgPointer(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* name) {
  Napi::Value value = info[index];
  if (!value.IsBigInt()) {
    throw ArgumentError(info.Env(), fn,
                        std::string(name) + " must be a device pointer as a bigint (from memAlloc), got " +
                            Describe(value));
  }
  bool lossless = false;
  uint64_t pointer = value.As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) {
    throw ArgumentError(info.Env(), fn, std::string(name) + " must be a device pointer between 0 and 2^64-1");
  }
  return static_cast<CUdeviceptr>(pointer);
}

size_t ArgBytes(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* name) {
  Napi::Value value = info[index];
  if (value.IsBigInt()) {
    bool lossless = false;
    uint64_t bytes = value.As<Napi::BigInt>().Uint64Value(&lossless);
    if (lossless && bytes <= SIZE_MAX) return static_cast<size_t>(bytes);
  } else if (IsNonNegativeInteger(value, kMaxSafeInteger)) {
    return static_cast<size_t>(value.As<Napi::Number>().Int64Value());
  }
  throw ArgumentError(info.Env(), fn,
                      std::string(name) + " must be a byte count (a non-negative integer number or bigint), got " +
                          Describe(value));
}

uint32_t ArgUint32(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* name) {
  Napi::Value value = info[index];
  if (!IsNonNegativeInteger(value, 4294967295.0)) {
    throw ArgumentError(info.Env(), fn,
                        std::string(name) + " must be an integer from 0 to 2^32-1, got " + Describe(value));
  }
  return value.As<Napi::Number>().Uint32Value();
}

std::string ArgString(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* name) {
  Napi::Value value = info[index];
  if (!value.IsString()) {
    throw ArgumentError(info.Env(), fn, std::string(name) + " must be a string, got " + Describe(value));
  }
  return value.As<Napi::String>().Utf8Value();
}

Napi::Object ArgOptions(const Napi::CallbackInfo& info, size_t index, const char* fn) {
  Napi::Value value = info[index];
  if (value.IsUndefined() || value.IsNull()) return Napi::Object::New(info.Env());
  if (!value.IsObject() || value.IsArray()) {
    throw ArgumentError(info.Env(), fn, "options must be an object, got " + Describe(value));
  }
  return value.As<Napi::Object>();
}

bool OptionBool(Napi::Object options, const char* key, bool fallback, const char* fn) {
  Napi::Value value = options.Get(key);
  if (value.IsUndefined()) return fallback;
  if (!value.IsBoolean()) {
    throw ArgumentError(options.Env(), fn, std::string("options.") + key + " must be a boolean, got " + Describe(value));
  }
  return value.As<Napi::Boolean>().Value();
}

uint32_t OptionUint32(Napi::Object options, const char* key, uint32_t fallback, const char* fn) {
  Napi::Value value = options.Get(key);
  if (value.IsUndefined()) return fallback;
  if (!IsNonNegativeInteger(value, 4294967295.0)) {
    throw ArgumentError(options.Env(), fn,
                        std::string("options.") + key + " must be a non-negative integer, got " + Describe(value));
  }
  return value.As<Napi::Number>().Uint32Value();
}

bool IsHostBuffer(const Napi::Value& value) {
  return value.IsArrayBuffer() || value.IsTypedArray() || value.IsDataView();
}

HostSpan ToHostSpan(const Napi::Value& value) {
  HostSpan span;
  if (value.IsArrayBuffer()) {
    Napi::ArrayBuffer buffer = value.As<Napi::ArrayBuffer>();
    span.data = buffer.Data();
    span.length = buffer.ByteLength();
  } else if (value.IsTypedArray()) {
    Napi::TypedArray array = value.As<Napi::TypedArray>();
    auto* base = static_cast<uint8_t*>(array.ArrayBuffer().Data());
    if (base != nullptr) {
      span.data = base + array.ByteOffset();
      span.length = array.ByteLength();
    }
  } else if (value.IsDataView()) {
    Napi::DataView view = value.As<Napi::DataView>();
    auto* base = static_cast<uint8_t*>(view.ArrayBuffer().Data());
    if (base != nullptr) {
      span.data = base + view.ByteOffset();
      span.length = view.ByteLength();
    }
  }
  if (span.data == nullptr) span.length = 0;  // a detached buffer has no bytes
  return span;
}

HostSpan ArgHostBuffer(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* name) {
  Napi::Value value = info[index];
  if (!IsHostBuffer(value)) {
    throw ArgumentError(info.Env(), fn,
                        std::string(name) + " must be an ArrayBuffer, Buffer, typed array or DataView, got " +
                            Describe(value));
  }
  return ToHostSpan(value);
}

std::string Hex(uint64_t value) {
  char buffer[24];
  std::snprintf(buffer, sizeof buffer, "0x%llx", static_cast<unsigned long long>(value));
  return buffer;
}
