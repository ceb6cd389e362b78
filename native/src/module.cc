// Modules and their entry points: PTX is JIT-compiled by the driver with its info and error logs
// captured, so a failed compile reports ptxas's own lines.
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "args.h"
#include "context.h"
#include "driver.h"
#include "errors.h"
#include "exports.h"
#include "handles.h"

namespace {

constexpr uint32_t kDefaultLogBytes = 64 * 1024;

// JIT option values travel as pointer-sized integers in a void* array.
void* OptionValue(uintptr_t value) {
  return reinterpret_cast<void*>(value);
}

std::string LogText(const std::vector<char>& buffer, void* writtenValue) {
  size_t written = static_cast<size_t>(reinterpret_cast<uintptr_t>(writtenValue));
  size_t limit = written < buffer.size() ? written : buffer.size();
  std::string text(buffer.data(), strnlen(buffer.data(), limit));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == '\0')) text.pop_back();
  return text;
}

std::string FirstLine(const std::string& text) {
  size_t end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

Napi::Value ModuleLoadJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "moduleLoad";
  int ordinal = ArgDevice(info, 0, fn);
  Napi::Value source = info[1];
  std::vector<char> image;
  if (source.IsString()) {
    std::string text = source.As<Napi::String>().Utf8Value();
    image.assign(text.begin(), text.end());
  } else if (IsHostBuffer(source)) {
    HostSpan span = ToHostSpan(source);
    const char* bytes = static_cast<const char*>(span.data);
    image.assign(bytes, bytes + span.length);
  } else {
    throw ArgumentError(env, fn, "image must be PTX text (a string) or a cubin/fatbin/PTX buffer, got " + Describe(source));
  }
  if (image.empty()) throw ArgumentError(env, fn, "image is empty");
  image.push_back('\0');  // PTX must be NUL-terminated; binary images ignore the extra byte
  Napi::Object options = ArgOptions(info, 2, fn);
  uint32_t logBytes = OptionUint32(options, "logBufferBytes", kDefaultLogBytes, fn);
  if (logBytes < 256) logBytes = 256;
  bool verbose = OptionBool(options, "logVerbose", true, fn);
  Napi::Value maxRegisters = options.Get("maxRegisters");
  Napi::Value optimizationLevel = options.Get("optimizationLevel");
  uint32_t registers = OptionUint32(options, "maxRegisters", 0, fn);
  uint32_t level = OptionUint32(options, "optimizationLevel", 4, fn);
  if (level > 4) throw ArgumentError(env, fn, "options.optimizationLevel must be 0 to 4, got " + std::to_string(level));
  bool lineInfo = OptionBool(options, "generateLineInfo", false, fn);
  bool debugInfo = OptionBool(options, "generateDebugInfo", false, fn);

  CUcontext context = UseDevice(env, ordinal, "cuModuleLoadDataEx");

  std::vector<char> infoLog(logBytes, '\0');
  std::vector<char> errorLog(logBytes, '\0');
  std::vector<int> keys;
  std::vector<void*> values;
  auto add = [&](int key, void* value) {
    keys.push_back(key);
    values.push_back(value);
    return values.size() - 1;
  };
  add(kJitInfoLogBuffer, infoLog.data());
  size_t infoSize = add(kJitInfoLogBufferSizeBytes, OptionValue(logBytes));
  add(kJitErrorLogBuffer, errorLog.data());
  size_t errorSize = add(kJitErrorLogBufferSizeBytes, OptionValue(logBytes));
  add(kJitLogVerbose, OptionValue(verbose ? 1 : 0));
  size_t wallTime = add(kJitWallTime, nullptr);
  if (!maxRegisters.IsUndefined()) add(kJitMaxRegisters, OptionValue(registers));
  if (!optimizationLevel.IsUndefined()) add(kJitOptimizationLevel, OptionValue(level));
  if (lineInfo) add(kJitGenerateLineInfo, OptionValue(1));
  if (debugInfo) add(kJitGenerateDebugInfo, OptionValue(1));

  CUmodule module = nullptr;
  auto started = std::chrono::steady_clock::now();
  CUresult result = Cu().cuModuleLoadDataEx(&module, image.data(), static_cast<unsigned int>(keys.size()), keys.data(),
                                            values.data());
  double jitMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  std::string infoText = LogText(infoLog, values[infoSize]);
  std::string errorText = LogText(errorLog, values[errorSize]);

  if (result != CUDA_SUCCESS) {
    // The message carries the log's first line (usually the first error, with its PTX line).
    std::string what = "JIT-compiling a module for CUDA device " + std::to_string(ordinal);
    Napi::Error error = CudaError(env, result, "cuModuleLoadDataEx", what);
    Napi::Object object = error.Value();
    if (!errorText.empty()) {
      object.Set("message", object.Get("message").As<Napi::String>().Utf8Value() + ": " + FirstLine(errorText));
    }
    object.Set("errorLog", errorText);
    object.Set("infoLog", infoText);
    throw error;
  }

  float wallTimeMs = 0;
  std::memcpy(&wallTimeMs, &values[wallTime], sizeof wallTimeMs);
  auto resource = std::make_shared<Resource>(ResourceKind::Module, ordinal, context, module);
  Napi::Object out = Napi::Object::New(env);
  out.Set("module", WrapResource(env, std::move(resource)));
  out.Set("infoLog", infoText);
  out.Set("errorLog", errorText);
  out.Set("jitMs", jitMs);
  out.Set("wallTimeMs", static_cast<double>(wallTimeMs));
  return out;
}

