// The CUDA addon on a machine without the NVIDIA driver: it loads, says why CUDA is unavailable,
// rejects bad arguments with TypeErrors, and every driver-bound call fails with a structured error
// instead of crashing. (test/gpu/cuda.test.ts covers a machine with a GPU.)
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { findCudaAddon, isCudaError, loadCudaAddon, parseJitLog, type CudaAddon, type CudaStream } from '../../server/src/backends/cuda/cudaAddon';
import { repoRoot } from '../support/repo';

const unavailableFile = join(repoRoot, 'native', 'build', 'unavailable.json');
const buildSkipped = existsSync(unavailableFile) &&
  `the native build did not run here: ${(JSON.parse(readFileSync(unavailableFile, 'utf8')) as { reason: string }).reason}`;
// The no-driver path is checked where the driver itself says it is missing (not from an
// environment variable): on a machine with the NVIDIA driver these tests skip, test/gpu covers it.
const loadedHere = buildSkipped ? undefined : loadCudaAddon();
const driverPresent = loadedHere?.ok === true && loadedHere.addon.driverStatus().available;
const noDriver = buildSkipped || (driverPresent && 'the CUDA driver loads on this machine, so its absence cannot be checked here (test/gpu covers the driver)');

function addon(): CudaAddon {
  const loaded = loadCudaAddon();
  assert.ok(loaded.ok, loaded.ok ? '' : loaded.reason);
  return loaded.addon;
}

/** Asserts `run` throws an error carrying name, code and call, and returns it. */
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

