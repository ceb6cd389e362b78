// PCI bus ids in one canonical form, "dddd:bb:dd.f" in lower case, so ids from CUDA
// ("0000:3B:00.0") and NVML ("00000000:3B:00.0") compare equal.
#pragma once

#include <string>

std::string NormalizePciBusId(const std::string& busId);
// NVML's form, "dddddddd:bb:dd.f"; empty when `busId` is not a PCI bus id.
std::string WidePciBusId(const std::string& busId);
