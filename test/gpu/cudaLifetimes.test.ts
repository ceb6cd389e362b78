// Who owns what in the CUDA addon (RINGKERNEL_TEST_GPU=1): handles nobody references are released
// by their finalizers; a free, unload or destroy while queued work still uses the thing makes the
// handle unusable at once and releases it once the work is done; a stream copy keeps its host
// buffer alive until it has run. Counts come from liveResources() (this process only, so other
// test files on the same GPU do not disturb them); free device memory is recorded beside them.
// The collector is forced with global.gc (node --expose-gc), or with V8's flag set at run time.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  isCudaError,
  type CudaAddon,
  type CudaFunction,
  type CudaStream,
  type LiveResources,
} from '../../server/src/backends/cuda/cudaAddon';
import { loadCudaAddon } from '../../server/src/backends/cuda/cudaAddonLoader';
import { pollUntil } from '../support/poll';
import { fixture } from '../support/repo';

const skip =
  process.env.RINGKERNEL_TEST_GPU === '1'
    ? false
    : 'needs an NVIDIA GPU: set RINGKERNEL_TEST_GPU=1 on a machine with one';
const timeout = 120_000;
const MIB = 1024 * 1024;

function cuda(): CudaAddon {
  const loaded = loadCudaAddon();
  assert.ok(loaded.ok, loaded.ok ? '' : loaded.reason);
  return loaded.addon;
}

function collector(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return exposed;
  setFlagsFromString('--expose_gc');
  return runInNewContext('gc') as () => void;
}

/** Collects until `done` holds (finalizers run after the collection, on a later turn of the loop). */
async function collectUntil(what: string, done: (live: LiveResources) => boolean): Promise<LiveResources> {
  const gc = collector();
  return pollUntil(
    what,
    () => {
      gc();
      const live = cuda().liveResources();
      // Thrown, not returned: a timeout then reports what was still held.
      if (!done(live)) throw new Error(`still held: ${JSON.stringify(live)}`);
      return live;
    },
    { timeoutMs: 15_000 },
  );
}

let kernels: Promise<{ spin: CudaFunction; spinStore: CudaFunction }> | undefined;
function kernelModule(): Promise<{ spin: CudaFunction; spinStore: CudaFunction }> {
  kernels ??= cuda()
    .moduleLoad(0, readFileSync(fixture('ptx', 'kernels.ptx'), 'utf8'))
    .then(({ module }) => ({
      spin: cuda().getFunction(module, 'spin'),
      spinStore: cuda().getFunction(module, 'spin_store'),
    }));
  return kernels;
}

/** GPU clock cycles for about `ms` of spinning. */
function cycles(ms: number): bigint {
  return BigInt(cuda().deviceInfo(0).clockRateKHz) * BigInt(ms);
}

/** Queues `ms` of spinning on `stream`: what follows on it waits that long. */
async function busy(stream: CudaStream, ms: number): Promise<void> {
  cuda().launchKernel((await kernelModule()).spin, { grid: 1, block: 1, stream }, [{ type: 'u64', value: cycles(ms) }]);
}

test(
  'allocations, modules, streams, events and pinned buffers nobody references are released when collected',
  { skip, timeout },
  async () => {
    const addon = cuda();
    await kernelModule(); // its module stays for the other tests
    const baseline = addon.liveResources();
    const freeBefore = addon.memGetInfo(0).free;
    const count = 8;
    const bytes = 64 * MIB;
    // Made and counted in a function of its own: kept in an array until counted (a young handle
    // nobody references may be collected at once), and gone with that function's frame (a suspended
    // async frame would keep its last values alive).
    const { held, freeWhileHeld } = await (async () => {
      const kept: unknown[] = [];
      for (let i = 0; i < count; i++) {
        const allocation = addon.memAlloc(0, bytes);
        addon.memsetD8(allocation, i, bytes);
        kept.push(allocation, addon.streamCreate(0), addon.eventCreate(0), addon.memAllocHost(0, MIB));
      }
      kept.push(await addon.moduleLoad(0, readFileSync(fixture('ptx', 'kernels.ptx'), 'utf8')));
      assert.equal(kept.length, 4 * count + 1);
      return { held: addon.liveResources(), freeWhileHeld: addon.memGetInfo(0).free };
    })();
    assert.equal(held.allocations, baseline.allocations + count);
    assert.equal(held.allocatedBytes, baseline.allocatedBytes + count * bytes);
    assert.equal(held.streams, baseline.streams + count);
    assert.equal(held.events, baseline.events + count);
    assert.equal(held.pinnedBuffers, baseline.pinnedBuffers + count);
    assert.equal(held.modules, baseline.modules + 1);

    const released = await collectUntil(
      'every dropped handle to be released',
      (live) =>
        live.allocations === baseline.allocations &&
        live.allocatedBytes === baseline.allocatedBytes &&
        live.streams === baseline.streams &&
        live.events === baseline.events &&
        live.pinnedBuffers === baseline.pinnedBuffers &&
        live.modules === baseline.modules,
    );
    const freeAfter = addon.memGetInfo(0).free;
    console.log(`collected: ${JSON.stringify({ baseline, held, released, freeBefore, freeWhileHeld, freeAfter })}`);
    // Other processes may use the GPU meanwhile; what this one gave back is at least most of it.
    assert.ok(
      freeAfter - freeWhileHeld >= (count * bytes) / 2,
      `free memory rose by ${freeAfter - freeWhileHeld} bytes after releasing ${count * bytes}`,
    );
  },
);

