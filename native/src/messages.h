// Pieces of error messages shared by every file: what a JavaScript value is, device addresses,
// devices and byte counts, always worded the same way.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>

// "a string", "a number (1.5)", "null", ... for "got ..." in argument errors.
std::string Describe(const Napi::Value& value);
// 0x7f2a00000000
std::string Hex(uint64_t value);
// "CUDA device 0"
std::string DeviceName(int ordinal);
// "1 byte", "64 bytes"
std::string ByteCount(size_t bytes);
