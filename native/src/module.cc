// Modules and their entry points. moduleLoad compiles on a libuv worker thread and settles a
// promise, so the JavaScript thread (the device host's step loops and heartbeats) keeps running.
//
// PTX goes through the driver's linker (cuLinkCreate / cuLinkAddData / cuLinkComplete), and only
// the finished cubin through cuModuleLoadDataEx. The split matters: cuModuleLoadDataEx JIT-compiles
// PTX while holding the context's lock, so every other thread's CUDA call on that context (the
// step loop's copies and launches) waits for the whole JIT, worker thread or not. Measured on an
// H100 (driver 580): a launch-and-synchronise loop on the main thread made 2-5 steps a second while
// another thread ran cuModuleLoadDataEx on 6,000-20,000 lines of PTX (0.4-1.4 s of JIT), against
// about 105,000 a second, its usual rate, while another thread compiled the same PTX through the
// linker; loading the linked cubin took 0.1 ms. Cubins and fatbins are loaded as given (a fatbin
// holding only PTX for this GPU is then compiled inside cuModuleLoadDataEx, lock and all).
// The info and error logs are captured either way, so a failed compile reports ptxas's own lines.
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
#include "messages.h"
#include "promise_worker.h"

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

enum class ImageKind { Ptx, Cubin, Fatbin };

ImageKind KindOf(const std::vector<char>& image) {
  auto starts = [&](const char* magic, size_t length) { return image.size() >= length && std::memcmp(image.data(), magic, length) == 0; };
  if (starts("\x7f" "ELF", 4)) return ImageKind::Cubin;
  if (starts("\x50\xed\x55\xba", 4)) return ImageKind::Fatbin;  // the fatbin header's magic, 0xba55ed50
  return ImageKind::Ptx;
}

// The JIT options of one load: log buffers, verbosity, wall time, the caller's code options.
struct JitOptions {
  std::vector<char> infoLog;
  std::vector<char> errorLog;
  std::vector<int> keys;
  std::vector<void*> values;
  size_t infoSize = 0;
  size_t errorSize = 0;
  size_t wallTime = 0;

  size_t Add(int key, void* value) {
    keys.push_back(key);
    values.push_back(value);
    return values.size() - 1;
  }
  std::string InfoText() const { return LogText(infoLog, values[infoSize]); }
  std::string ErrorText() const { return LogText(errorLog, values[errorSize]); }
  double WallTimeMs() const {
    float ms = 0;
    std::memcpy(&ms, &values[wallTime], sizeof ms);
    return ms;
  }
};

JitOptions ReadJitOptions(const Args& args, const Options& options) {
  uint32_t logBytes = options.Uint32("logBufferBytes", kDefaultLogBytes);
  if (logBytes < 256) logBytes = 256;
  bool verbose = options.Bool("logVerbose", true);
  uint32_t registers = options.Uint32("maxRegisters", 0);
  uint32_t level = options.Uint32("optimizationLevel", 4);
  if (level > 4) throw args.Error("options.optimizationLevel must be 0 to 4, got " + std::to_string(level));
  bool lineInfo = options.Bool("generateLineInfo", false);
  bool debugInfo = options.Bool("generateDebugInfo", false);

  JitOptions jit;
  jit.infoLog.assign(logBytes, '\0');
  jit.errorLog.assign(logBytes, '\0');
  jit.Add(kJitInfoLogBuffer, jit.infoLog.data());
  jit.infoSize = jit.Add(kJitInfoLogBufferSizeBytes, OptionValue(logBytes));
  jit.Add(kJitErrorLogBuffer, jit.errorLog.data());
  jit.errorSize = jit.Add(kJitErrorLogBufferSizeBytes, OptionValue(logBytes));
  jit.Add(kJitLogVerbose, OptionValue(verbose ? 1 : 0));
  jit.wallTime = jit.Add(kJitWallTime, nullptr);
  if (options.Has("maxRegisters")) jit.Add(kJitMaxRegisters, OptionValue(registers));
  if (options.Has("optimizationLevel")) jit.Add(kJitOptimizationLevel, OptionValue(level));
  if (lineInfo) jit.Add(kJitGenerateLineInfo, OptionValue(1));
  if (debugInfo) jit.Add(kJitGenerateDebugInfo, OptionValue(1));
  return jit;
}