test(
  'an allocation freed while a kernel still writes to it is released once the kernel is done',
  { skip, timeout },
  async () => {
    const addon = cuda();
    const { spinStore } = await kernelModule();
    const stream = addon.streamCreate(0, { nonBlocking: true });
    const baseline = addon.liveResources();
    const out = addon.memAlloc(0, 4);
    // The kernel writes out[0] after 300 ms. Were the memory freed now, that write would fault the
    // context (CUDA_ERROR_ILLEGAL_ADDRESS at the wait below).
    addon.launchKernel(spinStore, { grid: 1, block: 1, stream }, [{ type: 'u64', value: cycles(300) }, out]);
    const started = performance.now();
    addon.memFree(out);
    const freeMs = performance.now() - started;
    assert.ok(freeMs < 100, `memFree waited ${freeMs} ms for the kernel instead of deferring the release`);
    assert.throws(
      () => addon.memcpyDtoH(new Uint8Array(4), out),
      (e: unknown) => isCudaError(e) && e.name === 'CUDA_ERROR_INVALID_HANDLE' && /already freed/.test(e.message),
    );
    assert.throws(
      () => addon.memFree(out),
      (e: unknown) => isCudaError(e) && e.name === 'CUDA_ERROR_INVALID_HANDLE',
    );
    assert.equal(addon.liveResources().allocations, baseline.allocations + 1, 'released under the running kernel');

    await addon.streamSynchronizeAsync(stream); // rejects if the kernel faulted
    assert.equal(addon.liveResources().allocations, baseline.allocations);
    addon.streamDestroy(stream);
  },
);

test('a module unloaded while its kernel runs is unloaded once the kernel is done', { skip, timeout }, async () => {
  const addon = cuda();
  const { module } = await addon.moduleLoad(0, readFileSync(fixture('ptx', 'kernels.ptx'), 'utf8'));
  const spin = addon.getFunction(module, 'spin');
  const stream = addon.streamCreate(0, { nonBlocking: true });
  const modules = addon.liveResources().modules;
  addon.launchKernel(spin, { grid: 1, block: 1, stream }, [{ type: 'u64', value: cycles(200) }]);
  addon.moduleUnload(module);
  assert.throws(
    () => addon.getFunction(module, 'spin'),
    (e: unknown) => isCudaError(e) && e.name === 'CUDA_ERROR_INVALID_HANDLE',
  );
  assert.throws(
    () => addon.launchKernel(spin, { grid: 1, block: 1, stream }, [{ type: 'u64', value: 1n }]),
    /module of function 'spin' was unloaded/,
  );
  assert.equal(addon.liveResources().modules, modules, 'unloaded under the running kernel');
  await addon.streamSynchronizeAsync(stream);
  assert.equal(addon.liveResources().modules, modules - 1);
  addon.streamDestroy(stream);
});

