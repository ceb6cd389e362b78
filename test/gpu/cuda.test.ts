// The CUDA addon on a machine with an NVIDIA GPU (RINGKERNEL_TEST_GPU=1): devices, primary
// contexts, PTX JIT (good and broken modules), launches checked element by element, copies in every
// direction with their bandwidth, events, non-blocking waits, peer access and NVML.
// Figures are printed, and written as JSON to $RINGKERNEL_GPU_RESULTS when set.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, test } from 'node:test';
import {
  isCudaError,
  type CudaAddon,
  type CudaFunction,
  type CudaModule,
  type ModuleLoadResult,
} from '../../server/src/backends/cuda/cudaAddon';
import { loadCudaAddon } from '../../server/src/backends/cuda/cudaAddonLoader';
import { parsePtxasLog } from '../../server/src/validation/ptxasLog';
import { fixture } from '../support/repo';

const skip =
  process.env.RINGKERNEL_TEST_GPU === '1'
    ? false
    : 'needs an NVIDIA GPU: set RINGKERNEL_TEST_GPU=1 on a machine with one';
const timeout = 120_000;
const figures: Record<string, unknown> = {};

function record(key: string, value: unknown): void {
  figures[key] = value;
  console.log(`${key}: ${JSON.stringify(value)}`);
}

after(() => {
  const file = process.env.RINGKERNEL_GPU_RESULTS;
  if (file && Object.keys(figures).length > 0) writeFileSync(file, `${JSON.stringify(figures, null, 2)}\n`);
});

function cuda(): CudaAddon {
  const loaded = loadCudaAddon();
  assert.ok(loaded.ok, loaded.ok ? '' : loaded.reason);
  return loaded.addon;
}

interface Kernels {
  loaded: ModuleLoadResult;
  fn: (name: string) => CudaFunction;
}
let kernels: Promise<Kernels> | undefined;
function kernelModule(): Promise<Kernels> {
  kernels ??= cuda()
    .moduleLoad(0, readFileSync(fixture('ptx', 'kernels.ptx'), 'utf8'))
    .then((loaded) => ({ loaded, fn: (name: string) => cuda().getFunction(loaded.module, name) }));
  return kernels;
}

const round = (value: number, digits = 2): number => Number(value.toFixed(digits));
const gbPerSecond = (bytes: number, ms: number): number => round(bytes / (ms / 1000) / 1e9, 1);
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

test('the driver loads through cuGetProcAddress and initialises', { skip, timeout }, () => {
  const status = cuda().driverStatus();
  assert.ok(status.available, status.reason);
  assert.equal(status.apiVersion, 12000);
  assert.ok((status.driverVersion ?? 0) >= 12000);
  record('driver', {
    driverVersion: status.driverVersion,
    libraryPath: status.libraryPath,
    loadMs: round(status.loadMs ?? 0),
    cuInitMs: round(status.initMs ?? 0),
    missingEntryPoints: status.missingEntryPoints,
  });
});

