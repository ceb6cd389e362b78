// "Raw": the one definition, per kind of work, of the best direct use of the API doing what the
// engine does, with everything prepared before the clock starts. Every suite takes its raw side
// from here, so a figure's baseline never differs between suites (bench/README.md lists them).
//
// - A step: write the 16-byte control block, dispatch (launch) the kernel, copy the outbox
//   counter back, wait once, read the counter. Pipeline or function, bind group, buffers and
//   host memory made beforehand. WebGPU: `writeBuffer` + one submission + `mapAsync` of a kept
//   MAP_READ buffer; CUDA: async copies from and to pinned memory, a launch, one stream wait.
// - Device to host: WebGPU, copy into a reused MAP_READ staging buffer, map, copy the bytes out
//   into reused (paged-in) host memory; CUDA, `cuMemcpyDtoHAsync` into pinned memory, one wait.
// - Host to device: WebGPU, two reused 4 MiB MAP_WRITE staging buffers in turn (map, fill,
//   unmap, copy; the fastest way measured on lavapipe and on the H100, ENVIRONMENT.md); CUDA,
//   `cuMemcpyHtoDAsync` from pinned memory, one wait.
// - Device to device: one copy command (`copyBufferToBuffer` / `cuMemcpyDtoDAsync`), one wait.
// - A new version (hot reload): compile (WebGPU: shader module + compute pipeline; CUDA: module
//   load + function lookup), queue the state's copy to host memory, then the new code's first
//   step behind it on the same queue; "running" when that step is done, "stored" when the
//   state's bytes are in host memory.
// - A compiler (validation): the validator's compiler called in a lean process of its own
//   (rawChild.ts), as the server is one: Tint through Dawn's null backend, `ptxas` (or, without
//   it, our PTX parser, as the server then uses), our MSL parser (no Metal compiler off macOS).
// - A request to another process: a bare forked Node child with the device host's IPC
//   (`serialization: 'advanced'`) that answers at once.
// - Starting up: one Node process that opens the backend and creates and steps N kernels.
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { BackendName } from '../server/src/backends/backendReport';
import type { CudaAddon, CudaAllocation, CudaFunction, CudaModule } from '../server/src/backends/cuda/cudaAddon';
import { loadCudaAddon } from '../server/src/backends/cuda/cudaAddonLoader';
import { dawnInstance } from '../server/src/backends/webgpu/dawn';
import {
  CONTROL_BYTES,
  OUTBOX_HEADER_BYTES,
  encodeControl,
  inboxBytes,
  outboxBytes,
} from '../server/src/abi/kernelAbi';
import { findPtxas, runPtxas, checkPtxText, LineIndex } from '../server/src/validation';
import { validateMslInThisThread } from '../server/src/validation/msl/mslValidator';
import type { BenchKernel } from './kernels';

export const MIB = 1024 * 1024;
/** Host-to-device chunk for WebGPU's MAP_WRITE staging buffers. */
const WRITE_CHUNK_BYTES = 4 * MIB;

/** A prepared kernel: one step of it, done directly. */
export interface RawKernel {
  step(): Promise<void>;
  destroy(): void;
}

/** A prepared transfer of a fixed size: one run of it. */
export interface RawTransfer {
  once(): Promise<void>;
  destroy(): void;
}

/** A new version of a kernel running on its state: ms until it ran, and until the state was in host memory. */
export interface RawReload {
  once(code: string): Promise<{ runningMs: number; storedMs: number }>;
  destroy(): void;
}

export interface RawBackend {
  readonly backend: BackendName;
  readonly deviceName: string;
  /** The largest buffer a kernel may bind here, bytes. */
  readonly largestBuffer: number;
  kernel(kernel: BenchKernel): Promise<RawKernel>;
  read(bytes: number): RawTransfer;
  write(bytes: number): RawTransfer;
  copy(bytes: number): RawTransfer;
  /** A kernel with `stateBytes` of state whose code is replaced by each `once`. */
  reload(kernel: BenchKernel, stateBytes: number): Promise<RawReload>;
}

const opened = new Map<BackendName, Promise<RawBackend>>();

/**
 * The backend opened in this process, once (later calls share it; it lives as long as the
 * process); rejects with the reason when it cannot run here.
 */
