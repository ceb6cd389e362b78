// NVML queries: identity, memory, NUMA node, NVLink per link (with the remote end's PCI id and
// kind, which tells an NVSwitch from a direct GPU link) and the PCIe common ancestor of two GPUs.
// Anything this NVML cannot answer is listed in `unavailable`, never a crash.
#include <string>

#include "args.h"
#include "errors.h"
#include "exports.h"
#include "messages.h"
#include "nvml_loader.h"
#include "pci_bus_id.h"

namespace {

void RequireNvml(Napi::Env env, const char* call) {
  const NvmlStatus& status = LoadNvml();
  if (status.available) return;
  throw StructuredError(env, status.errorName, status.errorCode, call,
                        std::string("NVML is unavailable, so ") + call + " cannot run: " + status.reason);
}

template <typename Fn>
Fn RequireEntry(Napi::Env env, Fn entry, const char* name) {
  if (entry == nullptr) {
    throw StructuredError(env, "ENTRY_POINT_MISSING", -1, name,
                          std::string("this NVML (") + LoadNvml().libraryPath + ") has no " + name +
                              "; update the NVIDIA driver");
  }
  return entry;
}

Napi::Error NvmlError(Napi::Env env, nvmlReturn_t result, const char* call, const std::string& context) {
  return StructuredError(env, NvmlErrorName(result), result, call, context + ": " + NvmlErrorText(result) + " (" + call + ")");
}

template <typename Context>
void CheckNvml(Napi::Env env, nvmlReturn_t result, const char* call, Context&& context) {
  if (result != NVML_SUCCESS) throw NvmlError(env, result, call, context());
}

Napi::Value NvmlStatusJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const NvmlStatus& status = LoadNvml();
  const NvmlApi& nvml = Nvml();
  Napi::Object out = Napi::Object::New(env);
  out.Set("available", status.available);
  out.Set("library", status.library);
  if (!status.libraryPath.empty()) out.Set("libraryPath", status.libraryPath);
  if (status.initMs > 0) out.Set("initMs", status.initMs);
  if (!status.available) {
    out.Set("reason", status.reason);
    Napi::Object error = Napi::Object::New(env);
    error.Set("name", status.errorName);
    error.Set("code", status.errorCode);
    error.Set("call", status.errorCall);
    out.Set("error", error);
  } else {
    char version[kNvmlVersionBytes] = {0};
    if (nvml.nvmlSystemGetDriverVersion != nullptr &&
        nvml.nvmlSystemGetDriverVersion(version, sizeof version) == NVML_SUCCESS) {
      out.Set("driverVersion", std::string(version));
    }
    char nvmlVersion[kNvmlVersionBytes] = {0};
    if (nvml.nvmlSystemGetNVMLVersion != nullptr &&
        nvml.nvmlSystemGetNVMLVersion(nvmlVersion, sizeof nvmlVersion) == NVML_SUCCESS) {
      out.Set("nvmlVersion", std::string(nvmlVersion));
    }
    unsigned int count = 0;
    if (nvml.nvmlDeviceGetCount_v2 != nullptr && nvml.nvmlDeviceGetCount_v2(&count) == NVML_SUCCESS) {
      out.Set("deviceCount", count);
    }
  }
  Napi::Array missing = Napi::Array::New(env, status.missing.size());
  for (size_t i = 0; i < status.missing.size(); i++) missing.Set(static_cast<uint32_t>(i), status.missing[i]);
  out.Set("missingEntryPoints", missing);
  return out;
}

// Checks that argument `index` names an NVML device: an index (a number) or a PCI bus id (a string).
void CheckNvmlRef(const Args& args, size_t index, const char* name) {
  Napi::Value value = args.At(index);
  if (!value.IsNumber() && !value.IsString()) {
    throw args.Error(std::string(name) + " must be an NVML device index or a PCI bus id string, got " + Describe(value));
  }
}

// A device by NVML index (a number) or by PCI bus id (a string, either NVML's or CUDA's form).
nvmlDevice_t ArgNvmlDevice(const Args& args, size_t index, const char* name) {
  CheckNvmlRef(args, index, name);
  Napi::Env env = args.Env();
  Napi::Value value = args.At(index);
  if (value.IsString()) {
    std::string busId = value.As<Napi::String>().Utf8Value();
    RequireNvml(env, "nvmlDeviceGetHandleByPciBusId_v2");
    auto byBusId = RequireEntry(env, Nvml().nvmlDeviceGetHandleByPciBusId_v2, "nvmlDeviceGetHandleByPciBusId_v2");
    nvmlDevice_t device = nullptr;
    nvmlReturn_t result = byBusId(busId.c_str(), &device);
    if (result != NVML_SUCCESS) {
      // NVML's own form has an 8-digit domain; CUDA's (and ours) a 4-digit one.
      std::string wide = WidePciBusId(busId);
      if (!wide.empty() && byBusId(wide.c_str(), &device) == NVML_SUCCESS) return device;
    }
    CheckNvml(env, result, "nvmlDeviceGetHandleByPciBusId_v2", [&] { return "finding the GPU at PCI bus id " + busId; });
    return device;
  }
  uint32_t ordinal = static_cast<uint32_t>(args.Device(index, name));
  RequireNvml(env, "nvmlDeviceGetHandleByIndex_v2");
  auto byIndex = RequireEntry(env, Nvml().nvmlDeviceGetHandleByIndex_v2, "nvmlDeviceGetHandleByIndex_v2");
  nvmlDevice_t device = nullptr;
  CheckNvml(env, byIndex(ordinal, &device), "nvmlDeviceGetHandleByIndex_v2",
            [&] { return "opening NVML device " + std::to_string(ordinal); });
  return device;
}

