// Streams, events and waiting. The *Async waits run on a libuv worker thread and settle a
// promise, so a long-running kernel never blocks the JavaScript thread; they wait on an event
// created with blocking sync, so the waiting thread sleeps instead of spinning on a core. A wait
// that saw a stream's work done ends what that work held (holds.h); so does any other sign that
// it is done (a synchronous wait, a query that says so).
#include <memory>
#include <string>

#include "args.h"
#include "context.h"
#include "driver.h"
#include "errors.h"
#include "exports.h"
#include "handles.h"
#include "holds.h"
#include "messages.h"
#include "promise_worker.h"

namespace {

std::string On(int ordinal) {
  return " on " + DeviceName(ordinal);
}

// true when the work is done, false while it runs; throws for a failure.
template <typename Context>
Napi::Boolean IsDone(Napi::Env env, CUresult result, const char* call, Context&& context) {
  if (result == CUDA_ERROR_NOT_READY) return Napi::Boolean::New(env, false);
  Check(env, result, call, context);
  return Napi::Boolean::New(env, true);
}

Napi::Value StreamCreateJs(const Napi::CallbackInfo& info) {
  Args args(info, "streamCreate");
  int ordinal = args.Device(0);
  bool nonBlocking = args.OptionsAt(1).Bool("nonBlocking", false);
  Napi::Env env = args.Env();
  CUcontext context = UseDevice(env, ordinal, "cuStreamCreate");
  CUstream stream = nullptr;
  Check(env, Cu().cuStreamCreate(&stream, nonBlocking ? CU_STREAM_NON_BLOCKING : 0), "cuStreamCreate",
        [&] { return "creating a stream" + On(ordinal); });
  return WrapResource(env, std::make_shared<Resource>(ResourceKind::Stream, ordinal, context, stream));
}

Napi::Value StreamDestroyJs(const Napi::CallbackInfo& info) {
  Args args(info, "streamDestroy");
  std::shared_ptr<Resource> stream = args.Handle(0, ResourceKind::Stream, "stream");
  // What its queued work holds is released once that work is done; the stream itself with it.
  WorkHolds::Of(args.Env()).Seal(stream.get());
  Check(args.Env(), stream->Destroy(), "cuStreamDestroy_v2", [&] { return "destroying a stream" + On(stream->device); });
  return args.Env().Undefined();
}

Napi::Value StreamSynchronizeJs(const Napi::CallbackInfo& info) {
  Args args(info, "streamSynchronize");
  std::shared_ptr<Resource> stream = args.Handle(0, ResourceKind::Stream, "stream");
  Napi::Env env = args.Env();
  MakeCurrent(env, stream->context);
  Check(env, Cu().cuStreamSynchronize(stream->Stream()), "cuStreamSynchronize",
        [&] { return "waiting for a stream" + On(stream->device); });
  WorkHolds& holds = WorkHolds::Of(env);
  holds.Done(stream.get());
  holds.Poll();
  return env.Undefined();
}

Napi::Value StreamQueryJs(const Napi::CallbackInfo& info) {
  Args args(info, "streamQuery");
  std::shared_ptr<Resource> stream = args.Handle(0, ResourceKind::Stream, "stream");
  Napi::Env env = args.Env();
  MakeCurrent(env, stream->context);
  Napi::Boolean done = IsDone(env, Cu().cuStreamQuery(stream->Stream()), "cuStreamQuery",
                            [&] { return "querying a stream" + On(stream->device); });
  WorkHolds& holds = WorkHolds::Of(env);
  if (done.Value()) holds.Done(stream.get());
  holds.Poll();
  return done;
}

Napi::Value EventCreateJs(const Napi::CallbackInfo& info) {
  Args args(info, "eventCreate");
  int ordinal = args.Device(0);
  Options options = args.OptionsAt(1);
  bool timing = options.Bool("timing", true);
  bool blockingSync = options.Bool("blockingSync", false);
  Napi::Env env = args.Env();
  CUcontext context = UseDevice(env, ordinal, "cuEventCreate");
  unsigned int flags = (timing ? 0 : CU_EVENT_DISABLE_TIMING) | (blockingSync ? CU_EVENT_BLOCKING_SYNC : 0);
  CUevent event = nullptr;
  Check(env, Cu().cuEventCreate(&event, flags), "cuEventCreate", [&] { return "creating an event" + On(ordinal); });
  return WrapResource(env, std::make_shared<Resource>(ResourceKind::Event, ordinal, context, event));
}

Napi::Value EventDestroyJs(const Napi::CallbackInfo& info) {
  Args args(info, "eventDestroy");
  std::shared_ptr<Resource> event = args.Handle(0, ResourceKind::Event, "event");
  Check(args.Env(), event->Destroy(), "cuEventDestroy_v2", [&] { return "destroying an event" + On(event->device); });
  return args.Env().Undefined();
}

// Records the event on `stream`, or on the device's default stream when stream is null.
Napi::Value EventRecordJs(const Napi::CallbackInfo& info) {
  Args args(info, "eventRecord");
  std::shared_ptr<Resource> event = args.Handle(0, ResourceKind::Event, "event");
  std::shared_ptr<Resource> stream = args.OptionalHandle(1, ResourceKind::Stream, "stream");
  Napi::Env env = args.Env();
  if (stream != nullptr) RequireStreamDevice(env, args.Fn(), "cuEventRecord", *stream, event->device, "the event");
  MakeCurrent(env, event->context);
  Check(env, Cu().cuEventRecord(event->Event(), stream != nullptr ? stream->Stream() : nullptr), "cuEventRecord",
        [&] { return "recording an event" + On(event->device); });
  return env.Undefined();
}

Napi::Value EventSynchronizeJs(const Napi::CallbackInfo& info) {
  Args args(info, "eventSynchronize");
  std::shared_ptr<Resource> event = args.Handle(0, ResourceKind::Event, "event");
  Napi::Env env = args.Env();
  MakeCurrent(env, event->context);
  Check(env, Cu().cuEventSynchronize(event->Event()), "cuEventSynchronize",
        [&] { return "waiting for an event" + On(event->device); });
  WorkHolds::Of(env).Poll();
  return env.Undefined();
}

Napi::Value EventQueryJs(const Napi::CallbackInfo& info) {
  Args args(info, "eventQuery");
  std::shared_ptr<Resource> event = args.Handle(0, ResourceKind::Event, "event");
  Napi::Env env = args.Env();
  MakeCurrent(env, event->context);
  Napi::Boolean done = IsDone(env, Cu().cuEventQuery(event->Event()), "cuEventQuery",
                            [&] { return "querying an event" + On(event->device); });
  WorkHolds::Of(env).Poll();
  return done;
}

Napi::Value EventElapsedTimeJs(const Napi::CallbackInfo& info) {
  Args args(info, "eventElapsedTime");
  std::shared_ptr<Resource> start = args.Handle(0, ResourceKind::Event, "start");
  std::shared_ptr<Resource> end = args.Handle(1, ResourceKind::Event, "end");
  Napi::Env env = args.Env();
  MakeCurrent(env, start->context);
  float milliseconds = 0;
  Check(env, Cu().cuEventElapsedTime(&milliseconds, start->Event(), end->Event()), "cuEventElapsedTime",
        [&] { return "measuring the time between two events" + On(start->device); });
  return Napi::Number::New(env, milliseconds);
}

// Waits on a worker thread for a blocking-sync event recorded on the JavaScript thread, then
// settles the promise. `holds` keeps what the waited-for work uses (and the stream or event waited
// on: destroying it meanwhile makes the handle unusable at once, and releases it when the wait ends).
class WaitWorker : public PromiseWorker {
 public:
  WaitWorker(Napi::Env env, WorkBatch holds, CUcontext context, CUevent marker, bool ownsMarker, std::string what)
      : PromiseWorker(env, "ringkernel:cudaWait"),
        holds_(std::move(holds)),
        context_(context),
        marker_(marker),
        ownsMarker_(ownsMarker),
        what_(std::move(what)) {}

