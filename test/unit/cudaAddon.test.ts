// The CUDA addon on a machine whose driver says CUDA is unavailable (decided from driverStatus, not
// from the environment): it loads, says why, rejects bad arguments with TypeErrors, and every
// driver-bound call fails with a structured error, or a rejected promise, instead of crashing.
// test/gpu/ covers a machine with a GPU.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  isCudaError,
  type CudaAddon,
  type CudaAllocation,
  type CudaStream,
} from '../../server/src/backends/cuda/cudaAddon';
import { findCudaAddon, loadCudaAddon } from '../../server/src/backends/cuda/cudaAddonLoader';
import { repoRoot } from '../support/repo';

const unavailableFile = join(repoRoot, 'native', 'build', 'unavailable.json');
const buildSkipped =
  existsSync(unavailableFile) &&
  `the native build did not run here: ${(JSON.parse(readFileSync(unavailableFile, 'utf8')) as { reason: string }).reason}`;

/** What the driver itself says, not what the environment claims: a developer's GPU machine skips these. */
function driverWorks(): boolean {
  const loaded = loadCudaAddon();
  return loaded.ok && loaded.addon.driverStatus().available;
}
const noDriver =
  buildSkipped ||
  (driverWorks() && 'this machine has a working CUDA driver: test/gpu covers it (RINGKERNEL_TEST_GPU=1)');

function addon(): CudaAddon {
  const loaded = loadCudaAddon();
  assert.ok(loaded.ok, loaded.ok ? '' : loaded.reason);
  return loaded.addon;
}

/** Asserts `run` throws an error carrying name, code and call. */
function assertStructured(run: () => unknown, name: string | RegExp, call?: string): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(isCudaError(error), `expected a structured CUDA error, got ${String(error)}`);
    if (typeof name === 'string') assert.equal(error.name, name);
    else assert.match(error.name, name);
    if (call !== undefined) assert.equal(error.call, call);
    assert.ok(error.message.length > 0);
    return true;
  });
}

async function assertRejectsStructured(promise: Promise<unknown>, name: string, call: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isCudaError(error), `expected a structured CUDA error, got ${String(error)}`);
    assert.equal(error.name, name);
    assert.equal(error.call, call);
    assert.match(error.message, /libcuda\.so\.1/);
    return true;
  });
}

test('the addon loads from native/build/Release above the test bundle', { skip: buildSkipped }, () => {
  const loaded = loadCudaAddon();
  assert.ok(loaded.ok, loaded.ok ? '' : loaded.reason);
  assert.ok(
    loaded.path.endsWith(join('native', 'build', 'Release', 'ringkernel_cuda.node')) ||
      process.env.RINGKERNEL_CUDA_ADDON,
  );
});

test('reports CUDA unavailable with a reason naming libcuda.so.1', { skip: noDriver }, () => {
  const status = addon().driverStatus();
  assert.equal(status.available, false);
  assert.match(status.reason ?? '', /libcuda\.so\.1 could not be loaded/);
  assert.match(status.reason ?? '', /NVIDIA driver/);
  assert.deepEqual(status.error, { name: 'DRIVER_NOT_FOUND', code: -1, call: 'dlopen' });
  assert.equal(status.apiVersion, 12000);
  // A second call answers the same without retrying the load.
  assert.deepEqual(addon().driverStatus(), status);
});

test('reports NVML unavailable with a reason naming libnvidia-ml.so.1', { skip: noDriver }, () => {
  const status = addon().nvmlStatus();
  assert.equal(status.available, false);
  assert.match(status.reason ?? '', /libnvidia-ml\.so\.1 could not be loaded/);
  assert.equal(status.error?.name, 'NVML_NOT_FOUND');
});

test(
  'every driver-bound call throws DRIVER_NOT_FOUND naming its driver call, never crashes',
  { skip: noDriver },
  () => {
    const cuda = addon();
    const calls: Array<[string, () => unknown]> = [
      ['cuDeviceGetCount', () => cuda.deviceCount()],
      ['cuDeviceGet', () => cuda.deviceInfo(0)],
      ['cuMemGetInfo_v2', () => cuda.memGetInfo(0)],
      ['cuCtxSynchronize', () => cuda.deviceSynchronize(0)],
      ['cuDeviceCanAccessPeer', () => cuda.canAccessPeer(0, 1)],
      ['cuDeviceGetP2PAttribute', () => cuda.p2pAttributes(0, 1)],
      ['cuCtxEnablePeerAccess', () => cuda.enablePeerAccess(0, 1)],
      ['cuCtxDisablePeerAccess', () => cuda.disablePeerAccess(0, 1)],
      ['cuMemAlloc_v2', () => cuda.memAlloc(0, 1024)],
      ['cuMemHostAlloc', () => cuda.memAllocHost(0, 4096)],
      ['cuStreamCreate', () => cuda.streamCreate(0)],
      ['cuEventCreate', () => cuda.eventCreate(0, { timing: true })],
    ];
    for (const [call, run] of calls) assertStructured(run, 'DRIVER_NOT_FOUND', call);
  },
);