const char* RemoteTypeName(int type) {
  switch (type) {
    case NVML_NVLINK_DEVICE_TYPE_GPU: return "GPU";
    case NVML_NVLINK_DEVICE_TYPE_IBMNPU: return "IBMNPU";
    case NVML_NVLINK_DEVICE_TYPE_SWITCH: return "SWITCH";
    default: return "UNKNOWN";
  }
}

Napi::Object NvLinks(Napi::Env env, nvmlDevice_t device, Napi::Array unavailable) {
  const NvmlApi& nvml = Nvml();
  Napi::Object out = Napi::Object::New(env);
  Napi::Array links = Napi::Array::New(env);
  out.Set("links", links);
  auto note = [&](const std::string& text) { unavailable.Set(unavailable.Length(), text); };
  if (nvml.nvmlDeviceGetNvLinkState == nullptr) {
    out.Set("supported", false);
    note("nvlink: nvmlDeviceGetNvLinkState is missing");
    return out;
  }
  bool supported = false;
  for (unsigned int link = 0; link < NVML_NVLINK_MAX_LINKS; link++) {
    int state = 0;
    nvmlReturn_t result = nvml.nvmlDeviceGetNvLinkState(device, link, &state);
    // NOT_SUPPORTED on every link means no NVLink; on some links, that those links do not exist.
    if (result == NVML_ERROR_NOT_SUPPORTED || result == NVML_ERROR_INVALID_ARGUMENT) continue;
    if (result != NVML_SUCCESS) {
      note("nvlink " + std::to_string(link) + ": " + NvmlErrorText(result));
      continue;
    }
    supported = true;
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("link", link);
    entry.Set("active", state != 0);
    unsigned int version = 0;
    bool haveVersion = nvml.nvmlDeviceGetNvLinkVersion != nullptr &&
                       nvml.nvmlDeviceGetNvLinkVersion(device, link, &version) == NVML_SUCCESS;
    entry.Set("version", haveVersion ? Napi::Value(Napi::Number::New(env, version)) : env.Null());
    Napi::Value remoteBusId = env.Null();
    Napi::Value remoteType = env.Null();
    if (state != 0) {
      nvmlPciInfo_t pci{};
      if (nvml.nvmlDeviceGetNvLinkRemotePciInfo_v2 != nullptr) {
        nvmlReturn_t pciResult = nvml.nvmlDeviceGetNvLinkRemotePciInfo_v2(device, link, &pci);
        if (pciResult == NVML_SUCCESS) {
          remoteBusId = Napi::String::New(env, NormalizePciBusId(pci.busId));
        } else {
          note("nvlink " + std::to_string(link) + " remote PCI info: " + NvmlErrorText(pciResult));
        }
      }
      int type = -1;
      if (nvml.nvmlDeviceGetNvLinkRemoteDeviceType != nullptr) {
        nvmlReturn_t typeResult = nvml.nvmlDeviceGetNvLinkRemoteDeviceType(device, link, &type);
        if (typeResult == NVML_SUCCESS) {
          remoteType = Napi::String::New(env, RemoteTypeName(type));
        } else {
          note("nvlink " + std::to_string(link) + " remote device type: " + NvmlErrorText(typeResult));
        }
      }
    }
    entry.Set("remotePciBusId", remoteBusId);
    entry.Set("remoteDeviceType", remoteType);
    links.Set(links.Length(), entry);
  }
  out.Set("supported", supported);
  if (nvml.nvmlDeviceGetNvLinkRemotePciInfo_v2 == nullptr) note("nvlink: nvmlDeviceGetNvLinkRemotePciInfo_v2 is missing");
  if (nvml.nvmlDeviceGetNvLinkRemoteDeviceType == nullptr) {
    note("nvlink: nvmlDeviceGetNvLinkRemoteDeviceType is missing (NVSwitch links cannot be told from GPU links)");
  }
  return out;
}

