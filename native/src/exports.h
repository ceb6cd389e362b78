// Each file registers the functions it implements on the addon's exports.
#pragma once

#include <napi.h>

void RegisterDevice(Napi::Env env, Napi::Object exports);
void RegisterPeer(Napi::Env env, Napi::Object exports);
void RegisterModule(Napi::Env env, Napi::Object exports);
void RegisterMemory(Napi::Env env, Napi::Object exports);
void RegisterCopies(Napi::Env env, Napi::Object exports);
void RegisterStreams(Napi::Env env, Napi::Object exports);
void RegisterLaunch(Napi::Env env, Napi::Object exports);
void RegisterNvml(Napi::Env env, Napi::Object exports);