class JitWorker : public PromiseWorker {
 public:
  JitWorker(Napi::Env env, int ordinal, CUcontext context, std::vector<char> image, JitOptions options)
      : PromiseWorker(env, "ringkernel:cudaModuleLoad"),
        ordinal_(ordinal),
        context_(context),
        image_(std::move(image)),
        kind_(KindOf(image_)),
        jit_(std::move(options)) {}

  // The first driver call a load of this image makes (what a missing driver is reported against).
  static const char* FirstCall(const std::vector<char>& image) {
    return KindOf(image) == ImageKind::Ptx ? "cuLinkCreate_v2" : "cuModuleLoadDataEx";
  }

  void Execute() override {
    auto started = std::chrono::steady_clock::now();
    // This pool thread has no current context of its own (or another device's from earlier work).
    if (Call("cuCtxSetCurrent", Cu().cuCtxSetCurrent(context_))) {
      if (kind_ == ImageKind::Ptx) Link();
      else Call("cuModuleLoadDataEx", Cu().cuModuleLoadDataEx(&module_, image_.data(), Count(), jit_.keys.data(), jit_.values.data()));
    }
    jitMs_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  }

  Napi::Value Settle() override {
    Napi::Env env = Env();
    std::string infoText = jit_.InfoText();
    std::string errorText = jit_.ErrorText();
    if (result_ != CUDA_SUCCESS) {
      // The message carries the log's first line (usually the first error, with its PTX line).
      Napi::Error error = CudaError(env, result_, failedCall_, "JIT-compiling a module for " + DeviceName(ordinal_));
      Napi::Object object = error.Value();
      if (!errorText.empty()) {
        object.Set("message", object.Get("message").As<Napi::String>().Utf8Value() + ": " + FirstLine(errorText));
      }
      object.Set("errorLog", errorText);
      object.Set("infoLog", infoText);
      throw error;
    }
    auto resource = std::make_shared<Resource>(ResourceKind::Module, ordinal_, context_, module_);
    Napi::Object out = Napi::Object::New(env);
    out.Set("module", WrapResource(env, std::move(resource)));
    out.Set("infoLog", infoText);
    out.Set("errorLog", errorText);
    out.Set("jitMs", jitMs_);
    out.Set("wallTimeMs", jit_.WallTimeMs());
    return out;
  }

 private:
  unsigned int Count() const { return static_cast<unsigned int>(jit_.keys.size()); }

  // Records a failure; true when `result` is success.
  bool Call(const char* call, CUresult result) {
    if (result == CUDA_SUCCESS) return true;
    result_ = result;
    failedCall_ = call;
    return false;
  }

  // PTX → cubin through the linker (no context lock held while it compiles), then the cubin loaded.
  void Link() {
    const DriverApi& cu = Cu();
    CUlinkState link = nullptr;
    if (!Call("cuLinkCreate_v2", cu.cuLinkCreate(Count(), jit_.keys.data(), jit_.values.data(), &link))) return;
    void* cubin = nullptr;
    size_t cubinBytes = 0;
    // PTX goes in with its terminating NUL counted, and unnamed (the name only labels log lines).
    bool linked =
        Call("cuLinkAddData_v2", cu.cuLinkAddData(link, kJitInputPtx, image_.data(), image_.size(), nullptr, 0, nullptr, nullptr)) &&
        Call("cuLinkComplete", cu.cuLinkComplete(link, &cubin, &cubinBytes));
    // The cubin belongs to the link state: load it before destroying that.
    if (linked) Call("cuModuleLoadDataEx", cu.cuModuleLoadDataEx(&module_, cubin, 0, nullptr, nullptr));
    cu.cuLinkDestroy(link);
  }