test('enumerates every device with its attributes and retains its primary context', { skip, timeout }, () => {
  const addon = cuda();
  const count = addon.deviceCount();
  assert.ok(count >= 1);
  for (let ordinal = 0; ordinal < count; ordinal++) {
    const info = addon.deviceInfo(ordinal);
    assert.equal(info.ordinal, ordinal);
    assert.ok(info.name.length > 0);
    assert.match(info.uuid, /^GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.match(info.pciBusId, /^[0-9a-f]{4,8}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/);
    assert.ok(info.totalMem > 1e9);
    assert.ok(info.computeCapability.major >= 5);
    assert.equal(info.warpSize, 32);
    assert.ok(info.multiprocessorCount > 0 && info.maxThreadsPerBlock >= 1024);
    assert.equal(info.maxBlockDim.length, 3);
    assert.ok(info.maxGridDim[0] >= 65535 && info.sharedMemPerBlock >= 48 * 1024);
    assert.ok(info.unifiedAddressing);
    record(`device${ordinal}`, info);

    const started = performance.now();
    const memory = addon.memGetInfo(ordinal);
    const firstMs = performance.now() - started;
    assert.ok(memory.free > 0 && memory.free <= memory.total && memory.total <= info.totalMem);
    record(`device${ordinal}.primaryContext`, { firstUseMs: round(firstMs), memory });
  }
  assert.throws(
    () => addon.deviceInfo(count),
    (e: unknown) =>
      isCudaError(e) && e.name === 'CUDA_ERROR_INVALID_DEVICE' && /there is no CUDA device/.test(e.message),
  );
});

test('JIT-compiles a PTX module and describes its entry points', { skip, timeout }, async () => {
  const addon = cuda();
  const { loaded, fn } = await kernelModule();
  assert.equal(loaded.module.kind, 'module');
  assert.equal(loaded.module.device, 0);
  const vectorAdd = fn('vector_add');
  assert.equal(vectorAdd.name, 'vector_add');
  const info = addon.functionInfo(vectorAdd);
  assert.ok(info.numRegs > 0 && info.maxThreadsPerBlock > 0);
  if (info.params !== null)
    assert.deepEqual(
      info.params.map((p) => p.size),
      [8, 8, 8, 4],
    );

  // Reloading, as hot reload does: load the new module, then unload the old one.
  const source = readFileSync(fixture('ptx', 'kernels.ptx'), 'utf8');
  const jit: number[] = [];
  const swap: number[] = [];
  let previous: CudaModule = (await addon.moduleLoad(0, source)).module;
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    const next = await addon.moduleLoad(0, source);
    addon.moduleUnload(previous);
    swap.push(performance.now() - started);
    jit.push(next.jitMs);
    previous = next.module;
  }
  addon.moduleUnload(previous);
  assert.throws(
    () => addon.getFunction(previous, 'vector_add'),
    (e: unknown) => isCudaError(e) && e.name === 'CUDA_ERROR_INVALID_HANDLE',
  );
  record('jit', {
    firstLoadMs: round(loaded.jitMs),
    firstWallTimeMs: round(loaded.wallTimeMs),
    medianLoadMs: round(median(jit)),
    medianLoadAndSwapMs: round(median(swap)),
    functionInfo: info,
    infoLog: parsePtxasLog(loaded.infoLog).slice(0, 6),
  });
});

test('runs a vector add and every element is right', { skip, timeout }, async () => {
  const addon = cuda();
  const vectorAdd = (await kernelModule()).fn('vector_add');
  const n = (1 << 20) + 37;
  const a = new Float32Array(n);
  const b = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = i * 0.5;
    b[i] = (n - i) * 0.25;
  }
  const bytes = n * 4;
  const [da, db, dc] = [addon.memAlloc(0, bytes), addon.memAlloc(0, bytes), addon.memAlloc(0, bytes)];
  try {
    assert.deepEqual({ kind: da.kind, device: da.device, bytes: da.bytes }, { kind: 'allocation', device: 0, bytes });
    addon.memcpyHtoD(da, a);
    addon.memcpyHtoD(db, b);
    addon.memsetD8(dc, 0xff, bytes);
    const block = 256;
    addon.launchKernel(vectorAdd, { grid: [Math.ceil(n / block)], block: [block] }, [
      da,
      db,
      dc,
      { type: 'u32', value: n },
    ]);
    addon.deviceSynchronize(0);
    const c = new Float32Array(n);
    addon.memcpyDtoH(c, dc);
    for (let i = 0; i < n; i++) {
      if (c[i] !== Math.fround(a[i]! + b[i]!)) assert.fail(`c[${i}] is ${c[i]}, expected ${a[i]! + b[i]!}`);
    }
  } finally {
    for (const p of [da, db, dc]) addon.memFree(p);
  }
});

