#include "handles.h"

#include <atomic>

#include "driver.h"
#include "errors.h"
#include "messages.h"

namespace {

// One tag per kind; napi_check_object_type_tag tells them apart without trusting properties.
const napi_type_tag kTags[] = {
    {0x52b1a4f3c86e4d0aULL, 0x9d7e5b13a2c64f01ULL},  // module
    {0x52b1a4f3c86e4d0aULL, 0x9d7e5b13a2c64f02ULL},  // function
    {0x52b1a4f3c86e4d0aULL, 0x9d7e5b13a2c64f03ULL},  // stream
    {0x52b1a4f3c86e4d0aULL, 0x9d7e5b13a2c64f04ULL},  // event
    {0x52b1a4f3c86e4d0aULL, 0x9d7e5b13a2c64f05ULL},  // allocation
};

const napi_type_tag& TagOf(ResourceKind kind) {
  return kTags[static_cast<int>(kind)];
}

// Live driver objects per kind (indexed like kTags) and allocated bytes, for liveResources().
std::atomic<long long> liveCount[5];
std::atomic<long long> liveBytes{0};

struct Holder {
  std::shared_ptr<Resource> resource;
};

void Finalize(napi_env, void* data, void*) {
  delete static_cast<Holder*>(data);
}

// What happened to a resource that can no longer be used, in its own words.
const char* GoneVerb(ResourceKind kind) {
  switch (kind) {
    case ResourceKind::Module: return "unloaded";
    case ResourceKind::Allocation: return "freed";
    default: return "destroyed";
  }
}

}  // namespace

const char* KindName(ResourceKind kind) {
  switch (kind) {
    case ResourceKind::Module: return "module";
    case ResourceKind::Function: return "function";
    case ResourceKind::Stream: return "stream";
    case ResourceKind::Event: return "event";
    case ResourceKind::Allocation: return "allocation";
  }
  return "resource";
}

Resource::Resource(ResourceKind kind, int device, CUcontext context, void* raw)
    : kind(kind), device(device), context(context), raw(raw) {
  liveCount[static_cast<int>(kind)]++;
}

std::shared_ptr<Resource> Resource::Allocation(int device, CUcontext context, CUdeviceptr address, size_t bytes) {
  auto resource = std::make_shared<Resource>(ResourceKind::Allocation, device, context, nullptr);
  resource->address = address;
  resource->bytes = bytes;
  liveBytes += static_cast<long long>(bytes);
  return resource;
}

std::shared_ptr<Resource> Resource::IpcMapping(int device, CUcontext context, CUcontext mappedIn, CUdeviceptr address,
                                               size_t bytes) {
  auto resource = std::make_shared<Resource>(ResourceKind::Allocation, device, context, nullptr);
  resource->address = address;
  resource->bytes = bytes;
  resource->ipc = true;
  resource->mappedIn = mappedIn;
  return resource;
}

CUresult Resource::Destroy() {
  alive = false;
  return ReleaseIfIdle();
}

CUresult Resource::ReleaseIfIdle() {
  if (released || alive || inUse > 0) return CUDA_SUCCESS;
  released = true;
  liveCount[static_cast<int>(kind)]--;
  if (kind == ResourceKind::Allocation && !ipc) liveBytes -= static_cast<long long>(bytes);
  if (kind == ResourceKind::Function) return CUDA_SUCCESS;  // functions belong to their module
  const DriverApi& cu = Cu();
  CUresult result = cu.cuCtxSetCurrent(ipc ? mappedIn : context);
  if (result != CUDA_SUCCESS) return result;
  switch (kind) {
    case ResourceKind::Module: return cu.cuModuleUnload(Module());
    case ResourceKind::Stream: return cu.cuStreamDestroy(Stream());
    case ResourceKind::Event: return cu.cuEventDestroy(Event());
    case ResourceKind::Allocation:
      if (!ipc) return cu.cuMemFree(address);
      return cu.cuIpcCloseMemHandle != nullptr ? cu.cuIpcCloseMemHandle(address) : CUDA_SUCCESS;
    case ResourceKind::Function: break;
  }
  return CUDA_SUCCESS;
}

