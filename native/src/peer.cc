// Peer access between devices: whether one device can read and write another's memory directly
// (NVLink or PCIe), how well, and switching it on and off.
#include <string>

#include "args.h"
#include "context.h"
#include "driver.h"
#include "errors.h"
#include "exports.h"
#include "messages.h"

namespace {

std::string Pair(int a, int b) {
  return "CUDA devices " + std::to_string(a) + " and " + std::to_string(b);
}

Napi::Value CanAccessPeerJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "canAccessPeer");
  int a = args.Device(0, "device");
  int b = args.Device(1, "peer");
  CUdevice da = DeviceHandle(env, a, "cuDeviceCanAccessPeer");
  CUdevice db = DeviceHandle(env, b, "cuDeviceCanAccessPeer");
  if (a == b) return Napi::Boolean::New(env, false);
  int can = 0;
  Check(env, Cu().cuDeviceCanAccessPeer(&can, da, db), "cuDeviceCanAccessPeer",
        [&] { return "asking whether peer access works between " + Pair(a, b); });
  return Napi::Boolean::New(env, can != 0);
}

Napi::Value P2PAttributesJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "p2pAttributes");
  int a = args.Device(0, "device");
  int b = args.Device(1, "peer");
  CUdevice da = DeviceHandle(env, a, "cuDeviceGetP2PAttribute");
  CUdevice db = DeviceHandle(env, b, "cuDeviceGetP2PAttribute");
  auto attribute = [&](int which) {
    int value = 0;
    if (a == b) return 0;  // the driver rejects a device paired with itself
    Check(env, Cu().cuDeviceGetP2PAttribute(&value, which, da, db), "cuDeviceGetP2PAttribute",
          [&] { return "reading peer attribute " + std::to_string(which) + " between " + Pair(a, b); });
    return value;
  };
  Napi::Object out = Napi::Object::New(env);
  out.Set("performanceRank", attribute(kP2PPerformanceRank));
  out.Set("accessSupported", attribute(kP2PAccessSupported) != 0);
  out.Set("nativeAtomicSupported", attribute(kP2PNativeAtomicSupported) != 0);
  out.Set("cudaArrayAccessSupported", attribute(kP2PCudaArrayAccessSupported) != 0);
  return out;
}

// Lets `device` access `peer`'s memory (one direction; call again swapped for both).
Napi::Value EnablePeerAccessJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "enablePeerAccess");
  int a = args.Device(0, "device");
  int b = args.Device(1, "peer");
  CUcontext peer = PrimaryContext(env, b, "cuCtxEnablePeerAccess");
  UseDevice(env, a, "cuCtxEnablePeerAccess");
  CUresult result = Cu().cuCtxEnablePeerAccess(peer, 0);
  // Already enabled is the state the caller asked for.
  constexpr CUresult kPeerAccessAlreadyEnabled = 704;
  if (result == kPeerAccessAlreadyEnabled) return Napi::Boolean::New(env, false);
  Check(env, result, "cuCtxEnablePeerAccess", [&] {
    return "enabling access from " + DeviceName(a) + " to the memory of " + DeviceName(b);
  });
  return Napi::Boolean::New(env, true);
}

Napi::Value DisablePeerAccessJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "disablePeerAccess");
  int a = args.Device(0, "device");
  int b = args.Device(1, "peer");
  CUcontext peer = PrimaryContext(env, b, "cuCtxDisablePeerAccess");
  UseDevice(env, a, "cuCtxDisablePeerAccess");
  CUresult result = Cu().cuCtxDisablePeerAccess(peer);
  constexpr CUresult kPeerAccessNotEnabled = 705;
  if (result == kPeerAccessNotEnabled) return Napi::Boolean::New(env, false);
  Check(env, result, "cuCtxDisablePeerAccess", [&] { return "disabling peer access between " + Pair(a, b); });
  return Napi::Boolean::New(env, true);
}

}  // namespace

void RegisterPeer(Napi::Env env, Napi::Object exports) {
  Export(env, exports, {
                           {"canAccessPeer", CanAccessPeerJs},
                           {"p2pAttributes", P2PAttributesJs},
                           {"enablePeerAccess", EnablePeerAccessJs},
                           {"disablePeerAccess", DisablePeerAccessJs},
                       });
}