Napi::Value ModuleUnloadJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<Resource> module = ArgResource(info, 0, ResourceKind::Module, "moduleUnload", "module");
  RequireDriver(env, "cuModuleUnload");
  Check(env, module->Destroy(), "cuModuleUnload",
        [&] { return "unloading a module from CUDA device " + std::to_string(module->device); });
  return env.Undefined();
}

// Reads the parameter layout where the driver can describe it (CUDA 12.4+), so launches can check
// the caller's arguments against the kernel's signature.
void ReadParams(Resource& function) {
  PFN_cuFuncGetParamInfo getParamInfo = Cu().cuFuncGetParamInfo;
  if (getParamInfo == nullptr) return;
  for (size_t index = 0; index < 4096; index++) {
    size_t offset = 0;
    size_t size = 0;
    CUresult result = getParamInfo(function.Function(), index, &offset, &size);
    if (result == CUDA_ERROR_INVALID_VALUE) break;  // past the last parameter
    if (result != CUDA_SUCCESS) {
      function.params.clear();
      return;
    }
    function.params.push_back({offset, size});
  }
  function.paramsKnown = true;
}

Napi::Value GetFunctionJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "getFunction";
  std::shared_ptr<Resource> module = ArgResource(info, 0, ResourceKind::Module, fn, "module");
  std::string name = ArgString(info, 1, fn, "name");
  MakeCurrent(env, module->context);
  CUfunction function = nullptr;
  CUresult result = Cu().cuModuleGetFunction(&function, module->Module(), name.c_str());
  if (result == CUDA_ERROR_NOT_FOUND) {
    throw StructuredError(env, CudaErrorName(result), result, "cuModuleGetFunction",
                          "the module on CUDA device " + std::to_string(module->device) + " has no entry point named '" +
                              name + "' (check the .entry name in the PTX; C++ names are mangled unless extern \"C\")");
  }
  Check(env, result, "cuModuleGetFunction", [&] { return "looking up entry point '" + name + "'"; });
  auto resource = std::make_shared<Resource>(ResourceKind::Function, module->device, module->context, function);
  resource->name = name;
  resource->module = module;
  ReadParams(*resource);
  return WrapResource(env, std::move(resource));
}

Napi::Value FunctionInfoJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<Resource> function = ArgResource(info, 0, ResourceKind::Function, "functionInfo", "function");
  MakeCurrent(env, function->context);
  auto attribute = [&](int which) {
    int value = 0;
    Check(env, Cu().cuFuncGetAttribute(&value, which, function->Function()), "cuFuncGetAttribute",
          [&] { return "reading attribute " + std::to_string(which) + " of kernel '" + function->name + "'"; });
    return value;
  };
  Napi::Object out = Napi::Object::New(env);
  out.Set("name", function->name);
  out.Set("device", function->device);
  out.Set("maxThreadsPerBlock", attribute(kFuncMaxThreadsPerBlock));
  out.Set("numRegs", attribute(kFuncNumRegs));
  out.Set("sharedSizeBytes", attribute(kFuncSharedSizeBytes));
  out.Set("constSizeBytes", attribute(kFuncConstSizeBytes));
  out.Set("localSizeBytes", attribute(kFuncLocalSizeBytes));
  out.Set("ptxVersion", attribute(kFuncPtxVersion));
  out.Set("binaryVersion", attribute(kFuncBinaryVersion));
  if (function->paramsKnown) {
    Napi::Array params = Napi::Array::New(env, function->params.size());
    for (size_t i = 0; i < function->params.size(); i++) {
      Napi::Object param = Napi::Object::New(env);
      param.Set("offset", static_cast<double>(function->params[i].offset));
      param.Set("size", static_cast<double>(function->params[i].size));
      params.Set(static_cast<uint32_t>(i), param);
    }
    out.Set("params", params);
  } else {
    out.Set("params", env.Null());
  }
  return out;
}

}  // namespace

void RegisterModule(Napi::Env env, Napi::Object exports) {
  exports.Set("moduleLoad", Napi::Function::New(env, ModuleLoadJs, "moduleLoad"));
  exports.Set("moduleUnload", Napi::Function::New(env, ModuleUnloadJs, "moduleUnload"));
  exports.Set("getFunction", Napi::Function::New(env, GetFunctionJs, "getFunction"));
  exports.Set("functionInfo", Napi::Function::New(env, FunctionInfoJs, "functionInfo"));
}