export function openRaw(backend: BackendName): Promise<RawBackend> {
  let raw = opened.get(backend);
  if (!raw) {
    raw = backend === 'webgpu' ? openRawDawn() : Promise.resolve().then(openRawCuda);
    opened.set(backend, raw);
  }
  return raw;
}

// ---------------------------------------------------------------------------------------------
// WebGPU, two device instances (the router suite's raw side)

/** Message bytes moved directly between buffers: within one device, or from one device instance to another. */
export interface RawDevicePair {
  readonly deviceName: string;
  /** A copy inside device A, one wait. */
  sameDevice(bytes: number): RawTransfer;
  /** Device A's buffer into a reused MAP_READ staging buffer, map, write into device B's buffer, one wait on B. */
  crossDevice(bytes: number): RawTransfer;
}

/** Two devices of the Vulkan adapter, as webgpu:0 and webgpu:1 are two device instances of it. */
export async function openRawDevicePair(): Promise<RawDevicePair> {
  // An adapter gives one device; each instance asks for its own, as the hosts do.
  const open = async (): Promise<{ adapter: GPUAdapter; device: GPUDevice }> => {
    const adapter = await dawnInstance('vulkan').requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw new Error('Dawn found no Vulkan adapter (install a Vulkan driver, or lavapipe from Mesa 24+)');
    const device = await adapter.requestDevice();
    device.addEventListener('uncapturederror', (event) => event.preventDefault());
    return { adapter, device };
  };
  const first = await open();
  const { device: a, adapter } = first;
  const { device: b } = await open();
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  return {
    deviceName: adapter.info.description || adapter.info.device || 'WebGPU adapter',
    sameDevice(bytes) {
      const from = a.createBuffer({ size: bytes, usage });
      const to = a.createBuffer({ size: bytes, usage });
      return {
        async once() {
          const encoder = a.createCommandEncoder();
          encoder.copyBufferToBuffer(from, 0, to, 0, bytes);
          a.queue.submit([encoder.finish()]);
          await a.queue.onSubmittedWorkDone();
        },
        destroy() {
          from.destroy();
          to.destroy();
        },
      };
    },
    crossDevice(bytes) {
      const from = a.createBuffer({ size: bytes, usage });
      const staging = a.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      const to = b.createBuffer({ size: bytes, usage });
      return {
        async once() {
          const encoder = a.createCommandEncoder();
          encoder.copyBufferToBuffer(from, 0, staging, 0, bytes);
          a.queue.submit([encoder.finish()]);
          await staging.mapAsync(GPUMapMode.READ);
          b.queue.writeBuffer(to, 0, staging.getMappedRange());
          staging.unmap();
          await b.queue.onSubmittedWorkDone();
        },
        destroy() {
          from.destroy();
          staging.destroy();
          to.destroy();
        },
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// WebGPU (Dawn, Vulkan)

/** The engine's explicit layout for the ABI (visibility 4 is COMPUTE: Dawn's globals are not loaded yet here). */
const ABI_LAYOUT: GPUBindGroupLayoutEntry[] = [0, 1, 2, 3].map((binding) => ({
  binding,
  visibility: 4,
  buffer: { type: binding === 0 || binding === 2 ? 'read-only-storage' : 'storage' },
}));

async function openRawDawn(): Promise<RawBackend> {
  const adapter = await dawnInstance('vulkan').requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('Dawn found no Vulkan adapter (install a Vulkan driver, or lavapipe from Mesa 24+)');
  const limits = adapter.limits;
  // The adapter's own limits, as the engine asks for them: the defaults cap buffers at 256 MiB.
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxBufferSize: limits.maxBufferSize,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    },
  });
  device.addEventListener('uncapturederror', (event) => event.preventDefault());
  const layout = device.createBindGroupLayout({ entries: ABI_LAYOUT });
  const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [layout] });
  const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const buffer = (size: number, usage = storage): GPUBuffer => device.createBuffer({ size, usage });
  const compile = (code: string): Promise<GPUComputePipeline> =>
    device.createComputePipelineAsync({
      layout: pipelineLayout,
      compute: { module: device.createShaderModule({ code }), entryPoint: 'step' },
    });

  /** The ABI buffers of a kernel and one step through them with `pipeline`. */
  const abi = (
    stateBytes: number,
  ): {
    buffers: GPUBuffer[];
    group: GPUBindGroup;
    header: GPUBuffer;
    encodeStep(encoder: GPUCommandEncoder, pipeline: GPUComputePipeline, kernel: BenchKernel, step: number): void;
  } => {
    const buffers = [buffer(CONTROL_BYTES), buffer(stateBytes), buffer(inboxBytes(1)), buffer(outboxBytes(1))];
    const group = device.createBindGroup({
      layout,
      entries: buffers.map((b, binding) => ({ binding, resource: { buffer: b } })),
    });
    const header = buffer(OUTBOX_HEADER_BYTES, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    return {
      buffers,
      group,
      header,
      encodeStep(encoder, pipeline, kernel, step) {
        const control = encodeControl({ step, kernelIndex: 0, inboxCount: 0, outboxCapacity: 1 });
        device.queue.writeBuffer(buffers[0] as GPUBuffer, 0, control.buffer, control.byteOffset, control.byteLength);
        const pass = encoder.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(...kernel.grid);
        pass.end();
        encoder.copyBufferToBuffer(buffers[3] as GPUBuffer, 0, header, 0, OUTBOX_HEADER_BYTES);
      },
    };
  };
  const readHeader = async (header: GPUBuffer): Promise<number> => {
    await header.mapAsync(GPUMapMode.READ, 0, OUTBOX_HEADER_BYTES);
    const sent = new Uint32Array(header.getMappedRange(0, OUTBOX_HEADER_BYTES))[0] ?? 0;
    header.unmap();
    return sent;
  };

  return {
    backend: 'webgpu',
    deviceName: adapter.info.description || adapter.info.device,
    largestBuffer: Math.min(device.limits.maxBufferSize, device.limits.maxStorageBufferBindingSize),
    async kernel(kernel) {
      const pipeline = await compile(kernel.source.code);
      const prepared = abi(kernel.words * 4);
      let n = 0;
      return {
        async step() {
          const encoder = device.createCommandEncoder();
          prepared.encodeStep(encoder, pipeline, kernel, n++);
          device.queue.submit([encoder.finish()]);
          await readHeader(prepared.header);
        },
        destroy: () => {
          for (const b of [...prepared.buffers, prepared.header]) b.destroy();
        },
      };
    },
    read(bytes) {
      const source = buffer(bytes);
      const staging = buffer(bytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
      const landing = new Uint8Array(bytes).fill(1);
      return {
        async once() {
          const encoder = device.createCommandEncoder();
          encoder.copyBufferToBuffer(source, 0, staging, 0, bytes);
          device.queue.submit([encoder.finish()]);
          await staging.mapAsync(GPUMapMode.READ, 0, bytes);
          landing.set(new Uint8Array(staging.getMappedRange(0, bytes)));
          staging.unmap();
        },
        destroy: () => {
          source.destroy();
          staging.destroy();
        },
      };
    },
    write(bytes) {
      const target = buffer(bytes);
      const chunk = Math.min(bytes, WRITE_CHUNK_BYTES);
      const staging = [0, 1].map(() => buffer(chunk, GPUBufferUsage.MAP_WRITE | GPUBufferUsage.COPY_SRC));
      const payload = new Uint8Array(bytes).fill(7);
      return {
        async once() {
          for (let at = 0, i = 0; at < bytes; at += chunk, i++) {
            const size = Math.min(chunk, bytes - at);
            const buf = staging[i % 2] as GPUBuffer;
            // Waits until this buffer's previous copy is done: two buffers keep the queue busy.
            await buf.mapAsync(GPUMapMode.WRITE, 0, size);
            new Uint8Array(buf.getMappedRange(0, size)).set(payload.subarray(at, at + size));
            buf.unmap();
            const encoder = device.createCommandEncoder();
            encoder.copyBufferToBuffer(buf, 0, target, at, size);
            device.queue.submit([encoder.finish()]);
          }
          await device.queue.onSubmittedWorkDone();
        },
        destroy: () => {
          target.destroy();
          for (const b of staging) b.destroy();
        },
      };
    },
    copy(bytes) {
      const from = buffer(bytes);
      const to = buffer(bytes);
      return {
        async once() {
          const encoder = device.createCommandEncoder();
          encoder.copyBufferToBuffer(from, 0, to, 0, bytes);
          device.queue.submit([encoder.finish()]);
          await device.queue.onSubmittedWorkDone();
        },
        destroy: () => {
          from.destroy();
          to.destroy();
        },
      };
    },
    reload(kernel, stateBytes) {
      const prepared = abi(stateBytes);
      const staging = buffer(stateBytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
      const landing = new Uint8Array(stateBytes).fill(1);
      let n = 0;
      return Promise.resolve({
        async once(code) {
          const started = performance.now();
          const pipeline = await compile(code);
          const encoder = device.createCommandEncoder();
          encoder.copyBufferToBuffer(prepared.buffers[1] as GPUBuffer, 0, staging, 0, stateBytes);
          prepared.encodeStep(encoder, pipeline, kernel, n++);
          device.queue.submit([encoder.finish()]);
          await readHeader(prepared.header);
          const runningMs = performance.now() - started;
          await staging.mapAsync(GPUMapMode.READ, 0, stateBytes);
          landing.set(new Uint8Array(staging.getMappedRange(0, stateBytes)));
          staging.unmap();
          return { runningMs, storedMs: performance.now() - started };
        },
        destroy: () => {
          for (const b of [...prepared.buffers, prepared.header, staging]) b.destroy();
        },
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// CUDA peer copies (two GPUs): the migration suite's raw side for CUDA devices on two GPUs

/**
 * `bytes` from CUDA device `from` to CUDA device `to` with cuMemcpyPeerAsync on a stream of `to`,
 * in one process with peer access as the driver gives it (rejects when CUDA cannot run here).
 */
export function rawPeerCopy(from: number, to: number, bytes: number): RawTransfer {
  const loaded = loadCudaAddon();
  if (!loaded.ok) throw new Error(loaded.reason);
  const cuda = loaded.addon;
  if (cuda.canAccessPeer(to, from)) {
    try {
      cuda.enablePeerAccess(to, from);
    } catch {
      // Already enabled by this process: the copy is a peer copy either way.
    }
  }
  const stream = cuda.streamCreate(to, { nonBlocking: true });
  const source = cuda.memAlloc(from, bytes);
  const destination = cuda.memAlloc(to, bytes);
  return {
    once() {
      cuda.memcpyPeerAsync(stream, destination, source, bytes);
      return cuda.streamSynchronizeAsync(stream);
    },
    destroy() {
      cuda.memFree(source);
      cuda.memFree(destination);
      cuda.streamDestroy(stream);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// CUDA (the driver API through the project's addon: the same calls a C program would make)

function openRawCuda(): RawBackend {
  const loaded = loadCudaAddon();
  if (!loaded.ok) throw new Error(loaded.reason);
  const cuda = loaded.addon;
  const status = cuda.driverStatus();
  if (!status.available) throw new Error(status.reason ?? 'the CUDA driver did not initialise');
  const stream = cuda.streamCreate(0, { nonBlocking: true });
  const pinned = (bytes: number): Uint8Array<ArrayBuffer> => new Uint8Array(cuda.memAllocHost(0, bytes), 0, bytes);

  /** The ABI buffers of a kernel, pinned control and header memory, and one step's commands. */
  const abi = (
    stateBytes: number,
  ): {
    pointers: CudaAllocation[];
    control: Uint8Array<ArrayBuffer>;
    header: Uint8Array<ArrayBuffer>;
    enqueueStep(fn: CudaFunction, kernel: BenchKernel, step: number): void;
    free(): void;
  } => {
    const pointers = [CONTROL_BYTES, stateBytes, inboxBytes(1), outboxBytes(1)].map((bytes) => cuda.memAlloc(0, bytes));
    for (const [i, bytes] of [CONTROL_BYTES, stateBytes, inboxBytes(1), outboxBytes(1)].entries())
      cuda.memsetD8(pointers[i] as CudaAllocation, 0, bytes);
    const control = pinned(CONTROL_BYTES);
    const header = pinned(OUTBOX_HEADER_BYTES);
    return {
      pointers,
      control,
      header,
      enqueueStep(fn, kernel, step) {
        control.set(encodeControl({ step, kernelIndex: 0, inboxCount: 0, outboxCapacity: 1 }));
        cuda.memcpyHtoDAsync(stream, pointers[0] as CudaAllocation, control);
        cuda.launchKernel(fn, { grid: kernel.grid, block: kernel.block, stream }, pointers);
        cuda.memcpyDtoHAsync(stream, header, pointers[3] as CudaAllocation);
      },
      free() {
        for (const p of pointers) cuda.memFree(p);
        cuda.memFreeHost(control.buffer);
        cuda.memFreeHost(header.buffer);
      },
    };
  };
  const load = async (code: string): Promise<{ module: CudaModule; fn: CudaFunction }> => {
    const { module } = await cuda.moduleLoad(0, code);
    return { module, fn: cuda.getFunction(module, 'step') };
  };
  /** A device buffer and a pinned host buffer of `bytes`, and a transfer between them. */
  const transfer = (
    bytes: number,
    enqueue: (device: CudaAllocation, host: Uint8Array<ArrayBuffer>) => void,
  ): RawTransfer => {
    const device = cuda.memAlloc(0, bytes);
    const host = pinned(bytes);
    host.fill(7);
    return {
      once() {
        enqueue(device, host);
        return cuda.streamSynchronizeAsync(stream);
      },
      destroy() {
        cuda.memFree(device);
        cuda.memFreeHost(host.buffer);
      },
    };
  };
  return {
    backend: 'cuda',
    deviceName: cuda.deviceInfo(0).name,
    largestBuffer: cuda.memGetInfo(0).free,
    async kernel(kernel) {
      const { module, fn } = await load(kernel.source.code);
      const prepared = abi(kernel.words * 4);
      let n = 0;
      return {
        step() {
          prepared.enqueueStep(fn, kernel, n++);
          return cuda.streamSynchronizeAsync(stream);
        },
        destroy() {
          prepared.free();
          cuda.moduleUnload(module);
        },
      };
    },
    read: (bytes) => transfer(bytes, (device, host) => cuda.memcpyDtoHAsync(stream, host, device)),
    write: (bytes) => transfer(bytes, (device, host) => cuda.memcpyHtoDAsync(stream, device, host)),
    copy(bytes) {
      const from = cuda.memAlloc(0, bytes);
      const to = cuda.memAlloc(0, bytes);
      return {
        once() {
          cuda.memcpyDtoDAsync(stream, to, from, bytes);
          return cuda.streamSynchronizeAsync(stream);
        },
        destroy() {
          cuda.memFree(from);
          cuda.memFree(to);
        },
      };
    },
    reload(kernel, stateBytes) {
      const prepared = abi(stateBytes);
      const landing = pinned(stateBytes);
      let n = 0;
      let current: CudaModule | undefined;
      return Promise.resolve({
        async once(code) {
          const started = performance.now();
          const { module, fn } = await load(code);
          cuda.memcpyDtoHAsync(stream, landing, prepared.pointers[1] as CudaAllocation);
          prepared.enqueueStep(fn, kernel, n++);
          await cuda.streamSynchronizeAsync(stream);
          // The state's copy ran ahead of the step on the same stream: both are done now.
          const ms = performance.now() - started;
          if (current) cuda.moduleUnload(current);
          current = module;
          return { runningMs: ms, storedMs: ms };
        },
        destroy() {
          prepared.free();
          cuda.memFreeHost(landing.buffer);
          if (current) cuda.moduleUnload(current);
        },
      });
    },
  };
}

/** The addon when CUDA can run here, else why not. */
export function cudaAvailability(): { ok: true; addon: CudaAddon } | { ok: false; reason: string } {
  const loaded = loadCudaAddon();
  if (!loaded.ok) return { ok: false, reason: loaded.reason };
  const status = loaded.addon.driverStatus();
  if (!status.available) return { ok: false, reason: status.reason ?? 'the CUDA driver did not initialise' };
  return { ok: true, addon: loaded.addon };
}

// ---------------------------------------------------------------------------------------------
// Compilers (validation), called directly

export type ValidatedLanguage = 'wgsl' | 'ptx' | 'msl';

/** The compiler the server's validator runs for `language`, as a function of the text; and its name. */
export async function rawCompiler(
  language: ValidatedLanguage,
): Promise<{ name: string; run(text: string): Promise<unknown> }> {
  if (language === 'wgsl') {
    const adapter = await dawnInstance('null').requestAdapter();
    if (!adapter) throw new Error("Dawn's null backend gave no adapter");
    // Every feature the adapter offers, as the Tint host opens its device (so `enable f16;` passes).
    const device = await adapter.requestDevice({ requiredFeatures: [...adapter.features] as GPUFeatureName[] });
    device.addEventListener('uncapturederror', (event) => event.preventDefault());
    return {
      name: 'Tint (Dawn null backend)',
      // The fastest way measured to Tint's answer: waiting for getCompilationInfo alone took
      // about 1 ms more, waiting on Dawn's event processing; with the error scope's answer awaited
      // beside it (as the Tint host does) both come back at once.
      run: async (text) => {
        device.pushErrorScope('validation');
        const module = device.createShaderModule({ code: text });
        return Promise.all([device.popErrorScope(), module.getCompilationInfo()]);
      },
    };
  }
  if (language === 'ptx') {
    const found = await findPtxas();
    if (!found.found)
      return {
        name: 'RingKernel PTX parser (no ptxas)',
        run: (text) => Promise.resolve(checkPtxText(text, new LineIndex(text))),
      };
    // The same -arch as the server's validator: the module's .target.
    return {
      name: `ptxas (${found.tool.path})`,
      run: (text) => runPtxas(found.tool, text, { target: /^\s*\.target\s+(sm_\w+)/m.exec(text)?.[1] }),
    };
  }
  // No Metal compiler off macOS: the server's validator is our parser (the pre-pass, tree-sitter's
  // C++ grammar, the walk for errors, the kernel signature checks), so raw is that same work, in
  // the calling thread (the server hands it to its parser's worker thread).
  await validateMslInThisThread('kernel void warm() {}');
  return {
    name: 'RingKernel MSL parser in the calling thread (tree-sitter C++ on the Metal pre-pass, errors, signatures)',
    run: (text) => validateMslInThisThread(text),
  };
}

// ---------------------------------------------------------------------------------------------
// Raw processes (bench/rawChild.ts)

/** The raw child's script, built beside this bundle (out/bench/rawChild.js). */
export function rawChildScript(): string {
  return join(__dirname, 'rawChild.js');
}

/** A message to the raw child and its answer. */
export interface RawChildRequest {
  id: number;
  op: string;
  args: unknown;
}
export interface RawChildReply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

/** A forked raw child (echo or compiler), asked one request at a time. */
export class RawChild {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();

  private constructor(
    private readonly child: ChildProcess,
    readonly mode: string,
  ) {
    child.on('message', (reply: RawChildReply) => {
      const wait = this.waiting.get(reply.id);
      if (!wait) return;
      this.waiting.delete(reply.id);
      if (reply.ok) wait.resolve(reply.result);
      else wait.reject(new Error(`raw ${mode} child: ${reply.error ?? 'failed'}`));
    });
    child.on('exit', (code, signal) => {
      for (const wait of this.waiting.values())
        wait.reject(new Error(`raw ${mode} child exited (${signal ?? `code ${code}`})`));
      this.waiting.clear();
    });
  }

  /** `echo`: answers every request at once with its arguments; `compiler`: runs rawCompiler. */
  static start(mode: 'echo' | 'compiler'): RawChild {
    const child = fork(rawChildScript(), [mode], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'advanced',
      execArgv: [],
    });
    return new RawChild(child, mode);
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`the raw ${this.mode} child did not start`);
    return this.child.pid;
  }

  ask<T>(op: string, args: unknown): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: (value) => resolve(value as T), reject });
      this.child.send({ id, op, args } satisfies RawChildRequest);
    });
  }

  dispose(): void {
    this.child.kill('SIGKILL');
  }
}

/**
 * Raw start-up, run inside the raw child (`rawChild.js start BACKEND N`): opens the backend,
 * creates N kernels (compile, allocate) and steps each once. Resolves when all ran.
 */
export async function rawStart(
  backend: BackendName,
  count: number,
  kernelFor: (i: number) => BenchKernel,
): Promise<void> {
  const raw = await openRaw(backend);
  for (let i = 0; i < count; i++) {
    const kernel = await raw.kernel(kernelFor(i));
    await kernel.step();
  }
}