test(
  'a stream or event destroyed while a wait on it is pending: the wait resolves, then it is released',
  { skip, timeout },
  async () => {
    const addon = cuda();
    const baseline = addon.liveResources();
    const stream = addon.streamCreate(0, { nonBlocking: true });
    await busy(stream, 300);
    const streamWait = addon.streamSynchronizeAsync(stream);
    addon.streamDestroy(stream);
    assert.throws(
      () => addon.streamQuery(stream),
      (e: unknown) => isCudaError(e) && /already destroyed/.test(e.message),
    );
    assert.equal(addon.liveResources().streams, baseline.streams + 1, 'destroyed under its own wait');
    await streamWait;
    assert.equal(addon.liveResources().streams, baseline.streams);

    const other = addon.streamCreate(0, { nonBlocking: true });
    const event = addon.eventCreate(0, { timing: false, blockingSync: true });
    await busy(other, 300);
    addon.eventRecord(event, other);
    const eventWait = addon.eventSynchronizeAsync(event);
    addon.eventDestroy(event);
    assert.throws(
      () => addon.eventQuery(event),
      (e: unknown) => isCudaError(e) && /already destroyed/.test(e.message),
    );
    assert.equal(addon.liveResources().events, baseline.events + 1, 'destroyed under its own wait');
    await eventWait;
    assert.equal(addon.liveResources().events, baseline.events);
    addon.streamDestroy(other);
  },
);

test(
  'a stream copy keeps its host buffer alive until it has run, even when nothing else references it',
  { skip, timeout },
  async () => {
    const addon = cuda();
    const gc = collector();
    const stream = addon.streamCreate(0, { nonBlocking: true });
    const device = addon.memAlloc(0, MIB);
    const baseline = addon.liveResources();
    const pattern = (i: number): number => (i * 7 + 3) & 0xff;

    // Host → device from a pinned buffer whose only reference is dropped before the copy runs.
    await busy(stream, 300);
    (() => {
      const pinned = new Uint8Array(addon.memAllocHost(0, MIB));
      for (let i = 0; i < pinned.length; i++) pinned[i] = pattern(i);
      addon.memcpyHtoDAsync(stream, device, pinned);
    })();
    // Device → host into another, dropped the same way.
    (() => addon.memcpyDtoHAsync(stream, new Uint8Array(addon.memAllocHost(0, MIB)), device))();
    for (let i = 0; i < 3; i++) gc();
    await new Promise((resolve) => setImmediate(resolve));
    let live = addon.liveResources();
    assert.equal(live.heldHostBuffers, baseline.heldHostBuffers + 2);
    assert.equal(
      live.pinnedBuffers,
      baseline.pinnedBuffers + 2,
      'a pinned buffer was collected while its copy was queued',
    );

    await addon.streamSynchronizeAsync(stream);
    assert.equal(addon.liveResources().heldHostBuffers, baseline.heldHostBuffers);
    live = await collectUntil(
      'the pinned buffers to be released after their copies',
      (l) => l.pinnedBuffers === baseline.pinnedBuffers,
    );
    assert.equal(live.pinnedBytes, baseline.pinnedBytes);
    const back = new Uint8Array(MIB);
    addon.memcpyDtoH(back, device);
    for (let i = 0; i < back.length; i++)
      if (back[i] !== pattern(i))
        assert.fail(`byte ${i} is ${back[i]}, expected ${pattern(i)}: the host buffer changed under its copy`);

    // memFreeHost while a copy into the buffer is queued: detached at once, the pages kept until the copy ran.
    const landing = addon.memAllocHost(0, MIB);
    await busy(stream, 300);
    addon.memcpyDtoHAsync(stream, landing, device);
    addon.memFreeHost(landing);
    assert.equal(landing.byteLength, 0);
    assert.equal(addon.liveResources().pinnedBuffers, baseline.pinnedBuffers + 1, 'pages returned under a queued copy');
    await addon.streamSynchronizeAsync(stream);
    assert.equal(addon.liveResources().pinnedBuffers, baseline.pinnedBuffers);

    addon.memFree(device);
    addon.streamDestroy(stream);
  },
);

test(
  'work on a stream nobody waits for still gives back what it held, stream included',
  { skip, timeout },
  async () => {
    const addon = cuda();
    const baseline = addon.liveResources();
    (() => {
      const stream = addon.streamCreate(0, { nonBlocking: true });
      const allocation = addon.memAlloc(0, MIB);
      addon.memcpyHtoDAsync(stream, allocation, new Uint8Array(MIB));
      addon.memsetD8Async(stream, { allocation, offset: 16 }, 1, 64);
    })();
    // No wait, no destroy: the handles are only collected. The queued work is sealed with an event
    // after a moment and let go once that event completes (liveResources polls for it).
    const live = await collectUntil(
      'the stream, allocation and buffer of unwaited work to be released',
      (l) =>
        l.streams === baseline.streams &&
        l.allocations === baseline.allocations &&
        l.heldHostBuffers === baseline.heldHostBuffers &&
        l.pendingWork === baseline.pendingWork,
    );
    assert.equal(live.allocatedBytes, baseline.allocatedBytes);
  },
);