test('passes f32, u32 and u64 scalars and the four-pointer kernel ABI', { skip, timeout }, async () => {
  const addon = cuda();
  const { fn } = await kernelModule();
  const n = 1000;
  const data = Float32Array.from({ length: n }, (_, i) => i);
  const d = addon.memAlloc(0, n * 4);
  const control = addon.memAlloc(0, 16);
  const state = addon.memAlloc(0, 16);
  const inbox = addon.memAlloc(0, 16);
  const outbox = addon.memAlloc(0, 16);
  try {
    addon.memcpyHtoD(d, data);
    addon.launchKernel(fn('scale_f32'), { grid: 4, block: 256 }, [
      d,
      { type: 'f32', value: 1.5 },
      { type: 'u32', value: n },
    ]);
    const scaled = new Float32Array(n);
    addon.memcpyDtoH(scaled, d);
    for (let i = 0; i < n; i++) assert.equal(scaled[i], Math.fround(i * 1.5), `element ${i}`);

    addon.memcpyHtoD(control, Uint32Array.of(5, 0, 0, 0));
    addon.memcpyHtoD(state, Uint32Array.of(7, 0, 0, 0));
    addon.memcpyHtoD(inbox, Uint32Array.of(11, 0, 0, 0));
    addon.memsetD8(outbox, 0, 16);
    const step = fn('abi_step');
    for (let i = 0; i < 2; i++) addon.launchKernel(step, { grid: 1, block: 32 }, [control, state, inbox, outbox]);
    const out = new Uint32Array(4);
    const stateOut = new Uint32Array(4);
    addon.memcpyDtoH(out, outbox);
    addon.memcpyDtoH(stateOut, state);
    assert.equal(out[0], 23);
    assert.equal(stateOut[1], 2);

    addon.launchKernel(fn('spin'), { grid: 1, block: 1 }, [{ type: 'u64', value: 1000n }]);
    addon.deviceSynchronize(0);
  } finally {
    for (const p of [d, control, state, inbox, outbox]) addon.memFree(p);
  }
});

test('refuses a launch whose arguments do not match the kernel signature', { skip, timeout }, async (t) => {
  const addon = cuda();
  const vectorAdd = (await kernelModule()).fn('vector_add');
  if (addon.functionInfo(vectorAdd).params === null) {
    t.skip('this driver cannot describe kernel parameters (cuFuncGetParamInfo needs CUDA 12.4)');
    return;
  }
  assert.throws(
    () => addon.launchKernel(vectorAdd, { grid: 1, block: 1 }, [1n, 2n, 3n]),
    /kernel 'vector_add' takes 4 parameters of sizes \[8, 8, 8, 4\] bytes but got 3/,
  );
  assert.throws(
    () => addon.launchKernel(vectorAdd, { grid: 1, block: 1 }, [1n, 2n, 3n, 4n]),
    /but got 4 of sizes \[8, 8, 8, 8\]/,
  );
});

test('reports a broken module with the JIT log line and message', { skip, timeout }, async () => {
  const addon = cuda();
  await assert.rejects(addon.moduleLoad(0, readFileSync(fixture('ptx', 'bad.ptx'), 'utf8')), (error: unknown) => {
    assert.ok(isCudaError(error));
    assert.equal(error.name, 'CUDA_ERROR_INVALID_PTX');
    // PTX is compiled by the driver's linker (native/src/module.cc says why).
    assert.match(error.call, /^cuLink(AddData_v2|Complete)$/);
    assert.ok(error.code > 0);
    assert.match(error.message, /line 17/);
    const diagnostics = parsePtxasLog(error.errorLog ?? '');
    const first = diagnostics.find((d) => d.kind === 'error');
    assert.ok(first, `no error in the log: ${error.errorLog ?? '(none)'}`);
    assert.equal(first.line, 17);
    assert.match(first.message, /madd/);
    record('badModule', { message: error.message, diagnostics });
    return true;
  });
});