Resource::~Resource() {
  // Collected without an explicit release: release the driver object; nothing to report to.
  if (!released && LoadDriver().available) Destroy();
}

LiveCounts CountLive() {
  auto count = [](ResourceKind kind) { return static_cast<double>(liveCount[static_cast<int>(kind)].load()); };
  return {count(ResourceKind::Module), count(ResourceKind::Stream), count(ResourceKind::Event),
          count(ResourceKind::Allocation), static_cast<double>(liveBytes.load())};
}

Napi::Object WrapResource(Napi::Env env, std::shared_ptr<Resource> resource) {
  Napi::Object object = Napi::Object::New(env);
  object.DefineProperties({
      Napi::PropertyDescriptor::Value("kind", Napi::String::New(env, KindName(resource->kind)), napi_enumerable),
      Napi::PropertyDescriptor::Value("device", Napi::Number::New(env, resource->device), napi_enumerable),
  });
  if (resource->kind == ResourceKind::Function) {
    object.DefineProperty(
        Napi::PropertyDescriptor::Value("name", Napi::String::New(env, resource->name), napi_enumerable));
  }
  if (resource->kind == ResourceKind::Allocation) {
    object.DefineProperty(Napi::PropertyDescriptor::Value(
        "bytes", Napi::Number::New(env, static_cast<double>(resource->bytes)), napi_enumerable));
    if (resource->ipc)
      object.DefineProperty(Napi::PropertyDescriptor::Value("ipc", Napi::Boolean::New(env, true), napi_enumerable));
  }
  auto* holder = new Holder{std::move(resource)};
  napi_status status = napi_wrap(env, object, holder, Finalize, nullptr, nullptr);
  if (status != napi_ok) {
    delete holder;
    throw Napi::Error::New(env, "could not attach a CUDA handle to its JavaScript object");
  }
  NAPI_THROW_IF_FAILED(env, napi_type_tag_object(env, object, &TagOf(holder->resource->kind)), Napi::Object());
  object.Freeze();
  return object;
}

void RequireStreamDevice(Napi::Env env, const char* fn, const char* call, const Resource& stream, int device,
                         const std::string& what) {
  if (stream.device == device) return;
  throw StructuredError(env, "DEVICE_MISMATCH", -1, call,
                        std::string(fn) + ": " + what + " is on " + DeviceName(device) + " but the stream belongs to " +
                            DeviceName(stream.device));
}

bool IsHandle(Napi::Env env, const Napi::Value& value, ResourceKind kind) {
  bool tagged = false;
  if (value.IsObject()) NAPI_THROW_IF_FAILED(env, napi_check_object_type_tag(env, value, &TagOf(kind), &tagged), false);
  return tagged;
}

std::shared_ptr<Resource> ToResource(Napi::Env env, const Napi::Value& value, ResourceKind kind, const char* fn,
                                     const std::string& name) {
  void* data = nullptr;
  if (!IsHandle(env, value, kind) || napi_unwrap(env, value, &data) != napi_ok || data == nullptr) {
    throw ArgumentError(env, fn,
                        name + " must be a CUDA " + KindName(kind) + " handle (from this addon), got " + Describe(value));
  }
  std::shared_ptr<Resource> resource = static_cast<Holder*>(data)->resource;
  bool moduleGone = resource->module != nullptr && !resource->module->alive;
  if (!resource->alive || moduleGone) {
    std::string what = moduleGone ? "the module of function '" + resource->name + "' was unloaded"
                                  : std::string("the ") + KindName(kind) + " was already " + GoneVerb(kind);
    throw StructuredError(env, "CUDA_ERROR_INVALID_HANDLE", CUDA_ERROR_INVALID_HANDLE, fn,
                          std::string(fn) + ": " + name + " cannot be used: " + what);
  }
  return resource;
}
