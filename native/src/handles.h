// Driver objects (modules, functions, streams, events) reach JavaScript as small frozen objects
// `{ kind, device }`, type-tagged so one kind cannot be passed for another and wrapped around a
// shared Resource. Using a destroyed handle is a clean error, never a stale driver handle.
// A module, stream or event nobody references any more is destroyed when collected; functions
// keep their module alive.
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "cuda_types.h"

enum class ResourceKind { Module, Function, Stream, Event };

struct KernelParam {
  size_t offset;
  size_t size;
};

struct Resource {
  ResourceKind kind;
  int device = 0;
  CUcontext context = nullptr;
  void* raw = nullptr;  // the CUmodule, CUfunction, CUstream or CUevent
  bool alive = true;      // usable from JavaScript
  bool released = false;  // the driver object is gone
  int pendingWaits = 0;   // asynchronous waits in flight; release waits for the last one
  std::string name;      // a function's entry point name
  std::shared_ptr<Resource> module;  // a function's module
  bool paramsKnown = false;          // whether the driver could describe the parameters
  std::vector<KernelParam> params;

  Resource(ResourceKind kind, int device, CUcontext context, void* raw)
      : kind(kind), device(device), context(context), raw(raw) {}
  Resource(const Resource&) = delete;
  Resource& operator=(const Resource&) = delete;
  ~Resource();

  // Makes the handle unusable and releases the driver object, now or, while an asynchronous wait
  // is using it, when the last wait finishes (ReleaseIfIdle). Returns the driver's result.
  CUresult Destroy();
  CUresult ReleaseIfIdle();

  CUmodule Module() const { return static_cast<CUmodule>(raw); }
  CUfunction Function() const { return static_cast<CUfunction>(raw); }
  CUstream Stream() const { return static_cast<CUstream>(raw); }
  CUevent Event() const { return static_cast<CUevent>(raw); }
};

const char* KindName(ResourceKind kind);

Napi::Object WrapResource(Napi::Env env, std::shared_ptr<Resource> resource);
// The live resource of `kind` at info[index]; a TypeError for anything else, a structured
// CUDA_ERROR_INVALID_HANDLE error when it was destroyed (or its module unloaded).
std::shared_ptr<Resource> ArgResource(const Napi::CallbackInfo& info, size_t index, ResourceKind kind, const char* fn,
                                      const char* name);
// The same, where null and undefined mean "none" (the default stream).
std::shared_ptr<Resource> ArgOptionalResource(const Napi::CallbackInfo& info, size_t index, ResourceKind kind,
                                              const char* fn, const char* name);
std::shared_ptr<Resource> ToResource(Napi::Env env, Napi::Value value, ResourceKind kind, const char* fn,
                                     const char* name);