  int ordinal_;
  CUcontext context_;
  std::vector<char> image_;
  ImageKind kind_;
  JitOptions jit_;
  CUmodule module_ = nullptr;
  CUresult result_ = CUDA_SUCCESS;
  const char* failedCall_ = "";
  double jitMs_ = 0;
};

std::vector<char> ReadImage(const Args& args, size_t index) {
  Napi::Value source = args.At(index);
  std::vector<char> image;
  if (source.IsString()) {
    std::string text = source.As<Napi::String>().Utf8Value();
    image.assign(text.begin(), text.end());
  } else if (IsHostBuffer(source)) {
    HostBuffer buffer = ToHostBuffer(source);
    const char* bytes = static_cast<const char*>(buffer.data);
    image.assign(bytes, bytes + buffer.length);
  } else {
    throw args.Error("image must be PTX text (a string) or a cubin/fatbin/PTX buffer, got " + Describe(source));
  }
  if (image.empty()) throw args.Error("image is empty");
  image.push_back('\0');  // PTX must be NUL-terminated; binary images ignore the extra byte
  return image;
}

Napi::Value ModuleLoadJs(const Napi::CallbackInfo& info) {
  Args args(info, "moduleLoad");
  int ordinal = args.Device(0);
  std::vector<char> image = ReadImage(args, 1);
  JitOptions jit = ReadJitOptions(args, args.OptionsAt(2));
  Napi::Env env = args.Env();
  return PromiseOf(env, [&] {
    // The primary context is retained here, on the JavaScript thread; the worker makes it current.
    CUcontext context = PrimaryContext(env, ordinal, JitWorker::FirstCall(image));
    return (new JitWorker(env, ordinal, context, std::move(image), std::move(jit)))->Start();
  });
}

Napi::Value ModuleUnloadJs(const Napi::CallbackInfo& info) {
  Args args(info, "moduleUnload");
  std::shared_ptr<Resource> module = args.Handle(0, ResourceKind::Module, "module");
  Check(args.Env(), module->Destroy(), "cuModuleUnload", [&] { return "unloading a module from " + DeviceName(module->device); });
  return args.Env().Undefined();
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
  Args args(info, "getFunction");
  std::shared_ptr<Resource> module = args.Handle(0, ResourceKind::Module, "module");
  std::string name = args.String(1, "name");
  Napi::Env env = args.Env();
  MakeCurrent(env, module->context);
  CUfunction function = nullptr;
  CUresult result = Cu().cuModuleGetFunction(&function, module->Module(), name.c_str());
  if (result == CUDA_ERROR_NOT_FOUND) {
    throw StructuredError(env, CudaErrorName(result), result, "cuModuleGetFunction",
                          "the module on " + DeviceName(module->device) + " has no entry point named '" + name +
                              "' (check the .entry name in the PTX; C++ names are mangled unless extern \"C\")");
  }
  Check(env, result, "cuModuleGetFunction", [&] { return "looking up entry point '" + name + "'"; });
  auto resource = std::make_shared<Resource>(ResourceKind::Function, module->device, module->context, function);
  resource->name = name;
  resource->module = module;
  ReadParams(*resource);
  return WrapResource(env, std::move(resource));
}

Napi::Value FunctionInfoJs(const Napi::CallbackInfo& info) {
  Args args(info, "functionInfo");
  std::shared_ptr<Resource> function = args.Handle(0, ResourceKind::Function, "function");
  Napi::Env env = args.Env();
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
  Export(env, exports, {
                           {"moduleLoad", ModuleLoadJs},
                           {"moduleUnload", ModuleUnloadJs},
                           {"getFunction", GetFunctionJs},
                           {"functionInfo", FunctionInfoJs},
                       });
}
