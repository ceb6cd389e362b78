// CUDA IPC: a device allocation exported by one process as a 64-byte handle (ipcGetMemHandle) and
// mapped into another (ipcOpenMemHandle), so two device hosts, each a process with its own CUDA
// context, copy a kernel's state device to device with memcpyDtoDAsync (same GPU) or
// memcpyPeerAsync (another GPU). A mapping is an allocation handle of its own: copies take it like
// any allocation, queued work holds it (holds.h), and ipcCloseMemHandle (or the collector) unmaps it
// once that work is done. It is never freed here: the memory stays the exporter's.
#include <cstring>
#include <string>

#include "args.h"
#include "context.h"
#include "driver.h"
#include "errors.h"
#include "exports.h"
#include "handles.h"
#include "holds.h"
#include "messages.h"

namespace {

// The IPC entry points are optional (a driver may lack them: Windows in WDDM mode has no CUDA IPC).
// The driver is loaded first: before that every entry point reads as missing.
template <typename Entry>
void RequireEntry(Napi::Env env, Entry DriverApi::*member, const char* call) {
  RequireDriver(env, call);
  if (Cu().*member != nullptr) return;
  throw StructuredError(env, "ENTRY_POINT_MISSING", -1, call,
                        std::string("this NVIDIA driver has no ") + call +
                            "; CUDA IPC (device-to-device copies between processes) is unavailable here");
}

// The allocation's 64-byte IPC handle. Only a whole allocation of this process can be exported.
Napi::Value IpcGetMemHandleJs(const Napi::CallbackInfo& info) {
  Args args(info, "ipcGetMemHandle");
  std::shared_ptr<Resource> allocation = args.Handle(0, ResourceKind::Allocation, "allocation");
  Napi::Env env = args.Env();
  RequireEntry(env, &DriverApi::cuIpcGetMemHandle, "cuIpcGetMemHandle");
  if (allocation->ipc) throw args.Error("the allocation is another process's memory mapped here; only the owner can export it");
  MakeCurrent(env, allocation->context);
  CUipcMemHandle handle{};
  Check(env, Cu().cuIpcGetMemHandle(&handle, allocation->address), "cuIpcGetMemHandle", [&] {
    return "exporting " + ByteCount(allocation->bytes) + " at " + Hex(allocation->address) + " on " +
           DeviceName(allocation->device) + " for another process";
  });
  Napi::Uint8Array bytes = Napi::Uint8Array::New(env, kIpcHandleBytes);
  std::memcpy(bytes.Data(), handle.reserved, kIpcHandleBytes);
  return bytes;
}

// Refuses a mapping smaller than the caller expects (a handle of another allocation, say), before
// any copy could run past its end. Drivers without cuMemGetAddressRange skip the check.
void CheckMappedSize(Napi::Env env, CUdeviceptr address, size_t bytes, int device) {
  if (Cu().cuMemGetAddressRange == nullptr) return;
  CUdeviceptr base = 0;
  size_t size = 0;
  if (Cu().cuMemGetAddressRange(&base, &size, address) != CUDA_SUCCESS || address - base + bytes <= size) return;
  Cu().cuIpcCloseMemHandle(address);
  throw StructuredError(env, "CUDA_ERROR_INVALID_VALUE", CUDA_ERROR_INVALID_VALUE, "cuIpcOpenMemHandle_v2",
                        "ipcOpenMemHandle: the handle maps " + ByteCount(size - (address - base)) + " of " +
                            DeviceName(device) + ", fewer than the " + ByteCount(bytes) + " expected");
}

// ipcOpenMemHandle(device, handle, bytes, sourceDevice = device): maps another process's allocation
// into `device`'s context (enabling peer access lazily when it lives on `sourceDevice`, another GPU).
Napi::Value IpcOpenMemHandleJs(const Napi::CallbackInfo& info) {
  Args args(info, "ipcOpenMemHandle");
  int device = args.Device(0);
  HostBuffer given = args.Host(1, "handle");
  size_t bytes = args.PositiveBytes(2, "bytes");
  int source = info.Length() > 3 && !info[3].IsUndefined() ? args.Device(3, "sourceDevice") : device;
  Napi::Env env = args.Env();
  if (given.length != kIpcHandleBytes)
    throw args.Error("handle must be the " + std::to_string(kIpcHandleBytes) + " bytes ipcGetMemHandle returned, got " +
                     ByteCount(given.length));
  const char* call = "cuIpcOpenMemHandle_v2";
  RequireEntry(env, &DriverApi::cuIpcOpenMemHandle, call);
  RequireEntry(env, &DriverApi::cuIpcCloseMemHandle, "cuIpcCloseMemHandle");
  // The source's context is the one a peer copy names as its source; on one GPU it is the same.
  CUcontext sourceContext = PrimaryContext(env, source, call);
  CUcontext context = UseDevice(env, device, call);
  CUipcMemHandle handle{};
  std::memcpy(handle.reserved, given.data, kIpcHandleBytes);
  CUdeviceptr address = 0;
  Check(env, Cu().cuIpcOpenMemHandle(&address, handle, CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS), call, [&] {
    return "opening an IPC memory handle of " + ByteCount(bytes) + " on " + DeviceName(device) +
           " (is it a handle ipcGetMemHandle made in another process whose allocation is still alive? A process "
           "cannot open its own handles)";
  });
  CheckMappedSize(env, address, bytes, device);
  return WrapResource(env, Resource::IpcMapping(source, sourceContext, context, address, bytes));
}

// Unmaps now, or once queued work that reads the mapping is done; the handle is unusable at once.
Napi::Value IpcCloseMemHandleJs(const Napi::CallbackInfo& info) {
  Args args(info, "ipcCloseMemHandle");
  std::shared_ptr<Resource> mapping = args.Handle(0, ResourceKind::Allocation, "mapping");
  Napi::Env env = args.Env();
  if (!mapping->ipc) throw args.Error("the allocation is this process's own, not an IPC mapping; free it with memFree");
  WorkHolds::Of(env).Poll();
  Check(env, mapping->Destroy(), "cuIpcCloseMemHandle", [&] {
    return "closing the IPC mapping of " + ByteCount(mapping->bytes) + " at " + Hex(mapping->address);
  });
  return env.Undefined();
}

}  // namespace

void RegisterIpc(Napi::Env env, Napi::Object exports) {
  Export(env, exports, {
                           {"ipcGetMemHandle", IpcGetMemHandleJs},
                           {"ipcOpenMemHandle", IpcOpenMemHandleJs},
                           {"ipcCloseMemHandle", IpcCloseMemHandleJs},
                       });
}
