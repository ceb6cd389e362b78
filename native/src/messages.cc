#include "messages.h"

#include <cstdio>

std::string Describe(const Napi::Value& value) {
  switch (value.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "a boolean";
    case napi_number: {
      char buffer[64];
      std::snprintf(buffer, sizeof buffer, "a number (%.17g)", value.As<Napi::Number>().DoubleValue());
      return buffer;
    }
    case napi_string: return "a string";
    case napi_symbol: return "a symbol";
    case napi_function: return "a function";
    case napi_bigint: return "a bigint";
    case napi_external: return "an external";
    default: return value.IsArray() ? "an array" : "an object";
  }
}

std::string Hex(uint64_t value) {
  char buffer[24];
  std::snprintf(buffer, sizeof buffer, "0x%llx", static_cast<unsigned long long>(value));
  return buffer;
}

std::string DeviceName(int ordinal) {
  return "CUDA device " + std::to_string(ordinal);
}

std::string ByteCount(size_t bytes) {
  return std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes");
}