  void Execute() override {
    result_ = Cu().cuCtxSetCurrent(context_);
    if (result_ == CUDA_SUCCESS) result_ = Cu().cuEventSynchronize(marker_);
  }

  Napi::Value Settle() override {
    Napi::Env env = Env();
    if (ownsMarker_) {
      Cu().cuCtxSetCurrent(context_);
      Cu().cuEventDestroy(marker_);
    }
    holds_.End();
    WorkHolds::Of(env).Poll();
    if (result_ != CUDA_SUCCESS) throw CudaError(env, result_, "cuEventSynchronize", what_);
    return env.Undefined();
  }

 private:
  WorkBatch holds_;
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
        [&] { return "creating a wait marker" + On(ordinal); });
  CUresult result = Cu().cuEventRecord(marker, stream);
  if (result != CUDA_SUCCESS) {
    Cu().cuEventDestroy(marker);
    Check(env, result, "cuEventRecord", [&] { return "recording a wait marker" + On(ordinal); });
  }
  return marker;
}

Napi::Value StreamSynchronizeAsyncJs(const Napi::CallbackInfo& info) {
  Args args(info, "streamSynchronizeAsync");
  std::shared_ptr<Resource> stream = args.Handle(0, ResourceKind::Stream, "stream");
  Napi::Env env = args.Env();
  return PromiseOf(env, [&] {
    MakeCurrent(env, stream->context);
    CUevent marker = RecordMarker(env, stream->Stream(), stream->device);
    // The marker follows all the work queued so far: once it completes, that work's holds can go.
    WorkBatch holds = WorkHolds::Of(env).Take(stream.get());
    holds.Use(stream);
    auto* worker = new WaitWorker(env, std::move(holds), stream->context, marker, true, "waiting for a stream" + On(stream->device));
    return worker->Start();
  });
}

