// The NVML types, constants and signatures this addon uses, declared here so it builds without
// nvml.h. Layouts match the NVML ABI of the named (versioned) symbols.
#pragma once

using nvmlReturn_t = int;
using nvmlDevice_t = struct nvmlDevice_st*;

constexpr nvmlReturn_t NVML_SUCCESS = 0;
constexpr nvmlReturn_t NVML_ERROR_INVALID_ARGUMENT = 2;
constexpr nvmlReturn_t NVML_ERROR_NOT_SUPPORTED = 3;
constexpr nvmlReturn_t NVML_ERROR_NOT_FOUND = 6;
constexpr nvmlReturn_t NVML_ERROR_FUNCTION_NOT_FOUND = 13;

constexpr unsigned int NVML_NVLINK_MAX_LINKS = 18;
constexpr unsigned int kNvmlNameBytes = 96;
constexpr unsigned int kNvmlUuidBytes = 96;
constexpr unsigned int kNvmlVersionBytes = 80;

struct nvmlPciInfo_t {
  char busIdLegacy[16];
  unsigned int domain;
  unsigned int bus;
  unsigned int device;
  unsigned int pciDeviceId;
  unsigned int pciSubSystemId;
  char busId[32];
};

struct nvmlMemory_t {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};

// nvmlIntNvLinkDeviceType_t
constexpr int NVML_NVLINK_DEVICE_TYPE_GPU = 0;
constexpr int NVML_NVLINK_DEVICE_TYPE_IBMNPU = 1;
constexpr int NVML_NVLINK_DEVICE_TYPE_SWITCH = 2;

// nvmlGpuTopologyLevel_t
constexpr int NVML_TOPOLOGY_INTERNAL = 0;
constexpr int NVML_TOPOLOGY_SINGLE = 10;
constexpr int NVML_TOPOLOGY_MULTIPLE = 20;
constexpr int NVML_TOPOLOGY_HOSTBRIDGE = 30;
constexpr int NVML_TOPOLOGY_NODE = 40;
constexpr int NVML_TOPOLOGY_SYSTEM = 50;

using PFN_nvmlInit_v2 = nvmlReturn_t (*)();
using PFN_nvmlErrorString = const char* (*)(nvmlReturn_t result);
using PFN_nvmlSystemGetDriverVersion = nvmlReturn_t (*)(char* version, unsigned int length);
using PFN_nvmlSystemGetNVMLVersion = nvmlReturn_t (*)(char* version, unsigned int length);
using PFN_nvmlDeviceGetCount_v2 = nvmlReturn_t (*)(unsigned int* count);
using PFN_nvmlDeviceGetHandleByIndex_v2 = nvmlReturn_t (*)(unsigned int index, nvmlDevice_t* device);
using PFN_nvmlDeviceGetHandleByPciBusId_v2 = nvmlReturn_t (*)(const char* busId, nvmlDevice_t* device);
using PFN_nvmlDeviceGetIndex = nvmlReturn_t (*)(nvmlDevice_t device, unsigned int* index);
using PFN_nvmlDeviceGetName = nvmlReturn_t (*)(nvmlDevice_t device, char* name, unsigned int length);
using PFN_nvmlDeviceGetUUID = nvmlReturn_t (*)(nvmlDevice_t device, char* uuid, unsigned int length);
using PFN_nvmlDeviceGetPciInfo_v3 = nvmlReturn_t (*)(nvmlDevice_t device, nvmlPciInfo_t* pci);
using PFN_nvmlDeviceGetMemoryInfo = nvmlReturn_t (*)(nvmlDevice_t device, nvmlMemory_t* memory);
using PFN_nvmlDeviceGetNumaNodeId = nvmlReturn_t (*)(nvmlDevice_t device, unsigned int* node);
using PFN_nvmlDeviceGetNvLinkState = nvmlReturn_t (*)(nvmlDevice_t device, unsigned int link, int* isActive);
using PFN_nvmlDeviceGetNvLinkVersion = nvmlReturn_t (*)(nvmlDevice_t device, unsigned int link, unsigned int* version);
using PFN_nvmlDeviceGetNvLinkRemotePciInfo_v2 = nvmlReturn_t (*)(nvmlDevice_t device, unsigned int link,
                                                                 nvmlPciInfo_t* pci);
using PFN_nvmlDeviceGetNvLinkRemoteDeviceType = nvmlReturn_t (*)(nvmlDevice_t device, unsigned int link, int* type);
using PFN_nvmlDeviceGetTopologyCommonAncestor = nvmlReturn_t (*)(nvmlDevice_t a, nvmlDevice_t b, int* level);
