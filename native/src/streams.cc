// Streams, events and waiting. The *Async waits run on a libuv worker thread and settle a
// promise, so a long-running kernel never blocks the JavaScript thread; they wait on an event
// created with blocking sync, so the waiting thread sleeps instead of spinning on a core.
#include <memory>
#include <string>

#include "args.h"
#include "context.h"
#include "driver.h"
#include "errors.h"
#include "exports.h"
#include "handles.h"

namespace {

std::string OnDevice(int ordinal) {
  return " on CUDA device " + std::to_string(ordinal);
}

Napi::Value StreamCreateJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int ordinal = ArgDevice(info, 0, "streamCreate");
  Napi::Object options = ArgOptions(info, 1, "streamCreate");
  bool nonBlocking = OptionBool(options, "nonBlocking", false, "streamCreate");
  CUcontext context = UseDevice(env, ordinal, "cuStreamCreate");
  CUstream stream = nullptr;
  Check(env, Cu().cuStreamCreate(&stream, nonBlocking ? CU_STREAM_NON_BLOCKING : 0), "cuStreamCreate",
        [&] { return "creating a stream" + OnDevice(ordinal); });
  return WrapResource(env, std::make_shared<Resource>(ResourceKind::Stream, ordinal, context, stream));
}

Napi::Value StreamDestroyJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<Resource> stream = ArgResource(info, 0, ResourceKind::Stream, "streamDestroy", "stream");
  Check(env, stream->Destroy(), "cuStreamDestroy_v2", [&] { return "destroying a stream" + OnDevice(stream->device); });
  return env.Undefined();
}

Napi::Value StreamSynchronizeJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<Resource> stream = ArgResource(info, 0, ResourceKind::Stream, "streamSynchronize", "stream");
  MakeCurrent(env, stream->context);
  Check(env, Cu().cuStreamSynchronize(stream->Stream()), "cuStreamSynchronize",
        [&] { return "waiting for a stream" + OnDevice(stream->device); });
  return env.Undefined();
}

// true when all work queued on the stream has finished.
Napi::Value StreamQueryJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<Resource> stream = ArgResource(info, 0, ResourceKind::Stream, "streamQuery", "stream");
  MakeCurrent(env, stream->context);
  CUresult result = Cu().cuStreamQuery(stream->Stream());
  if (result == CUDA_ERROR_NOT_READY) return Napi::Boolean::New(env, false);
  Check(env, result, "cuStreamQuery", [&] { return "querying a stream" + OnDevice(stream->device); });
  return Napi::Boolean::New(env, true);
}

Napi::Value EventCreateJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int ordinal = ArgDevice(info, 0, "eventCreate");
  Napi::Object options = ArgOptions(info, 1, "eventCreate");
  bool timing = OptionBool(options, "timing", true, "eventCreate");
  bool blockingSync = OptionBool(options, "blockingSync", false, "eventCreate");
  CUcontext context = UseDevice(env, ordinal, "cuEventCreate");
  unsigned int flags = (timing ? 0 : CU_EVENT_DISABLE_TIMING) | (blockingSync ? CU_EVENT_BLOCKING_SYNC : 0);
  CUevent event = nullptr;
  Check(env, Cu().cuEventCreate(&event, flags), "cuEventCreate", [&] { return "creating an event" + OnDevice(ordinal); });
  return WrapResource(env, std::make_shared<Resource>(ResourceKind::Event, ordinal, context, event));
}

Napi::Value EventDestroyJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<Resource> event = ArgResource(info, 0, ResourceKind::Event, "eventDestroy", "event");
  Check(env, event->Destroy(), "cuEventDestroy_v2", [&] { return "destroying an event" + OnDevice(event->device); });
  return env.Undefined();
}

