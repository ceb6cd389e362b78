#include "args.h"

#include <cmath>

#include "errors.h"
#include "messages.h"

namespace {

constexpr double kMaxSafeInteger = 9007199254740991.0;

bool IsNonNegativeInteger(const Napi::Value& value, double max) {
  if (!value.IsNumber()) return false;
  double number = value.As<Napi::Number>().DoubleValue();
  return std::isfinite(number) && number >= 0 && number <= max && std::floor(number) == number;
}

}  // namespace

bool Options::Bool(const char* key, bool fallback) const {
  Napi::Value value = object_.Get(key);
  if (value.IsUndefined()) return fallback;
  if (!value.IsBoolean()) {
    throw ArgumentError(object_.Env(), fn_, std::string(what_) + "." + key + " must be a boolean, got " + Describe(value));
  }
  return value.As<Napi::Boolean>().Value();
}

uint32_t Options::Uint32(const char* key, uint32_t fallback) const {
  Napi::Value value = object_.Get(key);
  if (value.IsUndefined()) return fallback;
  if (!IsNonNegativeInteger(value, 4294967295.0)) {
    throw ArgumentError(object_.Env(), fn_,
                        std::string(what_) + "." + key + " must be a non-negative integer, got " + Describe(value));
  }
  return value.As<Napi::Number>().Uint32Value();
}

Napi::TypeError Args::Error(const std::string& message) const {
  return ArgumentError(Env(), fn_, message);
}

int Args::Device(size_t index, const char* name) const {
  Napi::Value value = At(index);
  if (!IsNonNegativeInteger(value, 2147483647.0)) {
    throw Error(std::string(name) + " must be a device ordinal (an integer from 0), got " + Describe(value));
  }
  return value.As<Napi::Number>().Int32Value();
}

size_t Args::Bytes(size_t index, const char* name) const {
  Napi::Value value = At(index);
  if (value.IsBigInt()) {
    bool lossless = false;
    uint64_t bytes = value.As<Napi::BigInt>().Uint64Value(&lossless);
    if (lossless && bytes <= SIZE_MAX) return static_cast<size_t>(bytes);
  } else if (IsNonNegativeInteger(value, kMaxSafeInteger)) {
    return static_cast<size_t>(value.As<Napi::Number>().Int64Value());
  }
  throw Error(std::string(name) + " must be a byte count (a non-negative integer number or bigint), got " + Describe(value));
}

size_t Args::PositiveBytes(size_t index, const char* name) const {
  size_t bytes = Bytes(index, name);
  if (bytes == 0) throw Error(std::string(name) + " must be at least 1");
  return bytes;
}

uint32_t Args::Uint32(size_t index, const char* name) const {
  Napi::Value value = At(index);
  if (!IsNonNegativeInteger(value, 4294967295.0)) {
    throw Error(std::string(name) + " must be an integer from 0 to 2^32-1, got " + Describe(value));
  }
  return value.As<Napi::Number>().Uint32Value();
}

unsigned char Args::Byte(size_t index, const char* name) const {
  Napi::Value value = At(index);
  if (!IsNonNegativeInteger(value, 255.0)) {
    throw Error(std::string(name) + " must be a byte (0 to 255), got " + Describe(value));
  }
  return static_cast<unsigned char>(value.As<Napi::Number>().Uint32Value());
}

std::string Args::String(size_t index, const char* name) const {
  Napi::Value value = At(index);
  if (!value.IsString()) throw Error(std::string(name) + " must be a string, got " + Describe(value));
  return value.As<Napi::String>().Utf8Value();
}

Options Args::OptionsAt(size_t index) const {
  Napi::Value value = At(index);
  if (value.IsUndefined() || value.IsNull()) return Options(Napi::Object::New(Env()), fn_, "options");
  if (!value.IsObject() || value.IsArray()) throw Error("options must be an object, got " + Describe(value));
  return Options(value.As<Napi::Object>(), fn_, "options");
}

HostBuffer Args::Host(size_t index, const char* name) const {
  Napi::Value value = At(index);
  if (!IsHostBuffer(value)) {
    throw Error(std::string(name) + " must be an ArrayBuffer, Buffer, typed array or DataView, got " + Describe(value));
  }
  return ToHostBuffer(value);
}

std::shared_ptr<Resource> Args::Handle(size_t index, ResourceKind kind, const char* name) const {
  return ToResource(Env(), At(index), kind, fn_, name);
}

std::shared_ptr<Resource> Args::OptionalHandle(size_t index, ResourceKind kind, const char* name) const {
  Napi::Value value = At(index);
  if (value.IsUndefined() || value.IsNull()) return nullptr;
  return ToResource(Env(), value, kind, fn_, name);
}

DeviceRange Args::Memory(size_t index, const char* name) const {
  return ToDeviceRange(Env(), At(index), fn_, name);
}

bool IsHostBuffer(const Napi::Value& value) {
  return value.IsArrayBuffer() || value.IsTypedArray() || value.IsDataView();
}

HostBuffer ToHostBuffer(const Napi::Value& value) {
  HostBuffer host;
  host.value = value;
  if (value.IsArrayBuffer()) {
    Napi::ArrayBuffer buffer = value.As<Napi::ArrayBuffer>();
    host.base = buffer.Data();
    host.data = host.base;
    host.length = buffer.ByteLength();
  } else if (value.IsTypedArray()) {
    Napi::TypedArray array = value.As<Napi::TypedArray>();
    auto* base = static_cast<uint8_t*>(array.ArrayBuffer().Data());
    if (base != nullptr) {
      host.base = base;
      host.data = base + array.ByteOffset();
      host.length = array.ByteLength();
    }
  } else if (value.IsDataView()) {
    Napi::DataView view = value.As<Napi::DataView>();
    auto* base = static_cast<uint8_t*>(view.ArrayBuffer().Data());
    if (base != nullptr) {
      host.base = base;
      host.data = base + view.ByteOffset();
      host.length = view.ByteLength();
    }
  }
  if (host.data == nullptr) host.length = 0;  // a detached buffer has no bytes
  return host;
}
