// Keeps what queued GPU work uses alive until that work is done. The driver reads a host buffer
// of an asynchronous copy, and the kernel reads its allocations, some time after the call that
// queued them returned; meanwhile the JavaScript side may drop its last reference, free the
// allocation or unload the module. So each piece of queued work holds:
// - the device resources it uses (allocations, the kernel and its module, the stream): an
//   explicit free, unload or destroy makes the handle unusable at once but releases the driver
//   object only when the hold ends (Resource::inUse), and a collected handle's release waits too;
// - the host buffers it reads or writes, by a strong reference (the collector cannot take them),
//   and for pinned buffers their pages (memFreeHost detaches at once and frees them later).
//
// Holds gather per stream in an open batch. A wait on the stream (streamSynchronizeAsync) takes
// the batch and ends it once the wait saw the work done; a stream found idle (streamSynchronize,
// streamQuery, deviceSynchronize) ends its batch at once. A batch no wait collects within a moment
// (or that grows large, or whose stream is destroyed) is sealed: an event recorded behind its work,
// and the batch ends when a later poll finds the event complete. Holds only ever end late, never
// early: a seal recorded after more work completes after that work.
#pragma once

#include <napi.h>

#include <chrono>
#include <memory>
#include <unordered_map>
#include <vector>

#include "args.h"
#include "context.h"
#include "cuda_types.h"
#include "errors.h"
#include "handles.h"
#include "pinned_memory.h"

class WorkBatch {
 public:
  WorkBatch() = default;
  WorkBatch(WorkBatch&&) = default;
  WorkBatch& operator=(WorkBatch&& other) noexcept;
  WorkBatch(const WorkBatch&) = delete;
  WorkBatch& operator=(const WorkBatch&) = delete;
  // Ending a batch (on the JavaScript thread, once its work is done) releases everything it held.
  ~WorkBatch() { End(); }

  void Use(std::shared_ptr<Resource> resource);
  void Use(const DeviceRange& range) { Use(range.allocation); }
  void UseHost(const HostBuffer& buffer);
  // Moves another batch's holds into this one.
  void Absorb(WorkBatch&& other);
  size_t Size() const { return resources_.size() + buffers_.size(); }
  void End();
  // At environment teardown: drops the JavaScript references without calling into a dying env.
  void Abandon();

 private:
  std::vector<std::shared_ptr<Resource>> resources_;
  std::vector<Napi::ObjectReference> buffers_;
  std::vector<PinnedBlock*> pinned_;
};

class WorkHolds {
 public:
  // The holds of one JavaScript environment (thread); created by InitHolds.
  static WorkHolds& Of(Napi::Env env);
  ~WorkHolds();

  // The open batch of `stream`'s queued work (the stream itself is held by it).
  WorkBatch& Open(const std::shared_ptr<Resource>& stream);
  // The open batch of `stream`, taken away: a wait that just queued its marker ends it.
  WorkBatch Take(Resource* stream);
  // All queued work on `stream` (or on every stream of `context`) is done.
  void Done(Resource* stream);
  void DoneOnContext(CUcontext context);
  // Seals `stream`'s open batch now (its stream is being destroyed), or a batch of work just
  // queued on `stream` (nullptr: the legacy default stream of `context`).
  void Seal(Resource* stream);
  void Seal(WorkBatch&& batch, CUcontext context, CUstream stream);
  // Ends sealed batches whose work is done and seals open batches that waited long enough.
  void Poll();

  // Batches (open or sealed) whose work this environment has not seen finish yet.
  size_t Batches() const { return open_.size() + sealed_.size(); }

 private:
  struct OpenBatch {
    WorkBatch batch;
    std::chrono::steady_clock::time_point opened;
  };
  struct SealedBatch {
    WorkBatch batch;
    CUcontext context;
    CUevent done;
  };

  CUevent TakeEvent(CUcontext context);
  void ReturnEvent(CUcontext context, CUevent event);

  std::unordered_map<Resource*, OpenBatch> open_;
  std::vector<SealedBatch> sealed_;
  std::vector<std::pair<CUcontext, CUevent>> spareEvents_;
};

// Queues work on `stream`: `enqueue` makes the driver call (checked as `call`, `context` saying what
// on failure) with the stream's context current. Returns the stream's open batch, where the caller
// holds what the queued work uses.
template <typename Enqueue, typename Context>
WorkBatch& QueueOn(Napi::Env env, const std::shared_ptr<Resource>& stream, const char* call, Enqueue&& enqueue,
                   Context&& context) {
  WorkHolds& holds = WorkHolds::Of(env);
  holds.Poll();
  MakeCurrent(env, stream->context);
  Check(env, enqueue(), call, context);
  return holds.Open(stream);
}

// Called once per environment from the addon's Init.
void InitHolds(Napi::Env env);

// Host buffers held by queued work in this process.
double LiveHeldHostBuffers();
