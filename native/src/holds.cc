#include "holds.h"

#include <atomic>

#include "driver.h"

namespace {

// An open batch no wait has collected after this long is sealed with an event: a stream whose
// work nobody waits for (or whose handle was dropped) still gets its holds back.
constexpr auto kSealAfter = std::chrono::milliseconds(50);
constexpr size_t kMaxOpenHolds = 256;
constexpr size_t kMaxSpareEvents = 16;

std::atomic<long long> heldBuffers{0};

}  // namespace

WorkBatch& WorkBatch::operator=(WorkBatch&& other) noexcept {
  if (this != &other) {
    End();
    Absorb(std::move(other));
  }
  return *this;
}

void WorkBatch::Use(std::shared_ptr<Resource> resource) {
  resource->inUse++;
  resources_.push_back(std::move(resource));
}

void WorkBatch::UseHost(const HostBuffer& buffer) {
  if (!buffer.value.IsObject()) return;
  buffers_.push_back(Napi::Persistent(buffer.value.As<Napi::Object>()));
  heldBuffers++;
  if (PinnedBlock* block = HoldPinned(buffer.base)) pinned_.push_back(block);
}

void WorkBatch::Absorb(WorkBatch&& other) {
  for (auto& resource : other.resources_) resources_.push_back(std::move(resource));
  for (auto& buffer : other.buffers_) buffers_.push_back(std::move(buffer));
  for (PinnedBlock* block : other.pinned_) pinned_.push_back(block);
  other.resources_.clear();
  other.buffers_.clear();
  other.pinned_.clear();
}

void WorkBatch::End() {
  for (auto& resource : resources_) {
    resource->inUse--;
    resource->ReleaseIfIdle();  // an explicit free or destroy that waited for this work
  }
  resources_.clear();  // and a handle collected meanwhile is released as its last owner goes
  heldBuffers -= static_cast<long long>(buffers_.size());
  buffers_.clear();
  for (PinnedBlock* block : pinned_) UnholdPinned(block);
  pinned_.clear();
}

void WorkBatch::Abandon() {
  for (auto& buffer : buffers_) buffer.SuppressDestruct();
  heldBuffers -= static_cast<long long>(buffers_.size());
  buffers_.clear();
  End();
}

void InitHolds(Napi::Env env) {
  env.SetInstanceData<WorkHolds>(new WorkHolds());
}

WorkHolds& WorkHolds::Of(Napi::Env env) {
  return *env.GetInstanceData<WorkHolds>();
}

WorkHolds::~WorkHolds() {
  // The environment is going away (its thread or the process ends): nothing will wait any more.
  for (auto& entry : open_) entry.second.batch.Abandon();
  for (auto& sealed : sealed_) sealed.batch.Abandon();
}

WorkBatch& WorkHolds::Open(const std::shared_ptr<Resource>& stream) {
  auto found = open_.find(stream.get());
  if (found == open_.end()) {
    OpenBatch fresh{WorkBatch(), std::chrono::steady_clock::now()};
    fresh.batch.Use(stream);
    found = open_.emplace(stream.get(), std::move(fresh)).first;
  }
  return found->second.batch;
}

WorkBatch WorkHolds::Take(Resource* stream) {
  WorkBatch taken;
  auto found = open_.find(stream);
  if (found == open_.end()) return taken;
  taken = std::move(found->second.batch);
  open_.erase(found);
  return taken;
}

void WorkHolds::Done(Resource* stream) {
  WorkBatch finished = Take(stream);
}

void WorkHolds::DoneOnContext(CUcontext context) {
  for (auto it = open_.begin(); it != open_.end();) {
    if (it->first->context != context) {
      ++it;
      continue;
    }
    WorkBatch finished = std::move(it->second.batch);
    it = open_.erase(it);
  }
}

void WorkHolds::Seal(Resource* stream) {
  WorkBatch batch = Take(stream);
  Seal(std::move(batch), stream->context, stream->Stream());
}

void WorkHolds::Seal(WorkBatch&& batch, CUcontext context, CUstream stream) {
  if (batch.Size() == 0) return;
  const DriverApi& cu = Cu();
  CUevent done = cu.cuCtxSetCurrent(context) == CUDA_SUCCESS ? TakeEvent(context) : nullptr;
  if (done != nullptr && cu.cuEventRecord(done, stream) == CUDA_SUCCESS) {
    sealed_.push_back({std::move(batch), context, done});
    return;
  }
  if (done != nullptr) ReturnEvent(context, done);
  // No event could be recorded (the context is failing): wait for the stream itself instead, so
  // nothing is released under work that may still run. A failed context returns at once.
  cu.cuStreamSynchronize(stream);
  WorkBatch finished = std::move(batch);
}

void WorkHolds::Poll() {
  const DriverApi& cu = Cu();
  for (size_t i = 0; i < sealed_.size();) {
    SealedBatch& sealed = sealed_[i];
    cu.cuCtxSetCurrent(sealed.context);
    // Anything but "not ready" ends the batch: done, or a failed context where nothing runs any more.
    if (cu.cuEventQuery(sealed.done) == CUDA_ERROR_NOT_READY) {
      i++;
      continue;
    }
    WorkBatch finished = std::move(sealed.batch);
    CUcontext context = sealed.context;
    CUevent done = sealed.done;
    sealed_.erase(sealed_.begin() + static_cast<std::ptrdiff_t>(i));
    ReturnEvent(context, done);
  }
  if (open_.empty()) return;
  auto now = std::chrono::steady_clock::now();
  std::vector<Resource*> stale;
  for (auto& entry : open_) {
    if (now - entry.second.opened >= kSealAfter || entry.second.batch.Size() >= kMaxOpenHolds) stale.push_back(entry.first);
  }
  for (Resource* stream : stale) Seal(stream);
}

CUevent WorkHolds::TakeEvent(CUcontext context) {
  for (size_t i = 0; i < spareEvents_.size(); i++) {
    if (spareEvents_[i].first != context) continue;
    CUevent event = spareEvents_[i].second;
    spareEvents_.erase(spareEvents_.begin() + static_cast<std::ptrdiff_t>(i));
    return event;
  }
  CUevent event = nullptr;
  return Cu().cuEventCreate(&event, CU_EVENT_DISABLE_TIMING) == CUDA_SUCCESS ? event : nullptr;
}

void WorkHolds::ReturnEvent(CUcontext context, CUevent event) {
  if (spareEvents_.size() < kMaxSpareEvents) {
    spareEvents_.emplace_back(context, event);
    return;
  }
  Cu().cuCtxSetCurrent(context);
  Cu().cuEventDestroy(event);
}

double LiveHeldHostBuffers() {
  return static_cast<double>(heldBuffers.load());
}