test('calls that return a promise reject with DRIVER_NOT_FOUND instead of throwing', { skip: noDriver }, async () => {
  const cuda = addon();
  await assertRejectsStructured(cuda.deviceSynchronizeAsync(0), 'DRIVER_NOT_FOUND', 'cuEventSynchronize');
  // PTX goes through the driver's linker; a cubin (an ELF image) is loaded as it is.
  await assertRejectsStructured(
    cuda.moduleLoad(0, '.version 7.0\n.target sm_70\n.address_size 64\n'),
    'DRIVER_NOT_FOUND',
    'cuLinkCreate_v2',
  );
  await assertRejectsStructured(
    cuda.moduleLoad(0, Uint8Array.of(0x7f, 0x45, 0x4c, 0x46, 2, 1, 1)),
    'DRIVER_NOT_FOUND',
    'cuModuleLoadDataEx',
  );
});

test('holds nothing, and failed calls leave nothing behind', { skip: noDriver }, () => {
  const cuda = addon();
  const empty = {
    allocations: 0,
    allocatedBytes: 0,
    modules: 0,
    streams: 0,
    events: 0,
    pinnedBuffers: 0,
    pinnedBytes: 0,
    heldHostBuffers: 0,
    pendingWork: 0,
  };
  assert.deepEqual(cuda.liveResources(), empty);
  assert.throws(() => cuda.memAlloc(0, 1 << 20));
  assert.throws(() => cuda.memAllocHost(0, 1 << 20));
  assert.deepEqual(cuda.liveResources(), empty);
});

test('NVML calls throw NVML_NOT_FOUND without a driver', { skip: noDriver }, () => {
  const cuda = addon();
  assertStructured(() => cuda.nvmlDeviceInfo(0), 'NVML_NOT_FOUND', 'nvmlDeviceGetHandleByIndex_v2');
  assertStructured(() => cuda.nvmlDeviceInfo('0000:01:00.0'), 'NVML_NOT_FOUND', 'nvmlDeviceGetHandleByPciBusId_v2');
  assertStructured(() => cuda.nvmlTopologyCommonAncestor(0, 1), 'NVML_NOT_FOUND');
});

test(
  'rejects arguments of the wrong type with TypeErrors naming the function and argument',
  { skip: buildSkipped },
  () => {
    const cuda = addon();
    // Deliberately wrong types: the casts stand for JavaScript callers the compiler cannot check.
    const loose = cuda as unknown as Record<string, (...args: unknown[]) => unknown>;
    const call =
      (name: string, ...args: unknown[]) =>
      () =>
        loose[name]!(...args);
    const bytes = new Uint8Array(4);
    const cases: Array<[() => unknown, RegExp]> = [
      [
        call('deviceInfo', -1),
        /^deviceInfo: device must be a device ordinal \(an integer from 0\), got a number \(-1\)$/,
      ],
      [call('deviceInfo', 1.5), /deviceInfo: device must be a device ordinal/],
      [call('deviceInfo', '0'), /got a string/],
      [call('memGetInfo'), /memGetInfo: device must be a device ordinal .*got undefined/],
      [call('memAlloc', 0, 'big'), /memAlloc: bytes must be a byte count/],
      [call('memAlloc', 0, -1), /memAlloc: bytes must be a byte count/],
      [call('memAlloc', 0, 0), /memAlloc: bytes must be at least 1/],
      [call('memAllocHost', 0, 0), /memAllocHost: bytes must be at least 1/],
      // Device memory is an allocation handle, never a number: raw addresses are refused.
      [
        call('memFree', 0x7f0000000000n),
        /^memFree: allocation must be a CUDA allocation handle \(from this addon\), got a bigint$/,
      ],
      [call('memFree', 0, 4096n), /memFree: allocation must be a CUDA allocation handle .*got a number/],
      [
        call('memcpyHtoD', 0x1000n, bytes),
        /^memcpyHtoD: dst must be device memory: an allocation handle \(from memAlloc\) or \{ allocation, offset \}, got a bigint$/,
      ],
      [
        call('memcpyDtoH', bytes, { allocation: 0x1000n, offset: 0 }),
        /memcpyDtoH: src\.allocation must be a CUDA allocation handle/,
      ],
      [call('memcpyDtoD', {}, {}, 4), /memcpyDtoD: dst must be device memory/],
      [call('memcpyPeer', [1], {}, 4), /memcpyPeer: dst must be device memory.*got an array/],
      [call('memsetD8', null, 0, 4), /memsetD8: dst must be device memory.*got null/],
      [call('memcpyHtoDAsync', null, 0n, bytes), /memcpyHtoDAsync: stream must be a CUDA stream handle/],
      [call('memsetD8Async', {}, 0n, 0, 4), /memsetD8Async: stream must be a CUDA stream handle/],
      [call('moduleLoad', 0, 42), /moduleLoad: image must be PTX text/],
      [call('moduleLoad', 0, ''), /moduleLoad: image is empty/],
      [call('moduleLoad', -1, '.version 7.0'), /moduleLoad: device must be a device ordinal/],
      [call('moduleLoad', 0, '.version 7.0', { optimizationLevel: 9 }), /optimizationLevel must be 0 to 4/],
      [call('moduleLoad', 0, '.version 7.0', { logVerbose: 'yes' }), /options\.logVerbose must be a boolean/],
      [call('moduleLoad', 0, '.version 7.0', 'fast'), /moduleLoad: options must be an object/],
      [
        call('getFunction', {}, 'main'),
        /getFunction: module must be a CUDA module handle \(from this addon\), got an object/,
      ],
      [call('moduleUnload', undefined), /moduleUnload: module must be a CUDA module handle/],
      [call('launchKernel', null, {}, []), /launchKernel: function must be a CUDA function handle/],
      [
        call('streamSynchronize', { kind: 'stream', device: 0 }),
        /streamSynchronize: stream must be a CUDA stream handle/,
      ],
      [call('streamSynchronizeAsync', undefined), /streamSynchronizeAsync: stream must be a CUDA stream handle/],
      [call('eventSynchronizeAsync', 7), /eventSynchronizeAsync: event must be a CUDA event handle/],
      [call('eventElapsedTime', {}, {}), /eventElapsedTime: start must be a CUDA event handle/],
      [call('memFreeHost', new ArrayBuffer(8)), /memFreeHost: buffer was not allocated by memAllocHost/],
      [call('memFreeHost', new Uint8Array(8)), /memFreeHost: buffer must be the ArrayBuffer memAllocHost returned/],
      [call('canAccessPeer', 0, null), /canAccessPeer: peer must be a device ordinal/],
      [
        call('nvmlDeviceInfo', null),
        /nvmlDeviceInfo: device must be an NVML device index or a PCI bus id string, got null/,
      ],
      [call('nvmlTopologyCommonAncestor', 0, {}), /nvmlTopologyCommonAncestor: b must be an NVML device index/],
    ];
    for (const [run, message] of cases) {
      assert.throws(
        run,
        (error: unknown) => error instanceof TypeError && message.test(error.message),
        `expected ${String(message)}`,
      );
    }
  },
);

