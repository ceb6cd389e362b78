// Driver objects (allocations, modules, functions, streams, events) reach JavaScript as small
// frozen objects `{ kind, device }` (an allocation adds `bytes`), type-tagged so one kind cannot be
// passed for another, each wrapping a shared Resource that owns the driver object. Using a handle
// after its explicit free, unload or destroy is a clean error, never a stale driver handle. A
// handle nobody references any more releases its driver object when collected; functions keep
// their module alive. While queued GPU work uses a resource (holds.h), its release waits for that
// work, whichever way it was asked for.
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "cuda_types.h"

enum class ResourceKind { Module, Function, Stream, Event, Allocation };

struct KernelParam {
  size_t offset;
  size_t size;
};

struct Resource {
  ResourceKind kind;
  int device = 0;
  CUcontext context = nullptr;
  void* raw = nullptr;       // the CUmodule, CUfunction, CUstream or CUevent
  CUdeviceptr address = 0;   // an allocation's device address
  size_t bytes = 0;          // an allocation's size
  bool alive = true;         // usable from JavaScript
  bool released = false;     // the driver object is gone
  int inUse = 0;             // asynchronous work in flight that uses it; release waits for the last
  bool ipc = false;          // an allocation of another process, mapped here (ipcOpenMemHandle)
  CUcontext mappedIn = nullptr;  // an IPC mapping's context: it is closed there
  std::string name;          // a function's entry point name
  std::shared_ptr<Resource> module;  // a function's module
  bool paramsKnown = false;          // whether the driver could describe the parameters
  std::vector<KernelParam> params;

  Resource(ResourceKind kind, int device, CUcontext context, void* raw);
  static std::shared_ptr<Resource> Allocation(int device, CUcontext context, CUdeviceptr address, size_t bytes);
  // Another process's allocation on `device`, mapped into `mappedIn`; closed (not freed) on release,
  // and not counted in the allocated bytes (the memory is the exporter's).
  static std::shared_ptr<Resource> IpcMapping(int device, CUcontext context, CUcontext mappedIn, CUdeviceptr address,
                                              size_t bytes);
  Resource(const Resource&) = delete;
  Resource& operator=(const Resource&) = delete;
  ~Resource();

  // Makes the handle unusable and releases the driver object, now or, while asynchronous work is
  // using it, when the last of that work is done (ReleaseIfIdle). Returns the driver's result.
  CUresult Destroy();
  CUresult ReleaseIfIdle();

  CUmodule Module() const { return static_cast<CUmodule>(raw); }
  CUfunction Function() const { return static_cast<CUfunction>(raw); }
  CUstream Stream() const { return static_cast<CUstream>(raw); }
  CUevent Event() const { return static_cast<CUevent>(raw); }
};

const char* KindName(ResourceKind kind);

// Driver objects of each kind this process holds (functions are not driver objects of their own).
struct LiveCounts {
  double modules, streams, events, allocations, allocatedBytes;
};
LiveCounts CountLive();

Napi::Object WrapResource(Napi::Env env, std::shared_ptr<Resource> resource);
// A structured DEVICE_MISMATCH error unless `stream` belongs to `device`: "<fn>: <what> is on CUDA
// device 1 but the stream belongs to CUDA device 0".
void RequireStreamDevice(Napi::Env env, const char* fn, const char* call, const Resource& stream, int device,
                         const std::string& what);

// Whether `value` is a handle of `kind` from this addon (alive or not).
bool IsHandle(Napi::Env env, const Napi::Value& value, ResourceKind kind);
// The live resource of `kind` in `value`; a TypeError naming `fn` and `name` for anything else, a
// structured CUDA_ERROR_INVALID_HANDLE error when it was freed or destroyed (or its module unloaded).
std::shared_ptr<Resource> ToResource(Napi::Env env, const Napi::Value& value, ResourceKind kind, const char* fn,
                                     const std::string& name);
