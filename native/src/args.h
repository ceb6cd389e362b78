// Argument checks shared by every exported function. Each throws a TypeError that names the
// function, the argument and what it got, before any driver call is made.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

#include "cuda_types.h"

// "a string", "a number (1.5)", "null", ... for error messages.
std::string Describe(const Napi::Value& value);

// A non-negative integer that fits in int: a device ordinal.
int ArgDevice(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* name = "device");
// A bigint device pointer, 0 <= p < 2^64.
CUdeviceptr ArgPointer(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* name);
// A byte count: a non-negative safe-integer number or a bigint.
size_t ArgBytes(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* name);
uint32_t ArgUint32(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* name);
std::string ArgString(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* name);
// Optional arguments and option fields.
Napi::Object ArgOptions(const Napi::CallbackInfo& info, size_t index, const char* fn);
bool OptionBool(Napi::Object options, const char* key, bool fallback, const char* fn);
uint32_t OptionUint32(Napi::Object options, const char* key, uint32_t fallback, const char* fn);

// The bytes of an ArrayBuffer or any ArrayBuffer view (Buffer, typed array, DataView).
struct HostSpan {
  void* data = nullptr;
  size_t length = 0;
};
bool IsHostBuffer(const Napi::Value& value);
HostSpan ToHostSpan(const Napi::Value& value);
HostSpan ArgHostBuffer(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* name);

std::string Hex(uint64_t value);