Napi::Value NvmlDeviceInfoJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nvmlDevice_t device = ArgNvmlDevice(Args(info, "nvmlDeviceInfo"), 0, "device");
  const NvmlApi& nvml = Nvml();
  Napi::Object out = Napi::Object::New(env);
  Napi::Array unavailable = Napi::Array::New(env);
  auto note = [&](const std::string& text) { unavailable.Set(unavailable.Length(), text); };

  unsigned int index = 0;
  bool haveIndex = nvml.nvmlDeviceGetIndex != nullptr && nvml.nvmlDeviceGetIndex(device, &index) == NVML_SUCCESS;
  out.Set("index", haveIndex ? Napi::Value(Napi::Number::New(env, index)) : env.Null());

  char name[kNvmlNameBytes] = {0};
  CheckNvml(env, RequireEntry(env, nvml.nvmlDeviceGetName, "nvmlDeviceGetName")(device, name, sizeof name),
            "nvmlDeviceGetName", [] { return std::string("reading a GPU's name"); });
  out.Set("name", std::string(name));
  char uuid[kNvmlUuidBytes] = {0};
  CheckNvml(env, RequireEntry(env, nvml.nvmlDeviceGetUUID, "nvmlDeviceGetUUID")(device, uuid, sizeof uuid),
            "nvmlDeviceGetUUID", [&] { return std::string("reading the UUID of ") + name; });
  out.Set("uuid", std::string(uuid));
  nvmlPciInfo_t pci{};
  CheckNvml(env, RequireEntry(env, nvml.nvmlDeviceGetPciInfo_v3, "nvmlDeviceGetPciInfo_v3")(device, &pci),
            "nvmlDeviceGetPciInfo_v3", [&] { return std::string("reading the PCI location of ") + name; });
  out.Set("pciBusId", NormalizePciBusId(pci.busId));
  Napi::Object pciOut = Napi::Object::New(env);
  pciOut.Set("domain", pci.domain);
  pciOut.Set("bus", pci.bus);
  pciOut.Set("device", pci.device);
  pciOut.Set("pciDeviceId", pci.pciDeviceId);
  out.Set("pci", pciOut);

  nvmlMemory_t memory{};
  if (nvml.nvmlDeviceGetMemoryInfo == nullptr) {
    note("memory: nvmlDeviceGetMemoryInfo is missing");
    out.Set("memory", env.Null());
  } else if (nvmlReturn_t result = nvml.nvmlDeviceGetMemoryInfo(device, &memory); result != NVML_SUCCESS) {
    note("memory: " + NvmlErrorText(result));
    out.Set("memory", env.Null());
  } else {
    Napi::Object memoryOut = Napi::Object::New(env);
    memoryOut.Set("total", static_cast<double>(memory.total));
    memoryOut.Set("free", static_cast<double>(memory.free));
    memoryOut.Set("used", static_cast<double>(memory.used));
    out.Set("memory", memoryOut);
  }

  unsigned int numaNode = 0;
  if (nvml.nvmlDeviceGetNumaNodeId == nullptr) {
    note("numaNode: nvmlDeviceGetNumaNodeId is missing");
    out.Set("numaNode", env.Null());
  } else if (nvmlReturn_t result = nvml.nvmlDeviceGetNumaNodeId(device, &numaNode); result != NVML_SUCCESS) {
    note("numaNode: " + NvmlErrorText(result));
    out.Set("numaNode", env.Null());
  } else {
    out.Set("numaNode", numaNode);
  }

  out.Set("nvlink", NvLinks(env, device, unavailable));
  out.Set("unavailable", unavailable);
  return out;
}

const char* TopologyLevelName(int level) {
  switch (level) {
    case NVML_TOPOLOGY_INTERNAL: return "INTERNAL";
    case NVML_TOPOLOGY_SINGLE: return "SINGLE";
    case NVML_TOPOLOGY_MULTIPLE: return "MULTIPLE";
    case NVML_TOPOLOGY_HOSTBRIDGE: return "HOSTBRIDGE";
    case NVML_TOPOLOGY_NODE: return "NODE";
    case NVML_TOPOLOGY_SYSTEM: return "SYSTEM";
    default: return "UNKNOWN";
  }
}

Napi::Value NvmlTopologyCommonAncestorJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "nvmlTopologyCommonAncestor");
  // Both are checked before either is opened: a wrong b is a TypeError even without NVML.
  CheckNvmlRef(args, 0, "a");
  CheckNvmlRef(args, 1, "b");
  nvmlDevice_t a = ArgNvmlDevice(args, 0, "a");
  nvmlDevice_t b = ArgNvmlDevice(args, 1, "b");
  auto common = RequireEntry(env, Nvml().nvmlDeviceGetTopologyCommonAncestor, "nvmlDeviceGetTopologyCommonAncestor");
  int level = -1;
  CheckNvml(env, common(a, b, &level), "nvmlDeviceGetTopologyCommonAncestor",
            [] { return std::string("finding the common PCIe ancestor of two GPUs"); });
  return Napi::String::New(env, TopologyLevelName(level));
}

}  // namespace

void RegisterNvml(Napi::Env env, Napi::Object exports) {
  Export(env, exports, {
                           {"nvmlStatus", NvmlStatusJs},
                           {"nvmlDeviceInfo", NvmlDeviceInfoJs},
                           {"nvmlTopologyCommonAncestor", NvmlTopologyCommonAncestorJs},
                       });
}