test('names the entry point a module does not have', { skip, timeout }, async () => {
  const { fn } = await kernelModule();
  assert.throws(
    () => fn('no_such_kernel'),
    (e: unknown) =>
      isCudaError(e) && e.name === 'CUDA_ERROR_NOT_FOUND' && /no entry point named 'no_such_kernel'/.test(e.message),
  );
});

test('copies in every direction, checked byte for byte, with their bandwidth', { skip, timeout }, () => {
  const addon = cuda();
  const size = 256 * 1024 * 1024;
  const repeats = 3;
  const pageable = Buffer.allocUnsafe(size);
  const words = new Uint32Array(pageable.buffer, pageable.byteOffset, size / 4);
  for (let i = 0; i < words.length; i++) words[i] = Math.imul(i, 2654435761) >>> 0;
  const d1 = addon.memAlloc(0, size);
  const d2 = addon.memAlloc(0, size);
  const pinned = addon.memAllocHost(0, size);
  const pinnedBytes = new Uint8Array(pinned);
  const stream = addon.streamCreate(0);
  const start = addon.eventCreate(0);
  const end = addon.eventCreate(0);
  const best = (run: () => number): number => Math.min(...Array.from({ length: repeats }, run));
  const wall = (copy: () => void) => () => {
    const started = performance.now();
    copy();
    addon.deviceSynchronize(0);
    return performance.now() - started;
  };
  const timed = (copy: () => void) => () => {
    addon.eventRecord(start, stream);
    copy();
    addon.eventRecord(end, stream);
    addon.eventSynchronize(end);
    return addon.eventElapsedTime(start, end);
  };
  try {
    const results: Record<string, number> = {};
    results.htodPageable = gbPerSecond(size, best(wall(() => addon.memcpyHtoD(d1, pageable))));
    pinnedBytes.set(pageable);
    results.htodPinned = gbPerSecond(size, best(wall(() => addon.memcpyHtoD(d1, pinned))));
    results.dtod = gbPerSecond(size, best(timed(() => addon.memcpyDtoDAsync(stream, d2, d1, size))));
    addon.memcpyDtoD(d2, d1, size);
    const back = Buffer.alloc(size);
    results.dtohPageable = gbPerSecond(size, best(wall(() => addon.memcpyDtoH(back, d2))));
    assert.ok(back.equals(pageable), 'host -> device -> device -> host changed the bytes');
    pinnedBytes.fill(0);
    results.dtohPinned = gbPerSecond(size, best(wall(() => addon.memcpyDtoH(pinned, d2))));
    assert.ok(Buffer.from(pinned).equals(pageable), 'device -> pinned host changed the bytes');
    results.htodPinnedAsync = gbPerSecond(size, best(timed(() => addon.memcpyHtoDAsync(stream, d1, pinned))));
    results.dtohPinnedAsync = gbPerSecond(size, best(timed(() => addon.memcpyDtoHAsync(stream, pinned, d1))));
    results.peerSameDevice = gbPerSecond(size, best(wall(() => addon.memcpyPeer(d2, d1, size))));
    record('bandwidthGBps', { bytes: size, ...results });

    // Offsets: { allocation, offset } on the device side, views on the host side.
    const part = Uint32Array.of(1, 2, 3, 4);
    addon.memcpyHtoD({ allocation: d1, offset: 1024 }, part);
    const readBack = new Uint32Array(8);
    addon.memcpyDtoH(readBack.subarray(2, 6), { allocation: d1, offset: 1024n });
    assert.deepEqual([...readBack], [0, 0, 1, 2, 3, 4, 0, 0]);
    addon.memsetD8(d1, 0xab, 4096);
    const set = new Uint8Array(4096);
    addon.memcpyDtoH(set, d1);
    assert.ok(set.every((v) => v === 0xab));

    // A copy that would run past its allocation is refused before the driver sees it.
    assert.throws(
      () => addon.memcpyHtoD({ allocation: d1, offset: size - 8 }, new Uint8Array(16)),
      (e: unknown) =>
        isCudaError(e) && e.name === 'CUDA_ERROR_INVALID_VALUE' && /runs past its allocation/.test(e.message),
    );
    assert.throws(() => addon.memcpyDtoD(d2, d1, size + 1), /runs past its allocation/);
    assert.throws(
      () => addon.memcpyDtoH(new Uint8Array(4), { allocation: d1, offset: size + 1 }),
      /src\.offset \d+ lies past the end of its allocation/,
    );
    // Argument checks that need a real allocation to get that far.
    const loose = addon as unknown as Record<string, (...args: unknown[]) => unknown>;
    assert.throws(() => loose.memsetD8!(d1, 256, 1), /memsetD8: value must be a byte \(0 to 255\)/);
    assert.throws(
      () => loose.memcpyHtoD!(d1, [1, 2, 3]),
      /memcpyHtoD: src must be an ArrayBuffer, Buffer, typed array or DataView, got an array/,
    );
    assert.throws(() => loose.memcpyDtoH!('buffer', d1), /memcpyDtoH: dst must be an ArrayBuffer/);
    assert.throws(() => loose.memcpyHtoD!({ allocation: d1, offset: -1 }, part), /dst\.offset must be a byte offset/);
  } finally {
    addon.streamDestroy(stream);
    addon.eventDestroy(start);
    addon.eventDestroy(end);
    addon.memFree(d1);
    addon.memFree(d2);
    addon.memFreeHost(pinned);
  }
  assert.equal(pinned.byteLength, 0, 'memFreeHost detaches the buffer');
  // A freed allocation is refused by its handle; there is no address left to misuse.
  assert.throws(
    () => addon.memcpyHtoD(d1, new Uint8Array(16)),
    (e: unknown) =>
      isCudaError(e) && e.name === 'CUDA_ERROR_INVALID_HANDLE' && /the allocation was already freed/.test(e.message),
  );
  assert.throws(
    () => addon.memFree(d1),
    (e: unknown) => isCudaError(e) && e.name === 'CUDA_ERROR_INVALID_HANDLE',
  );
  assert.throws(() => addon.memFreeHost(pinned), TypeError);
});

