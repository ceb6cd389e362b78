// A place in device memory as JavaScript names it: an allocation handle (its first byte), or
// { allocation, offset }. Every copy, memset and launch argument goes through here, so a range is
// always checked against the allocation it belongs to and the allocation stays owned.
#pragma once

#include <napi.h>

#include <memory>
#include <string>

#include "cuda_types.h"
#include "handles.h"

struct DeviceRange {
  std::shared_ptr<Resource> allocation;
  size_t offset = 0;

  CUdeviceptr Address() const { return allocation->address + offset; }
  int Device() const { return allocation->device; }
  CUcontext Context() const { return allocation->context; }
};

// Whether `value` has the shape of device memory (an allocation handle, or an object with an
// `allocation` property), so callers that also take other shapes (kernel parameters) can tell.
bool LooksLikeDeviceMemory(Napi::Env env, const Napi::Value& value);

// The range `value` names; a TypeError naming `fn` and `name` when it is not one, a structured
// CUDA_ERROR_INVALID_HANDLE error when the allocation was freed.
DeviceRange ToDeviceRange(Napi::Env env, const Napi::Value& value, const char* fn, const std::string& name);

// Throws a structured CUDA_ERROR_INVALID_VALUE error, naming sizes, when `bytes` from the range's
// offset run past its allocation; `what` names the range ("the destination"), `call` the driver
// call it guards.
void CheckFits(Napi::Env env, const DeviceRange& range, size_t bytes, const char* call, const char* what);
