// The arguments of one exported call, read through an Args that knows the function's name, so each
// check is one line and every failure is the same TypeError "<fn>: <name> must be ..., got ...",
// thrown before any driver call is made.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>

#include "cuda_types.h"
#include "device_range.h"
#include "handles.h"

// Host memory: an ArrayBuffer or any view of one (Buffer, typed array, DataView), with its bytes.
// `value` is what the caller passed, for holding it while asynchronous work uses the bytes.
struct HostBuffer {
  Napi::Value value;
  void* base = nullptr;  // the start of the underlying ArrayBuffer (how pinned buffers are found)
  void* data = nullptr;
  size_t length = 0;
};

// The fields of an options object ("options.x must be ..."), absent fields taking their defaults.
class Options {
 public:
  Options(Napi::Object object, const char* fn, const char* what) : object_(object), fn_(fn), what_(what) {}
  bool Has(const char* key) const { return !object_.Get(key).IsUndefined(); }
  Napi::Value Get(const char* key) const { return object_.Get(key); }
  bool Bool(const char* key, bool fallback) const;
  uint32_t Uint32(const char* key, uint32_t fallback) const;

 private:
  Napi::Object object_;
  const char* fn_;
  const char* what_;
};

class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* fn) : info_(info), fn_(fn) {}

  Napi::Env Env() const { return info_.Env(); }
  const char* Fn() const { return fn_; }
  Napi::Value At(size_t index) const { return info_[index]; }
  // "<fn>: <message>", for checks particular to one function.
  Napi::TypeError Error(const std::string& message) const;

  // A device ordinal: an integer from 0 that fits in int.
  int Device(size_t index, const char* name = "device") const;
  // A byte count: a non-negative safe-integer number or a bigint; Positive refuses 0.
  size_t Bytes(size_t index, const char* name) const;
  size_t PositiveBytes(size_t index, const char* name) const;
  uint32_t Uint32(size_t index, const char* name) const;
  unsigned char Byte(size_t index, const char* name) const;
  std::string String(size_t index, const char* name) const;
  // An optional options object: undefined and null read as {}.
  Options OptionsAt(size_t index) const;
  HostBuffer Host(size_t index, const char* name) const;
  // A live handle of `kind`; Optional reads null and undefined as none (nullptr).
  std::shared_ptr<Resource> Handle(size_t index, ResourceKind kind, const char* name) const;
  std::shared_ptr<Resource> OptionalHandle(size_t index, ResourceKind kind, const char* name) const;
  // Device memory: an allocation handle or { allocation, offset } (device_range.h).
  DeviceRange Memory(size_t index, const char* name) const;

 private:
  const Napi::CallbackInfo& info_;
  const char* fn_;
};

// Host memory from any value, or nothing (data null) when it is not an ArrayBuffer or view.
bool IsHostBuffer(const Napi::Value& value);
HostBuffer ToHostBuffer(const Napi::Value& value);