test(
  'times GPU work with events and waits for it without blocking the JavaScript thread',
  { skip, timeout },
  async () => {
    const addon = cuda();
    const { fn } = await kernelModule();
    const { clockRateKHz } = addon.deviceInfo(0);
    const stream = addon.streamCreate(0, { nonBlocking: true });
    const start = addon.eventCreate(0);
    const end = addon.eventCreate(0, { blockingSync: true });
    const cycles = BigInt(clockRateKHz) * 300n; // about 300 ms at the reported clock
    addon.eventRecord(start, stream);
    addon.launchKernel(fn('spin'), { grid: 1, block: 1, stream }, [{ type: 'u64', value: cycles }]);
    addon.eventRecord(end, stream);
    assert.equal(addon.streamQuery(stream), false, 'the spin kernel finished before we could wait for it');

    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const started = performance.now();
    await addon.streamSynchronizeAsync(stream);
    const waitedMs = performance.now() - started;
    clearInterval(timer);

    assert.equal(addon.streamQuery(stream), true);
    assert.equal(addon.eventQuery(end), true);
    await addon.eventSynchronizeAsync(end);
    await addon.deviceSynchronizeAsync(0);
    const elapsedMs = addon.eventElapsedTime(start, end);
    assert.ok(elapsedMs > 50, `the spin kernel took ${elapsedMs} ms`);
    assert.ok(ticks >= 3, `timers fired ${ticks} times while waiting ${waitedMs} ms`);
    record('events', {
      spinCycles: Number(cycles),
      eventElapsedMs: round(elapsedMs),
      waitedMs: round(waitedMs),
      timerTicksWhileWaiting: ticks,
    });

    addon.streamDestroy(stream);
    assert.throws(
      () => addon.streamQuery(stream),
      (e: unknown) => isCudaError(e) && e.name === 'CUDA_ERROR_INVALID_HANDLE' && /already destroyed/.test(e.message),
    );
  },
);