// Records the event on `stream`, or on the device's default stream when stream is null.
Napi::Value EventRecordJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "eventRecord";
  std::shared_ptr<Resource> event = ArgResource(info, 0, ResourceKind::Event, fn, "event");
  std::shared_ptr<Resource> stream = ArgOptionalResource(info, 1, ResourceKind::Stream, fn, "stream");
  if (stream != nullptr && stream->device != event->device) {
    throw StructuredError(env, "DEVICE_MISMATCH", -1, "cuEventRecord",
                          "eventRecord: the event belongs to CUDA device " + std::to_string(event->device) +
                              " but the stream to CUDA device " + std::to_string(stream->device));
  }
  MakeCurrent(env, event->context);
  Check(env, Cu().cuEventRecord(event->Event(), stream != nullptr ? stream->Stream() : nullptr), "cuEventRecord",
        [&] { return "recording an event" + OnDevice(event->device); });
  return env.Undefined();
}

Napi::Value EventSynchronizeJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<Resource> event = ArgResource(info, 0, ResourceKind::Event, "eventSynchronize", "event");
  MakeCurrent(env, event->context);
  Check(env, Cu().cuEventSynchronize(event->Event()), "cuEventSynchronize",
        [&] { return "waiting for an event" + OnDevice(event->device); });
  return env.Undefined();
}

Napi::Value EventQueryJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<Resource> event = ArgResource(info, 0, ResourceKind::Event, "eventQuery", "event");
  MakeCurrent(env, event->context);
  CUresult result = Cu().cuEventQuery(event->Event());
  if (result == CUDA_ERROR_NOT_READY) return Napi::Boolean::New(env, false);
  Check(env, result, "cuEventQuery", [&] { return "querying an event" + OnDevice(event->device); });
  return Napi::Boolean::New(env, true);
}

Napi::Value EventElapsedTimeJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<Resource> start = ArgResource(info, 0, ResourceKind::Event, "eventElapsedTime", "start");
  std::shared_ptr<Resource> end = ArgResource(info, 1, ResourceKind::Event, "eventElapsedTime", "end");
  MakeCurrent(env, start->context);
  float milliseconds = 0;
  Check(env, Cu().cuEventElapsedTime(&milliseconds, start->Event(), end->Event()), "cuEventElapsedTime",
        [&] { return "measuring the time between two events" + OnDevice(start->device); });
  return Napi::Number::New(env, milliseconds);
}

// Waits on a worker thread for a blocking-sync event recorded on the main thread, then settles the
// promise. `target` (the stream or event waited on) is kept alive and undestroyable meanwhile.
class WaitWorker : public Napi::AsyncWorker {
 public:
  WaitWorker(Napi::Env env, std::shared_ptr<Resource> target, CUcontext context, CUevent marker, bool ownsMarker,
             std::string what)
      : Napi::AsyncWorker(env, "ringkernel:cudaWait"),
        deferred_(Napi::Promise::Deferred::New(env)),
        target_(std::move(target)),
        context_(context),
        marker_(marker),
        ownsMarker_(ownsMarker),
        what_(std::move(what)) {
    if (target_ != nullptr) target_->pendingWaits++;
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    result_ = Cu().cuCtxSetCurrent(context_);
    if (result_ == CUDA_SUCCESS) result_ = Cu().cuEventSynchronize(marker_);
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (ownsMarker_) {
      Cu().cuCtxSetCurrent(context_);
      Cu().cuEventDestroy(marker_);
    }
    if (target_ != nullptr) {
      target_->pendingWaits--;
      target_->ReleaseIfIdle();
    }
    if (result_ == CUDA_SUCCESS) {
      deferred_.Resolve(env.Undefined());
    } else {
      deferred_.Reject(CudaError(env, result_, "cuEventSynchronize", what_).Value());
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<Resource> target_;
  CUcontext context_;
  CUevent marker_;
  bool ownsMarker_;
  std::string what_;
  CUresult result_ = CUDA_SUCCESS;
};

// A blocking-sync marker event recorded on `stream` (null: the device's default stream).
CUevent RecordMarker(Napi::Env env, CUstream stream, int ordinal) {
  CUevent marker = nullptr;
  Check(env, Cu().cuEventCreate(&marker, CU_EVENT_BLOCKING_SYNC | CU_EVENT_DISABLE_TIMING), "cuEventCreate",
        [&] { return "creating a wait marker" + OnDevice(ordinal); });
  CUresult result = Cu().cuEventRecord(marker, stream);
  if (result != CUDA_SUCCESS) {
    Cu().cuEventDestroy(marker);
    Check(env, result, "cuEventRecord", [&] { return "recording a wait marker" + OnDevice(ordinal); });
  }
  return marker;
}

// Driver failures reach an async caller as a rejected promise, like the wait's own failures.
Napi::Value Rejected(Napi::Env env, const Napi::Error& error) {
  Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
  deferred.Reject(error.Value());
  return deferred.Promise();
}

Napi::Value StreamSynchronizeAsyncJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<Resource> stream = ArgResource(info, 0, ResourceKind::Stream, "streamSynchronizeAsync", "stream");
  CUevent marker = nullptr;
  try {
    MakeCurrent(env, stream->context);
    marker = RecordMarker(env, stream->Stream(), stream->device);
  } catch (const Napi::Error& error) {
    return Rejected(env, error);
  }
  auto* worker = new WaitWorker(env, stream, stream->context, marker, true, "waiting for a stream" + OnDevice(stream->device));
  worker->Queue();
  return worker->Promise();
}

Napi::Value EventSynchronizeAsyncJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<Resource> event = ArgResource(info, 0, ResourceKind::Event, "eventSynchronizeAsync", "event");
  auto* worker = new WaitWorker(env, event, event->context, event->Event(), false,
                                "waiting for an event" + OnDevice(event->device));
  worker->Queue();
  return worker->Promise();
}

