// Structured errors: every failure reaches JavaScript as an Error with `name` (CUDA_ERROR_*,
// DRIVER_NOT_FOUND, ...), `code` (the CUresult, or -1 when the failure is not a driver result),
// `call` (the driver function, e.g. cuMemAlloc_v2) and a `message` saying what failed, on what.
#pragma once

#include <napi.h>

#include <string>

#include "cuda_types.h"

// The CUDA_ERROR_* name of a result, from the driver when loaded.
std::string CudaErrorName(CUresult result);

Napi::Error StructuredError(Napi::Env env, const std::string& name, int code, const std::string& call,
                           const std::string& message);

// `context` says what was being done ("allocating 64 bytes on device 0").
Napi::Error CudaError(Napi::Env env, CUresult result, const std::string& call, const std::string& context);

// Throws when the driver result is a failure. `context` is only built on failure.
template <typename Context>
inline void Check(Napi::Env env, CUresult result, const char* call, Context&& context) {
  if (result != CUDA_SUCCESS) throw CudaError(env, result, call, context());
}

// Throws the driver's unavailability (DRIVER_NOT_FOUND, cuInit's error, ...) as a structured
// error naming `call`, the function the caller was about to use. Returns when the driver works.
void RequireDriver(Napi::Env env, const char* call);

// Argument errors: a TypeError "<fn>: <message>".
Napi::TypeError ArgumentError(Napi::Env env, const char* fn, const std::string& message);