test('peer access between every pair of devices', { skip, timeout }, () => {
  const addon = cuda();
  const count = addon.deviceCount();
  assert.equal(addon.canAccessPeer(0, 0), false);
  assert.equal(addon.p2pAttributes(0, 0).performanceRank, 0);
  const pairs: unknown[] = [];
  for (let a = 0; a < count; a++) {
    for (let b = 0; b < count; b++) {
      if (a === b) continue;
      const can = addon.canAccessPeer(a, b);
      const attributes = addon.p2pAttributes(a, b);
      assert.equal(attributes.accessSupported, can);
      pairs.push({ a, b, canAccessPeer: can, ...attributes });
      if (!can) continue;
      addon.enablePeerAccess(a, b);
      assert.equal(addon.enablePeerAccess(a, b), false, 'enabling twice reports it was already on');
      const size = 64 * 1024 * 1024;
      const src = addon.memAlloc(a, size);
      const dst = addon.memAlloc(b, size);
      const data = Buffer.alloc(size, a * 16 + b);
      addon.memcpyHtoD(src, data);
      const started = performance.now();
      addon.memcpyPeer(dst, src, size);
      addon.deviceSynchronize(b);
      const ms = performance.now() - started;
      const back = Buffer.alloc(size);
      addon.memcpyDtoH(back, dst);
      assert.ok(back.equals(data));
      pairs.push({ a, b, peerCopyGBps: gbPerSecond(size, ms) });
      // Within one device only: between devices the error names the peer copy.
      assert.throws(
        () => addon.memcpyDtoD(dst, src, 16),
        (e: unknown) =>
          isCudaError(e) && e.name === 'DEVICE_MISMATCH' && /use memcpyPeer|with memcpyPeer/.test(e.message),
      );
      addon.memFree(src);
      addon.memFree(dst);
      assert.equal(addon.disablePeerAccess(a, b), true);
    }
  }
  record('peer', count > 1 ? pairs : 'one device: no pairs');
});

test('NVML describes each GPU, its NVLinks and its place in the PCIe topology', { skip, timeout }, () => {
  const addon = cuda();
  const status = addon.nvmlStatus();
  assert.ok(status.available, status.reason);
  record('nvml', {
    driverVersion: status.driverVersion,
    nvmlVersion: status.nvmlVersion,
    deviceCount: status.deviceCount,
    initMs: round(status.initMs ?? 0),
    missingEntryPoints: status.missingEntryPoints,
  });
  const count = addon.deviceCount();
  for (let ordinal = 0; ordinal < count; ordinal++) {
    const cudaInfo = addon.deviceInfo(ordinal);
    const info = addon.nvmlDeviceInfo(cudaInfo.pciBusId);
    assert.equal(info.pciBusId, cudaInfo.pciBusId);
    assert.equal(info.uuid.toLowerCase(), cudaInfo.uuid.toLowerCase());
    assert.ok(info.name.length > 0);
    if (info.memory !== null) assert.ok(info.memory.total > 0);
    assert.equal(typeof info.nvlink.supported, 'boolean');
    for (const link of info.nvlink.links) {
      if (link.active && link.remoteDeviceType !== null)
        assert.ok(['GPU', 'IBMNPU', 'SWITCH', 'UNKNOWN'].includes(link.remoteDeviceType));
    }
    if (info.index !== null) assert.equal(addon.nvmlDeviceInfo(info.index).pciBusId, info.pciBusId);
    record(`nvmlDevice${ordinal}`, info);
  }
  const topology: Record<string, string> = {};
  for (let a = 0; a < count; a++) {
    for (let b = 0; b < count; b++) {
      try {
        topology[`${a}-${b}`] = addon.nvmlTopologyCommonAncestor(a, b);
      } catch (error) {
        assert.ok(isCudaError(error), String(error));
        topology[`${a}-${b}`] = error.name;
      }
    }
  }
  record('topologyCommonAncestor', topology);
});