// Waits for everything queued so far on the device's default stream (and, as the legacy default
// stream synchronises with blocking streams, on those too).
Napi::Value DeviceSynchronizeAsyncJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int ordinal = ArgDevice(info, 0, "deviceSynchronizeAsync");
  CUcontext context = nullptr;
  CUevent marker = nullptr;
  try {
    context = UseDevice(env, ordinal, "cuEventSynchronize");
    marker = RecordMarker(env, nullptr, ordinal);
  } catch (const Napi::Error& error) {
    return Rejected(env, error);
  }
  auto* worker = new WaitWorker(env, nullptr, context, marker, true, "waiting for CUDA device " + std::to_string(ordinal));
  worker->Queue();
  return worker->Promise();
}

}  // namespace

void RegisterStreams(Napi::Env env, Napi::Object exports) {
  exports.Set("streamCreate", Napi::Function::New(env, StreamCreateJs, "streamCreate"));
  exports.Set("streamDestroy", Napi::Function::New(env, StreamDestroyJs, "streamDestroy"));
  exports.Set("streamSynchronize", Napi::Function::New(env, StreamSynchronizeJs, "streamSynchronize"));
  exports.Set("streamSynchronizeAsync", Napi::Function::New(env, StreamSynchronizeAsyncJs, "streamSynchronizeAsync"));
  exports.Set("streamQuery", Napi::Function::New(env, StreamQueryJs, "streamQuery"));
  exports.Set("eventCreate", Napi::Function::New(env, EventCreateJs, "eventCreate"));
  exports.Set("eventDestroy", Napi::Function::New(env, EventDestroyJs, "eventDestroy"));
  exports.Set("eventRecord", Napi::Function::New(env, EventRecordJs, "eventRecord"));
  exports.Set("eventSynchronize", Napi::Function::New(env, EventSynchronizeJs, "eventSynchronize"));
  exports.Set("eventSynchronizeAsync", Napi::Function::New(env, EventSynchronizeAsyncJs, "eventSynchronizeAsync"));
  exports.Set("eventQuery", Napi::Function::New(env, EventQueryJs, "eventQuery"));
  exports.Set("eventElapsedTime", Napi::Function::New(env, EventElapsedTimeJs, "eventElapsedTime"));
  exports.Set("deviceSynchronizeAsync", Napi::Function::New(env, DeviceSynchronizeAsyncJs, "deviceSynchronizeAsync"));
}
