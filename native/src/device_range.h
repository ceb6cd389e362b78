// Checks that a device pointer range lies inside one allocation before a copy or memset touches
// it, so an overrun is a clear error naming sizes instead of a corrupted neighbour.
#pragma once

#include <napi.h>

#include <string>

#include "cuda_types.h"

// `what` names the range for the message ("the destination"); `call` is the driver call it guards.
// The owning device's context must be current.
void CheckDeviceRange(Napi::Env env, CUdeviceptr pointer, size_t bytes, const char* call, const char* what);
