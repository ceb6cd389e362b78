// Work that runs on a libuv worker thread and settles a promise on the JavaScript thread: waits
// for GPU work, and JIT compiles. Execute must not touch JavaScript; Settle runs on the JavaScript
// thread once Execute returned, and its result resolves the promise, or what it throws rejects it.
#pragma once

#include <napi.h>

class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, const char* resourceName)
      : Napi::AsyncWorker(env, resourceName), deferred_(Napi::Promise::Deferred::New(env)) {}

  // Queues the work and returns its promise. The worker deletes itself once settled.
  Napi::Promise Start() {
    Napi::Promise promise = deferred_.Promise();
    Queue();
    return promise;
  }

 protected:
  virtual Napi::Value Settle() = 0;

 private:
  void OnOK() override {
    try {
      deferred_.Resolve(Settle());
    } catch (const Napi::Error& error) {
      deferred_.Reject(error.Value());
    }
  }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

  Napi::Promise::Deferred deferred_;
};

// For the functions that return a promise: `start` checks and queues; a driver failure while
// starting (a structured error) reaches the caller as a rejected promise, like the work's own
// failures. Argument TypeErrors are thrown before this runs, so they stay synchronous.
template <typename Start>
Napi::Value PromiseOf(Napi::Env env, Start&& start) {
  try {
    return start();
  } catch (const Napi::Error& error) {
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
    deferred.Reject(error.Value());
    return deferred.Promise();
  }
}