Napi::Value EventSynchronizeAsyncJs(const Napi::CallbackInfo& info) {
  Args args(info, "eventSynchronizeAsync");
  std::shared_ptr<Resource> event = args.Handle(0, ResourceKind::Event, "event");
  Napi::Env env = args.Env();
  WorkBatch holds;
  holds.Use(event);
  auto* worker = new WaitWorker(env, std::move(holds), event->context, event->Event(), false, "waiting for an event" + On(event->device));
  return worker->Start();
}

Napi::Value DeviceSynchronizeJs(const Napi::CallbackInfo& info) {
  Args args(info, "deviceSynchronize");
  int ordinal = args.Device(0);
  Napi::Env env = args.Env();
  CUcontext context = UseDevice(env, ordinal, "cuCtxSynchronize");
  Check(env, Cu().cuCtxSynchronize(), "cuCtxSynchronize", [&] { return "waiting for all work on " + DeviceName(ordinal); });
  WorkHolds& holds = WorkHolds::Of(env);
  holds.DoneOnContext(context);  // every stream of the device is idle
  holds.Poll();
  return env.Undefined();
}

// Waits for everything queued so far on the device's default stream (and, as the legacy default
// stream synchronises with blocking streams, on those too; non-blocking streams are not waited for).
Napi::Value DeviceSynchronizeAsyncJs(const Napi::CallbackInfo& info) {
  Args args(info, "deviceSynchronizeAsync");
  int ordinal = args.Device(0);
  Napi::Env env = args.Env();
  return PromiseOf(env, [&] {
    CUcontext context = UseDevice(env, ordinal, "cuEventSynchronize");
    CUevent marker = RecordMarker(env, nullptr, ordinal);
    auto* worker = new WaitWorker(env, WorkBatch(), context, marker, true, "waiting for " + DeviceName(ordinal));
    return worker->Start();
  });
}

}  // namespace

void RegisterStreams(Napi::Env env, Napi::Object exports) {
  Export(env, exports, {
                           {"streamCreate", StreamCreateJs},
                           {"streamDestroy", StreamDestroyJs},
                           {"streamSynchronize", StreamSynchronizeJs},
                           {"streamSynchronizeAsync", StreamSynchronizeAsyncJs},
                           {"streamQuery", StreamQueryJs},
                           {"eventCreate", EventCreateJs},
                           {"eventDestroy", EventDestroyJs},
                           {"eventRecord", EventRecordJs},
                           {"eventSynchronize", EventSynchronizeJs},
                           {"eventSynchronizeAsync", EventSynchronizeAsyncJs},
                           {"eventQuery", EventQueryJs},
                           {"eventElapsedTime", EventElapsedTimeJs},
                           {"deviceSynchronize", DeviceSynchronizeJs},
                           {"deviceSynchronizeAsync", DeviceSynchronizeAsyncJs},
                       });
}
