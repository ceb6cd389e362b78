#include "errors.h"

#include "driver.h"

std::string CudaErrorName(CUresult result) {
  const char* name = nullptr;
  if (LoadDriver().available) Cu().cuGetErrorName(result, &name);
  return name != nullptr ? name : "CUDA_ERROR_" + std::to_string(result);
}

Napi::Error StructuredError(Napi::Env env, const std::string& name, int code, const std::string& call,
                           const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  Napi::Object object = error.Value();
  object.Set("name", name);
  object.Set("code", code);
  object.Set("call", call);
  return error;
}

Napi::Error CudaError(Napi::Env env, CUresult result, const std::string& call, const std::string& context) {
  const char* text = nullptr;
  if (LoadDriver().available) Cu().cuGetErrorString(result, &text);
  std::string name = CudaErrorName(result);
  std::string message = context + ": " + (text != nullptr ? text : "unknown CUDA error") + " (" + call +
                        " returned " + name + ")";
  return StructuredError(env, name, result, call, message);
}

void RequireDriver(Napi::Env env, const char* call) {
  const DriverStatus& status = LoadDriver();
  if (status.available) return;
  throw StructuredError(env, status.errorName, status.errorCode, call,
                        std::string("CUDA is unavailable, so ") + call + " cannot run: " + status.reason);
}

Napi::TypeError ArgumentError(Napi::Env env, const char* fn, const std::string& message) {
  return Napi::TypeError::New(env, std::string(fn) + ": " + message);
}
