// Pinned (page-locked) host memory: memAllocHost hands out an ArrayBuffer over driver memory, which
// makes stream copies truly asynchronous. Its pages go back to the driver when the buffer is
// collected, or at memFreeHost (which detaches the buffer at once), but never while queued copies
// still use them: work that uses a pinned buffer holds its block (holds.h) and the free waits.
#pragma once

#include <napi.h>

struct PinnedBlock;

// The block whose pages start at `base` (an ArrayBuffer's data), now held; nullptr when `base` is
// not memory from memAllocHost. Every hold is given back with UnholdPinned.
PinnedBlock* HoldPinned(void* base);
void UnholdPinned(PinnedBlock* block);

// Pinned blocks whose pages this process still holds, and their bytes.
double LivePinnedBlocks();
double LivePinnedBytes();

void RegisterPinnedMemory(Napi::Env env, Napi::Object exports);
