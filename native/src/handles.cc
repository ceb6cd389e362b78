#include "handles.h"

#include "args.h"
#include "driver.h"
#include "errors.h"

namespace {

// One tag per kind; napi_check_object_type_tag tells them apart without trusting properties.
const napi_type_tag kTags[] = {
    {0x52b1a4f3c86e4d0aULL, 0x9d7e5b13a2c64f01ULL},  // module
    {0x52b1a4f3c86e4d0aULL, 0x9d7e5b13a2c64f02ULL},  // function
    {0x52b1a4f3c86e4d0aULL, 0x9d7e5b13a2c64f03ULL},  // stream
    {0x52b1a4f3c86e4d0aULL, 0x9d7e5b13a2c64f04ULL},  // event
};

const napi_type_tag& TagOf(ResourceKind kind) {
  return kTags[static_cast<int>(kind)];
}

struct Holder {
  std::shared_ptr<Resource> resource;
};

void Finalize(napi_env, void* data, void*) {
  delete static_cast<Holder*>(data);
}

}  // namespace

const char* KindName(ResourceKind kind) {
  switch (kind) {
    case ResourceKind::Module: return "module";
    case ResourceKind::Function: return "function";
    case ResourceKind::Stream: return "stream";
    case ResourceKind::Event: return "event";
  }
  return "resource";
}

CUresult Resource::Destroy() {
  alive = false;
  return ReleaseIfIdle();
}

CUresult Resource::ReleaseIfIdle() {
  if (released || alive || pendingWaits > 0) return CUDA_SUCCESS;
  released = true;
  if (kind == ResourceKind::Function) return CUDA_SUCCESS;  // functions belong to their module
  const DriverApi& cu = Cu();
  CUresult result = cu.cuCtxSetCurrent(context);
  if (result != CUDA_SUCCESS) return result;
  switch (kind) {
    case ResourceKind::Module: return cu.cuModuleUnload(Module());
    case ResourceKind::Stream: return cu.cuStreamDestroy(Stream());
    case ResourceKind::Event: return cu.cuEventDestroy(Event());
    case ResourceKind::Function: break;
  }
  return CUDA_SUCCESS;
}

Resource::~Resource() {
  // Collected without an explicit destroy: release the driver object; nothing to report to.
  if (!released && LoadDriver().available) Destroy();
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
  auto* holder = new Holder{std::move(resource)};
  napi_status status = napi_wrap(env, object, holder, Finalize, nullptr, nullptr);
  if (status != napi_ok) {
    delete holder;
    NAPI_THROW(Napi::Error::New(env, "could not attach a CUDA handle to its JavaScript object"), Napi::Object());
  }
  NAPI_THROW_IF_FAILED(env, napi_type_tag_object(env, object, &TagOf(holder->resource->kind)), Napi::Object());
  object.Freeze();
  return object;
}

std::shared_ptr<Resource> ToResource(Napi::Env env, Napi::Value value, ResourceKind kind, const char* fn,
                                     const char* name) {
  bool tagged = false;
  if (value.IsObject()) {
    NAPI_THROW_IF_FAILED(env, napi_check_object_type_tag(env, value, &TagOf(kind), &tagged), nullptr);
  }
  void* data = nullptr;
  if (!tagged || napi_unwrap(env, value, &data) != napi_ok || data == nullptr) {
    throw ArgumentError(env, fn,
                        std::string(name) + " must be a CUDA " + KindName(kind) + " handle (from this addon), got " +
                            Describe(value));
  }
  std::shared_ptr<Resource> resource = static_cast<Holder*>(data)->resource;
  bool moduleGone = resource->module != nullptr && !resource->module->alive;
  if (!resource->alive || moduleGone) {
    std::string what = moduleGone ? "the module of function '" + resource->name + "' was unloaded"
                                  : std::string("the ") + KindName(kind) + " was already destroyed";
    throw StructuredError(env, "CUDA_ERROR_INVALID_HANDLE", CUDA_ERROR_INVALID_HANDLE, fn,
                          std::string(fn) + ": " + name + " cannot be used: " + what);
  }
  return resource;
}

std::shared_ptr<Resource> ArgResource(const Napi::CallbackInfo& info, size_t index, ResourceKind kind, const char* fn,
                                      const char* name) {
  return ToResource(info.Env(), info[index], kind, fn, name);
}

std::shared_ptr<Resource> ArgOptionalResource(const Napi::CallbackInfo& info, size_t index, ResourceKind kind,
                                              const char* fn, const char* name) {
  Napi::Value value = info[index];
  if (value.IsUndefined() || value.IsNull()) return nullptr;
  return ToResource(info.Env(), value, kind, fn, name);
}
