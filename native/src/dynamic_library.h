// Opens a shared library at run time and looks symbols up in it, on POSIX (dlopen) and Windows
// (LoadLibrary). Failures come back as text, never as a crash.
#pragma once

#include <string>

struct DynamicLibrary {
  void* handle = nullptr;
  std::string name;   // what was asked for, e.g. libcuda.so.1
  std::string path;   // where it was found, once FindPath has seen one of its symbols
  std::string error;  // why opening failed (dlerror or the Windows error)

  bool Open(const char* library);
  void* Symbol(const char* symbol) const;
  // Records which file on disk provides `symbol`, for reports ("loaded /usr/lib/.../libcuda.so.1").
  void FindPath(void* symbol);
};