test('a look-alike handle is not accepted for a real one', { skip: buildSkipped }, () => {
  const cuda = addon();
  const fakeStream = Object.freeze({ kind: 'stream', device: 0 }) as unknown as CudaStream;
  assert.throws(() => cuda.streamQuery(fakeStream), TypeError);
  assert.throws(() => cuda.streamDestroy(fakeStream), TypeError);
  const fakeAllocation = Object.freeze({ kind: 'allocation', device: 0, bytes: 16 }) as unknown as CudaAllocation;
  assert.throws(() => cuda.memFree(fakeAllocation), TypeError);
  assert.throws(() => cuda.memcpyDtoH(new Uint8Array(16), fakeAllocation), TypeError);
  assert.throws(
    () => cuda.memcpyDtoH(new Uint8Array(16), { allocation: fakeAllocation, offset: 0 }),
    /src\.allocation must be a CUDA allocation handle/,
  );
});

test('when the addon cannot load, one reason lists every path tried and how to build it', () => {
  const outside = mkdtempSync(join(tmpdir(), 'ringkernel-no-root-'));
  const missing = findCudaAddon({ explicitPath: join(outside, 'nowhere.node'), searchFrom: outside });
  assert.equal(missing.ok, false);
  if (missing.ok) return;
  assert.match(missing.reason, /could not be loaded/);
  assert.match(missing.reason, /nowhere\.node \(from \$RINGKERNEL_CUDA_ADDON\): not found/);
  assert.match(missing.reason, /npm run build:native/);
  assert.match(missing.reason, /C\+\+17 compiler/);

  const garbage = join(outside, 'garbage.node');
  writeFileSync(garbage, 'not a shared object');
  const broken = findCudaAddon({ explicitPath: garbage, searchFrom: outside });
  assert.equal(broken.ok, false);
  if (!broken.ok) assert.match(broken.reason, /garbage\.node \(from \$RINGKERNEL_CUDA_ADDON\): .+/);
});

test('an addon built before allocation handles is refused with a request to rebuild it', () => {
  const outside = mkdtempSync(join(tmpdir(), 'ringkernel-old-addon-'));
  // Module loading treats a .js file like the addon's .node: this one has the old exports only.
  const old = join(outside, 'old.js');
  writeFileSync(old, 'module.exports = { driverStatus() {}, launchKernel() {}, memAlloc() {} };');
  const loaded = findCudaAddon({ explicitPath: old, searchFrom: outside });
  assert.equal(loaded.ok, false);
  if (!loaded.ok)
    assert.match(
      loaded.reason,
      /old\.js \(from \$RINGKERNEL_CUDA_ADDON\): loaded, but it is an older build of the addon than this code expects \(rebuild it\)/,
    );
});
