// Primary contexts: one per device, retained on first use and kept for the life of the process
// (the same context the CUDA runtime and other libraries in the process share). Every operation
// on a device makes its context current on the calling thread first.
#pragma once

#include <napi.h>

#include "cuda_types.h"

// The number of devices the driver sees. Requires the driver (throws its structured error).
int DeviceCount(Napi::Env env, const char* call);
// Checks the ordinal against the device count and returns the CUdevice.
CUdevice DeviceHandle(Napi::Env env, int ordinal, const char* call);
CUcontext PrimaryContext(Napi::Env env, int ordinal, const char* call);
void MakeCurrent(Napi::Env env, CUcontext context);
// PrimaryContext + MakeCurrent: the usual first line of a device operation.
CUcontext UseDevice(Napi::Env env, int ordinal, const char* call);
