// Each file registers the functions it implements on the addon's exports, as a table of
// { name, function }: the JavaScript name is written once.
#pragma once

#include <napi.h>

#include <initializer_list>

struct ExportEntry {
  const char* name;
  Napi::Value (*function)(const Napi::CallbackInfo& info);
};

inline void Export(Napi::Env env, Napi::Object exports, std::initializer_list<ExportEntry> entries) {
  for (const ExportEntry& entry : entries) exports.Set(entry.name, Napi::Function::New(env, entry.function, entry.name));
}

void RegisterDevice(Napi::Env env, Napi::Object exports);
void RegisterPeer(Napi::Env env, Napi::Object exports);
void RegisterModule(Napi::Env env, Napi::Object exports);
void RegisterMemory(Napi::Env env, Napi::Object exports);
void RegisterPinnedMemory(Napi::Env env, Napi::Object exports);
void RegisterSharedMemory(Napi::Env env, Napi::Object exports);
void RegisterCopies(Napi::Env env, Napi::Object exports);
void RegisterIpc(Napi::Env env, Napi::Object exports);
void RegisterStreams(Napi::Env env, Napi::Object exports);
void RegisterLaunch(Napi::Env env, Napi::Object exports);
void RegisterNvml(Napi::Env env, Napi::Object exports);