test('the addon loads from native/build/Release above the test bundle', { skip: buildSkipped }, () => {
  const loaded = loadCudaAddon();
  assert.ok(loaded.ok, loaded.ok ? '' : loaded.reason);
  assert.ok(loaded.path.endsWith(join('native', 'build', 'Release', 'ringkernel_cuda.node')) || process.env.RINGKERNEL_CUDA_ADDON);
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

test('every driver-bound call throws DRIVER_NOT_FOUND naming its driver call, never crashes', { skip: noDriver }, () => {
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
    ['cuModuleLoadDataEx', () => cuda.moduleLoad(0, '.version 7.0\n.target sm_70\n.address_size 64\n')],
    ['cuMemAlloc_v2', () => cuda.memAlloc(0, 1024)],
    ['cuMemFree_v2', () => cuda.memFree(0, 0x1000n)],
    ['cuMemGetAddressRange_v2', () => cuda.pointerRange(0, 0x1000n)],
    ['cuMemsetD8_v2', () => cuda.memsetD8(0, 0x1000n, 0, 16)],
    ['cuMemHostAlloc', () => cuda.memAllocHost(0, 4096)],
    ['cuMemcpyHtoD_v2', () => cuda.memcpyHtoD(0, 0x1000n, new Uint8Array(16))],
    ['cuMemcpyDtoH_v2', () => cuda.memcpyDtoH(0, new Uint8Array(16), 0x1000n)],
    ['cuMemcpyDtoD_v2', () => cuda.memcpyDtoD(0, 0x1000n, 0x2000n, 16)],
    ['cuMemcpyPeer', () => cuda.memcpyPeer(1, 0x1000n, 0, 0x2000n, 16)],
    ['cuStreamCreate', () => cuda.streamCreate(0)],
    ['cuEventCreate', () => cuda.eventCreate(0, { timing: true })],
  ];
  for (const [call, run] of calls) assertStructured(run, 'DRIVER_NOT_FOUND', call);
});

test('asynchronous waits reject with DRIVER_NOT_FOUND instead of throwing', { skip: noDriver }, async () => {
  await assert.rejects(addon().deviceSynchronizeAsync(0), (error: unknown) => {
    assert.ok(isCudaError(error));
    assert.equal(error.name, 'DRIVER_NOT_FOUND');
    assert.match(error.message, /libcuda\.so\.1/);
    return true;
  });
});

test('NVML calls throw NVML_NOT_FOUND without a driver', { skip: noDriver }, () => {
  const cuda = addon();
  assertStructured(() => cuda.nvmlDeviceInfo(0), 'NVML_NOT_FOUND', 'nvmlDeviceGetHandleByIndex_v2');
  assertStructured(() => cuda.nvmlDeviceInfo('0000:01:00.0'), 'NVML_NOT_FOUND', 'nvmlDeviceGetHandleByPciBusId_v2');
  assertStructured(() => cuda.nvmlTopologyCommonAncestor(0, 1), 'NVML_NOT_FOUND');
});

test('rejects arguments of the wrong type with TypeErrors naming the function and argument', { skip: buildSkipped }, () => {
  const cuda = addon();
  // Deliberately wrong types: the casts stand for JavaScript callers the compiler cannot check.
  const loose = cuda as unknown as Record<string, (...args: unknown[]) => unknown>;
  const call = (name: string, ...args: unknown[]) => () => loose[name]!(...args);
  const cases: Array<[() => unknown, RegExp]> = [
    [call('deviceInfo', -1), /^deviceInfo: device must be a device ordinal \(an integer from 0\), got a number \(-1\)$/],
    [call('deviceInfo', 1.5), /deviceInfo: device must be a device ordinal/],
    [call('deviceInfo', '0'), /got a string/],
    [call('memGetInfo'), /memGetInfo: device must be a device ordinal .*got undefined/],
    [call('memAlloc', 0, 'big'), /memAlloc: bytes must be a byte count/],
    [call('memAlloc', 0, -1), /memAlloc: bytes must be a byte count/],
    [call('memAlloc', 0, 0), /memAlloc: bytes must be at least 1/],
    [call('memFree', 0, 4096), /memFree: pointer must be a device pointer as a bigint \(from memAlloc\), got a number/],
    [call('memFree', 0, -1n), /memFree: pointer must be a device pointer between 0 and 2\^64-1/],
    [call('memsetD8', 0, 0n, 256, 1), /memsetD8: value must be a byte \(0 to 255\)/],
    [call('memcpyHtoD', 0, 0n, [1, 2, 3]), /memcpyHtoD: src must be an ArrayBuffer, Buffer, typed array or DataView, got an array/],
    [call('memcpyDtoH', 0, 'buffer', 0n), /memcpyDtoH: dst must be an ArrayBuffer/],
    [call('moduleLoad', 0, 42), /moduleLoad: image must be PTX text/],
    [call('moduleLoad', 0, ''), /moduleLoad: image is empty/],
    [call('moduleLoad', 0, '.version 7.0', { optimizationLevel: 9 }), /optimizationLevel must be 0 to 4/],
    [call('moduleLoad', 0, '.version 7.0', { logVerbose: 'yes' }), /options\.logVerbose must be a boolean/],
    [call('moduleLoad', 0, '.version 7.0', 'fast'), /moduleLoad: options must be an object/],
    [call('getFunction', {}, 'main'), /getFunction: module must be a CUDA module handle \(from this addon\), got an object/],
    [call('launchKernel', null, {}, []), /launchKernel: function must be a CUDA function handle/],
    [call('streamSynchronize', { kind: 'stream', device: 0 }), /streamSynchronize: stream must be a CUDA stream handle/],
    [call('streamSynchronizeAsync', undefined), /streamSynchronizeAsync: stream must be a CUDA stream handle/],
    [call('eventElapsedTime', {}, {}), /eventElapsedTime: start must be a CUDA event handle/],
    [call('memcpyHtoDAsync', null, 0n, new Uint8Array(4)), /memcpyHtoDAsync: stream must be a CUDA stream handle/],
    [call('memFreeHost', new ArrayBuffer(8)), /memFreeHost: buffer was not allocated by memAllocHost/],
    [call('memFreeHost', new Uint8Array(8)), /memFreeHost: buffer must be the ArrayBuffer memAllocHost returned/],
    [call('canAccessPeer', 0, null), /canAccessPeer: peer must be a device ordinal/],
    [call('memcpyPeer', 0, 0n, 'one', 0n, 4), /memcpyPeer: srcDevice must be a device ordinal/],
    [call('nvmlDeviceInfo', null), /nvmlDeviceInfo: device must be an NVML device index or a PCI bus id string, got null/],
    [call('nvmlTopologyCommonAncestor', 0, {}), /nvmlTopologyCommonAncestor: b must be an NVML device index/],
  ];
  for (const [run, message] of cases) assert.throws(run, (error: unknown) => error instanceof TypeError && message.test(error.message));
});

test('a look-alike handle is not accepted for a real one', { skip: buildSkipped }, () => {
  const fake = Object.freeze({ kind: 'stream', device: 0 }) as unknown as CudaStream;
  assert.throws(() => addon().streamQuery(fake), TypeError);
  assert.throws(() => addon().streamDestroy(fake), TypeError);
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

test('parses the JIT error log into lines and messages', () => {
  const log = [
    "ptxas application ptx input, line 17; error   : Not a name of any known instruction: 'madd'",
    "ptxas application ptx input, line 21; warning : Unused register %r3",
    'ptxas fatal   : Ptx assembly aborted due to errors',
    '    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads',
  ].join('\n');
  assert.deepEqual(parseJitLog(log), [
    { line: 17, severity: 'error', message: "Not a name of any known instruction: 'madd'" },
    { line: 21, severity: 'warning', message: 'Unused register %r3' },
    { severity: 'fatal', message: 'Ptx assembly aborted due to errors' },
  ]);
  assert.deepEqual(parseJitLog(''), []);
});
