// The WebGPU backend: Dawn's Vulkan adapters (lavapipe on machines without a GPU). Runs inside a
// device host. Every call is wrapped in error scopes so Dawn's errors come back as GpuErrors
// naming the kernel and device, never printed to stdout.
import type { BackendName } from '../backendReport';
import type {
  BufferHandle,
  DeviceInfo,
  GpuBackend,
  CompiledKernelHandle,
  KernelSource,
  StepIo,
  StepLaunch,
  StepTiming,
  Timing,
} from '../backend';
import { GpuError } from '../gpuError';
import { BINDING, OUTBOX_HEADER_BYTES, SLOT_BYTES } from '../../abi/kernelAbi';
import { dawnInstance } from './dawn';
import { errorMessage } from '../../logger';
import { gpuDigestBlockBytes } from '../deviceDigests';
import { WebGpuDigestKernel, type DigestDevice } from './webgpuDigests';

interface OpenDevice {
  info: DeviceInfo;
  device: GPUDevice;
  layout: GPUBindGroupLayout;
  pipelineLayout: GPUPipelineLayout;
  lost: string | undefined;
}

/** The ABI's four bindings: control and inbox are read-only storage; state and outbox read-write. */
const ABI_LAYOUT: GPUBindGroupLayoutEntry[] = [
  { binding: BINDING.control, visibility: 0x4, buffer: { type: 'read-only-storage' } },
  { binding: BINDING.state, visibility: 0x4, buffer: { type: 'storage' } },
  { binding: BINDING.inbox, visibility: 0x4, buffer: { type: 'read-only-storage' } },
  { binding: BINDING.outbox, visibility: 0x4, buffer: { type: 'storage' } },
];

interface CompiledKernel {
  pipeline: GPUComputePipeline;
  handle: CompiledKernelHandle;
  /**
   * Receives the outbox header and the slots the step asked for after every step, in the step's
   * own submission, so a step needs one wait, not three. Grown to the largest copy asked for.
   */
  readback: GPUBuffer;
  /** The bind group of the last step, reused while the kernel's buffers stay the same. */
  bindGroup?: { key: string; group: GPUBindGroup };
}

/** The outbox counter, word 0 of the header: what a step resets. */
const OUTBOX_COUNTER_BYTES = 4;

/** A kernel's mappable buffer for the outbox copied back by its steps. */
function outboxReadback(device: GPUDevice, label: string, bytes: number): GPUBuffer {
  return device.createBuffer({
    label: `${label}.outbox-readback`,
    size: Math.max(OUTBOX_HEADER_BYTES, Math.ceil(bytes / 4) * 4),
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
}

/** Writes go through MAP_WRITE staging buffers of this size (see writeWith). */
const WRITE_CHUNK_BYTES = 4 * 1024 * 1024;
/** Piecewise reads go through MAP_READ staging buffers of this size (see readPieces). */
const PIECE_BYTES = 4 * 1024 * 1024;

type StagingPairs = Map<number, { buffers: GPUBuffer[]; busy: boolean }>;

/** A device's kept pair of staging buffers (`size` bytes each) for `usage`, or a fresh pair while the kept one is in use. */
function takePair(pairs: StagingPairs, index: number, device: GPUDevice, usage: number, size: number): GPUBuffer[] {
  const kept = pairs.get(index);
  const make = (): GPUBuffer[] => [0, 1].map(() => device.createBuffer({ size, usage }));
  if (kept && !kept.busy) {
    kept.busy = true;
    return kept.buffers;
  }
  if (kept) return make();
  const buffers = make();
  pairs.set(index, { buffers, busy: true });
  return buffers;
}

function returnPair(pairs: StagingPairs, index: number, buffers: GPUBuffer[]): void {
  const kept = pairs.get(index);
  if (kept?.buffers === buffers) kept.busy = false;
  else for (const buffer of buffers) buffer.destroy();
}
/** Reads larger than this get a staging buffer of their own instead of growing the kept one. */
const READ_STAGING_LIMIT = 1024 * 1024 * 1024;

const NO_ADAPTER_HELP =
  'Dawn found no Vulkan adapter. Install a Vulkan driver for your GPU; on a machine without a GPU, ' +
  "install Mesa's software driver lavapipe, version 24 or newer (Debian bookworm: scripts/install-system-deps.sh " +
  'installs it from bookworm-backports; Mesa 22 is rejected by Dawn).';

/**
 * Human names for an adapter. Dawn's `device` is the GPU's name in lower case with dashes
 * ("nvidia-h100-80gb-hbm3") and `description` the driver's ("NVIDIA: 580.159.04"), except for
 * software drivers, whose description is the better name ("llvmpipe: Mesa 25.0.7 (LLVM 15)").
 */
export function adapterNames(info: GPUAdapterInfo): { name: string; vendor: string; detail: string } {
  const software =
    info.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(`${info.device} ${info.description}`);
  const gpuName = info.device
    .split('-')
    .map((word) => word.toUpperCase())
    .join(' ')
    .trim();
  if (software)
    return {
      name: info.description || info.device || 'software Vulkan',
      vendor: info.vendor || 'unknown',
      detail: `software Vulkan (${info.device})`,
    };
  return {
    name: gpuName || info.description || 'WebGPU adapter',
    vendor: info.vendor || 'unknown',
    detail: `Vulkan, driver ${info.description || 'unknown'}`,
  };
}

export interface WebGpuBackendOptions {
  /** Dawn backend: `vulkan` to run kernels; `null` validates only. */
  dawnBackend?: string;
  /** Where Dawn's uncaptured errors and device losses are reported. */
  onDiagnostic?: (message: string) => void;
  /**
   * The device instances of the adapter this backend opens (default [0]). Instance k is a
   * device of its own, requested from a fresh adapter (requestDevice consumes an adapter), with
   * its own memory; its index is k, so `webgpu:k` names it everywhere.
   */
  instances?: readonly number[];
  /**
   * The largest range the digest kernel binds at once (default: the device's
   * maxStorageBufferBindingSize): tests make it small to digest a state in several ranges.
   */
  digestRangeBytes?: number;
}

export class WebGpuBackend implements GpuBackend {
  readonly name: BackendName = 'webgpu';
  private opened: Map<number, OpenDevice> | undefined;
  /** Per device, the two mappable buffers writes go through in turn (see writeWith). */
  private readonly writeStaging = new Map<number, { buffers: GPUBuffer[]; busy: boolean }>();
  private readonly buffers = new Map<number, { buffer: GPUBuffer; handle: BufferHandle }>();
  private readonly kernels = new Map<number, CompiledKernel>();
  /** Per device, the staging buffer reads go through (see takeReadStaging). */
  private readonly readStaging = new Map<number, { buffer: GPUBuffer; busy: boolean }>();
  /** Per device, the two mappable buffers piecewise reads go through in turn (see readPieces). */
  private readonly pieceStaging = new Map<number, { buffers: GPUBuffer[]; busy: boolean }>();
  /** Migration's verify on the device (webgpuDigests.ts), compiled per device by prepareDeviceDigests. */
  private readonly digestKernel = new WebGpuDigestKernel();
  private nextId = 1;

  constructor(private readonly options: WebGpuBackendOptions = {}) {}

  async devices(): Promise<DeviceInfo[]> {
    return [...(await this.open()).values()].map((d) => d.info);
  }

  private async open(): Promise<Map<number, OpenDevice>> {
    if (this.opened) return this.opened;
    const opened = new Map<number, OpenDevice>();
    for (const index of this.options.instances ?? [0]) {
      if (!Number.isSafeInteger(index) || index < 0)
        throw new GpuError('INVALID_ARGUMENT', `WebGPU device instance ${index} is not a whole number from 0`);
      opened.set(index, await this.openInstance(index));
    }
    this.opened = opened;
    return opened;
  }

  private async openInstance(index: number): Promise<OpenDevice> {
    const gpu = dawnInstance(this.options.dawnBackend ?? 'vulkan');
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw new GpuError('BACKEND_UNAVAILABLE', NO_ADAPTER_HELP);
    // Ask for the adapter's own limits: the defaults (128 MiB bindings) are far below a real GPU's.
    const limits = adapter.limits;
    // And every optional feature it has: a kernel that enables f16 or subgroups runs where the
    // adapter supports it, and the features reported below are the ones the device really has.
    const features = [...adapter.features].sort();
    const device = await adapter.requestDevice({
      requiredFeatures: features as GPUFeatureName[],
      requiredLimits: {
        maxBufferSize: limits.maxBufferSize,
        maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
        maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
        maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
      },
    });
    const info = adapter.info;
    const layout = device.createBindGroupLayout({ label: 'ringkernel-abi', entries: ABI_LAYOUT });
    const opened: OpenDevice = {
      info: {
        backend: 'webgpu',
        index,
        ...adapterNames(info),
        features,
        peerCapable: false,
        limits: {
          maxBufferBytes: device.limits.maxBufferSize,
          maxBindingBytes: device.limits.maxStorageBufferBindingSize,
          maxWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
          maxThreadsPerWorkgroup: device.limits.maxComputeInvocationsPerWorkgroup,
        },
      },
      device,
      layout,
      pipelineLayout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      lost: undefined,
    };
    // Keep Dawn's own reports off stdout: preventDefault stops dawn.node from printing them.
    device.addEventListener('uncapturederror', (event) => {
      event.preventDefault();
      this.options.onDiagnostic?.(`WebGPU device ${index}: ${event.error.message}`);
    });
    void device.lost.then((lost) => {
      opened.lost = lost.message || lost.reason;
      this.options.onDiagnostic?.(`WebGPU device ${index} was lost: ${opened.lost}`);
    });
    return opened;
  }

  private deviceAt(index: number): OpenDevice {
    const opened = this.opened?.get(index);
    if (!opened)
      throw new GpuError(
        'NO_SUCH_DEVICE',
        `WebGPU has no device ${index} in this device host (it opened ${[...(this.opened?.keys() ?? [])].join(', ') || 'none'}); call devices() first`,
      );
    if (opened.lost !== undefined)
      throw new GpuError(
        'DEVICE_LOST',
        `WebGPU device ${index} (${opened.info.name}) was lost: ${opened.lost}; the device host must be restarted`,
      );
    return opened;
  }

  async compile(deviceIndex: number, source: KernelSource): Promise<CompiledKernelHandle> {
    if (source.language !== 'wgsl') {
      throw new GpuError(
        'INVALID_ARGUMENT',
        `kernel "${source.label}": the WebGPU backend runs WGSL, not ${source.language.toUpperCase()}`,
      );
    }
    await this.open();
    const { device, pipelineLayout, info } = this.deviceAt(deviceIndex);
    // An error scope catches what happens on the device between its push and its pop, whoever
    // caused it: both are done with no await between, or another compile's errors (a save of
    // invalid code validated at the same time) land in this one's scope (a valid save then failed
    // with the invalid one's error).
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ label: source.label, code: source.code });
    const moduleScope = device.popErrorScope();
    const [compilation] = await Promise.all([module.getCompilationInfo(), moduleScope]);
    const errors = compilation.messages.filter((m) => m.type === 'error');
    if (errors.length > 0) {
      const log = errors.map((m) => `${source.label}:${m.lineNum}:${m.linePos}: error: ${m.message}`).join('\n');
      throw new GpuError(
        'COMPILE_FAILED',
        `kernel "${source.label}" does not compile for ${info.name}: ${errors[0]?.message ?? ''}`,
        log,
      );
    }
    device.pushErrorScope('validation');
    const creating = device.createComputePipelineAsync({
      label: source.label,
      layout: pipelineLayout,
      compute: { module, entryPoint: source.entryPoint },
    });
    const pipelineScope = device.popErrorScope();
    let pipeline: GPUComputePipeline;
    try {
      pipeline = await creating;
    } catch (error) {
      await pipelineScope.catch(() => null);
      const message = errorMessage(error);
      const code = /entry ?point/i.test(message) ? 'ENTRY_POINT_MISSING' : 'COMPILE_FAILED';
      throw new GpuError(
        code,
        `kernel "${source.label}": no pipeline for entry point "${source.entryPoint}" on ${info.name}: ${message}`,
        message,
      );
    }
    const scopeError = await pipelineScope;
    if (scopeError)
      throw new GpuError('COMPILE_FAILED', `kernel "${source.label}": ${scopeError.message}`, scopeError.message);
    const handle: CompiledKernelHandle = {
      id: this.nextId++,
      device: deviceIndex,
      label: source.label,
      entryPoint: source.entryPoint,
    };
    const readback = outboxReadback(device, source.label, OUTBOX_HEADER_BYTES);
    this.kernels.set(handle.id, { pipeline, handle, readback });
    return handle;
  }

  releaseKernel(kernel: CompiledKernelHandle): void {
    this.kernels.get(kernel.id)?.readback.destroy();
    this.kernels.delete(kernel.id);
  }

  allocate(deviceIndex: number, bytes: number, label: string): BufferHandle {
    const { device, info } = this.deviceAt(deviceIndex);
    if (!Number.isInteger(bytes) || bytes <= 0 || bytes % 4 !== 0) {
      throw new GpuError('INVALID_ARGUMENT', `buffer "${label}": size ${bytes} is not a positive multiple of 4 bytes`);
    }
    const limit = Math.min(info.limits.maxBufferBytes, info.limits.maxBindingBytes);
    if (bytes > limit) {
      throw new GpuError(
        'BUFFER_TOO_LARGE',
        `buffer "${label}": ${bytes} bytes is more than ${info.name} allows for one binding (${limit} bytes); make it smaller`,
      );
    }
    const buffer = device.createBuffer({
      label,
      size: bytes,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    const handle: BufferHandle = { id: this.nextId++, device: deviceIndex, bytes };
    this.buffers.set(handle.id, { buffer, handle });
    return handle;
  }

  free(handle: BufferHandle): void {
    this.buffers.get(handle.id)?.buffer.destroy();
    this.buffers.delete(handle.id);
  }

  private buffer(handle: BufferHandle): GPUBuffer {
    const entry = this.buffers.get(handle.id);
    if (!entry)
      throw new GpuError('INVALID_ARGUMENT', `buffer ${handle.id} does not exist (freed, or from another host)`);
    return entry.buffer;
  }

  private checkRange(handle: BufferHandle, offset: number, bytes: number, what: string): void {
    if (offset < 0 || bytes < 0 || offset % 4 !== 0 || bytes % 4 !== 0 || offset + bytes > handle.bytes) {
      throw new GpuError(
        'INVALID_ARGUMENT',
        `${what}: range ${offset}+${bytes} does not fit buffer ${handle.id} of ${handle.bytes} bytes (offsets and sizes must be multiples of 4)`,
      );
    }
  }

  async write(handle: BufferHandle, offset: number, data: Uint8Array): Promise<Timing> {
    this.checkRange(handle, offset, data.byteLength, 'write');
    const { device } = this.deviceAt(handle.device);
    const started = performance.now();
    device.queue.writeBuffer(this.buffer(handle), offset, data.buffer, data.byteOffset, data.byteLength);
    await device.queue.onSubmittedWorkDone();
    return { hostMs: performance.now() - started };
  }

  read(
    handle: BufferHandle,
    offset: number,
    bytes: number,
    into?: Uint8Array,
  ): Promise<{ data: Uint8Array; timing: Timing }> {
    const started = performance.now();
    return this.readWith(handle, offset, bytes, (mapped) => {
      let data: Uint8Array;
      if (into && into.byteLength >= bytes) {
        data = into.subarray(0, bytes);
        data.set(mapped);
      } else {
        data = mapped.slice();
      }
      return Promise.resolve({ data, timing: { hostMs: performance.now() - started } });
    });
  }

  readWith<T>(
    handle: BufferHandle,
    offset: number,
    bytes: number,
    consume: (view: Uint8Array) => Promise<T>,
  ): Promise<T> {
    return this.readRanges(handle, [{ offset, length: bytes }], consume);
  }

  /** The ranges are copied one after another into the kept staging buffer by one submission, and mapped once. */
  async readRanges<T>(
    handle: BufferHandle,
    ranges: readonly { offset: number; length: number }[],
    consume: (view: Uint8Array) => Promise<T>,
  ): Promise<T> {
    for (const { offset, length } of ranges) this.checkRange(handle, offset, length, 'read');
    const bytes = ranges.reduce((sum, range) => sum + range.length, 0);
    const { device } = this.deviceAt(handle.device);
    const staging = this.takeReadStaging(handle.device, device, bytes);
    try {
      const encoder = device.createCommandEncoder();
      let at = 0;
      for (const { offset, length } of ranges) {
        encoder.copyBufferToBuffer(this.buffer(handle), offset, staging, at, length);
        at += length;
      }
      device.queue.submit([encoder.finish()]);
      await staging.mapAsync(GPUMapMode.READ, 0, bytes);
      try {
        return await consume(new Uint8Array(staging.getMappedRange(0, bytes)));
      } finally {
        staging.unmap();
      }
    } finally {
      this.returnReadStaging(handle.device, staging);
    }
  }

  /**
   * A mappable buffer to read through. One per device is kept and reused (growing to the largest
   * read, up to 1 GiB): creating and mapping a fresh one per read capped reads at about 1 GB/s.
   * Reads run one at a time in a device host; a read that finds it taken gets a fresh one.
   */
  private takeReadStaging(index: number, device: GPUDevice, bytes: number): GPUBuffer {
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const kept = this.readStaging.get(index);
    if (kept && !kept.busy && kept.buffer.size >= size) {
      kept.busy = true;
      return kept.buffer;
    }
    const buffer = device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    if (!kept?.busy && size <= READ_STAGING_LIMIT) {
      kept?.buffer.destroy();
      this.readStaging.set(index, { buffer, busy: true });
    }
    return buffer;
  }

  private returnReadStaging(index: number, buffer: GPUBuffer): void {
    const kept = this.readStaging.get(index);
    if (kept?.buffer === buffer) kept.busy = false;
    else buffer.destroy();
  }

  /**
   * Writes device memory through reused MAP_WRITE staging buffers, two per device in turn, that
   * `fill` writes into chunk by chunk (writeBuffer copies twice and ran at about 1.1 GB/s on an H100;
   * reused mapped staging 6-7 GB/s, ENVIRONMENT.md). A chunk's copy into the buffer is submitted as
   * soon as it is filled, so the device copies one chunk while the next is filled; mapping a staging
   * buffer again waits only for its own previous copy.
   */
  async writeWith(
    handle: BufferHandle,
    offset: number,
    bytes: number,
    fill: (view: Uint8Array, at: number) => Promise<void>,
  ): Promise<Timing> {
    this.checkRange(handle, offset, bytes, 'write');
    const { device } = this.deviceAt(handle.device);
    const started = performance.now();
    const staging = this.takeWriteStaging(handle.device, device);
    try {
      for (let at = 0, turn = 0; at < bytes; at += WRITE_CHUNK_BYTES, turn++) {
        const size = Math.min(WRITE_CHUNK_BYTES, bytes - at);
        const buffer = staging[turn % staging.length] as GPUBuffer;
        await buffer.mapAsync(GPUMapMode.WRITE, 0, size);
        try {
          await fill(new Uint8Array(buffer.getMappedRange(0, size), 0, size), at);
        } finally {
          buffer.unmap();
        }
        const encoder = device.createCommandEncoder();
        encoder.copyBufferToBuffer(buffer, 0, this.buffer(handle), offset + at, size);
        device.queue.submit([encoder.finish()]);
      }
      await device.queue.onSubmittedWorkDone();
    } finally {
      this.returnWriteStaging(handle.device, staging);
    }
    return { hostMs: performance.now() - started };
  }

  /** The device's pair of write staging buffers, or a fresh pair when a write is using them. */
  private takeWriteStaging(index: number, device: GPUDevice): GPUBuffer[] {
    return takePair(
      this.writeStaging,
      index,
      device,
      GPUBufferUsage.MAP_WRITE | GPUBufferUsage.COPY_SRC,
      WRITE_CHUNK_BYTES,
    );
  }

  private returnWriteStaging(index: number, buffers: GPUBuffer[]): void {
    returnPair(this.writeStaging, index, buffers);
  }

  /**
   * Reads device memory piece by piece (PIECE_BYTES) through two reused MAP_READ staging buffers
   * in turn, the mirror of writeWith: the device copies the next piece while `consume` takes the
   * one before, so a large read hands over its first bytes after one piece's copy, not after the
   * whole range's (migration's export: the importer starts on them at once). Each view is valid
   * until the promise `consume` returned for it settles.
   */
  async readPieces(
    handle: BufferHandle,
    offset: number,
    bytes: number,
    consume: (view: Uint8Array, at: number) => Promise<void>,
  ): Promise<void> {
    this.checkRange(handle, offset, bytes, 'read');
    const { device } = this.deviceAt(handle.device);
    const staging = takePair(
      this.pieceStaging,
      handle.device,
      device,
      GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      PIECE_BYTES,
    );
    const source = this.buffer(handle);
    const queueCopy = (at: number, turn: number): void => {
      if (at >= bytes) return;
      const encoder = device.createCommandEncoder();
      encoder.copyBufferToBuffer(
        source,
        offset + at,
        staging[turn % 2] as GPUBuffer,
        0,
        Math.min(PIECE_BYTES, bytes - at),
      );
      device.queue.submit([encoder.finish()]);
    };
    try {
      queueCopy(0, 0);
      queueCopy(PIECE_BYTES, 1);
      for (let at = 0, turn = 0; at < bytes; at += PIECE_BYTES, turn++) {
        const size = Math.min(PIECE_BYTES, bytes - at);
        const buffer = staging[turn % 2] as GPUBuffer;
        await buffer.mapAsync(GPUMapMode.READ, 0, size);
        try {
          await consume(new Uint8Array(buffer.getMappedRange(0, size), 0, size), at);
        } finally {
          buffer.unmap();
        }
        // This buffer is free again: the piece after next goes into it.
        queueCopy(at + 2 * PIECE_BYTES, turn);
      }
    } finally {
      returnPair(this.pieceStaging, handle.device, staging);
    }
  }

  async copy(source: BufferHandle, destination: BufferHandle, bytes: number): Promise<Timing> {
    this.checkRange(source, 0, bytes, 'copy source');
    this.checkRange(destination, 0, bytes, 'copy destination');
    if (source.device !== destination.device) {
      throw new GpuError(
        'INVALID_ARGUMENT',
        'WebGPU cannot copy between devices directly; stage the copy through the host',
      );
    }
    const { device } = this.deviceAt(source.device);
    const started = performance.now();
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(this.buffer(source), 0, this.buffer(destination), 0, bytes);
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    return { hostMs: performance.now() - started };
  }

  /** Compiles the digest kernel on `device` and runs its self-test (once); undefined when it runs there, else why not. */
  async prepareDeviceDigests(device: number): Promise<string | undefined> {
    await this.open();
    return this.digestKernel.prepare(device, this.digestDevice(device));
  }

  /** The block digests (blocks of `blockBytes`, 32 bytes a block) of a buffer's first `bytes`, computed on its device. */
  async blockDigests(
    buffer: BufferHandle,
    bytes: number,
    blockBytes = gpuDigestBlockBytes(bytes),
  ): Promise<Uint8Array> {
    if (!Number.isSafeInteger(bytes) || bytes <= 0 || bytes > buffer.bytes)
      throw new GpuError(
        'INVALID_ARGUMENT',
        `digest: ${bytes} bytes do not fit buffer ${buffer.id} of ${buffer.bytes} bytes`,
      );
    const why = await this.prepareDeviceDigests(buffer.device);
    if (why !== undefined) throw new GpuError('BACKEND_UNAVAILABLE', why);
    return this.digestKernel.digest(
      buffer.device,
      this.digestDevice(buffer.device),
      this.buffer(buffer),
      bytes,
      blockBytes,
    );
  }

  private digestDevice(index: number): DigestDevice {
    const { device, info } = this.deviceAt(index);
    return {
      device,
      maxBindingBytes: Math.min(info.limits.maxBindingBytes, this.options.digestRangeBytes ?? Number.MAX_SAFE_INTEGER),
      offsetAlignment: device.limits.minStorageBufferOffsetAlignment,
      maxWorkgroupsPerDimension: info.limits.maxWorkgroupsPerDimension,
    };
  }

  async step(launch: StepLaunch, controlBlock: Uint8Array, io: StepIo = {}): Promise<StepTiming> {
    const { inboxSlots } = io;
    const kernel = this.kernels.get(launch.kernel.id);
    if (!kernel) throw new GpuError('INVALID_ARGUMENT', `kernel ${launch.kernel.label} is not compiled on this host`);
    const opened = this.deviceAt(launch.kernel.device);
    const { device, layout, info } = opened;
    const [x, y, z] = launch.grid;
    const max = info.limits.maxWorkgroupsPerDimension;
    if (![x, y, z].every((n) => Number.isInteger(n) && n >= 1 && n <= max)) {
      throw new GpuError(
        'INVALID_LAUNCH',
        `kernel "${launch.kernel.label}": workgroups ${x}×${y}×${z} on ${info.name}: each must be an integer from 1 to ${max}`,
      );
    }
    const slotsInBuffer = Math.max(0, Math.floor((launch.outbox.bytes - OUTBOX_HEADER_BYTES) / SLOT_BYTES));
    const outboxSlots = Math.min(Math.max(0, Math.floor(io.outboxSlots ?? 0)), slotsInBuffer);
    const copyBytes = Math.min(launch.outbox.bytes, OUTBOX_HEADER_BYTES + outboxSlots * SLOT_BYTES);
    if (kernel.readback.size < copyBytes) {
      kernel.readback.destroy();
      kernel.readback = outboxReadback(device, launch.kernel.label, copyBytes);
    }
    const started = performance.now();
    const buffers = [launch.control, launch.state, launch.inbox, launch.outbox];
    const key = buffers.map((b) => b.id).join(',');
    // Error scopes cost a round trip through Dawn's event loop, so only the first step with a
    // new set of buffers runs inside them: later steps repeat a dispatch already validated.
    const firstWithTheseBuffers = kernel.bindGroup?.key !== key;
    if (firstWithTheseBuffers) {
      device.pushErrorScope('out-of-memory');
      device.pushErrorScope('validation');
    }
    // Queued before the dispatch, so the kernel sees it; no wait of its own.
    device.queue.writeBuffer(
      this.buffer(launch.control),
      0,
      controlBlock.buffer,
      controlBlock.byteOffset,
      controlBlock.byteLength,
    );
    if (inboxSlots && inboxSlots.byteLength > 0) {
      this.checkRange(launch.inbox, 0, inboxSlots.byteLength, `inbox of kernel "${launch.kernel.label}"`);
      device.queue.writeBuffer(
        this.buffer(launch.inbox),
        0,
        inboxSlots.buffer,
        inboxSlots.byteOffset,
        inboxSlots.byteLength,
      );
    }
    if (kernel.bindGroup === undefined || firstWithTheseBuffers) {
      const entries: GPUBindGroupEntry[] = [
        { binding: BINDING.control, resource: { buffer: this.buffer(launch.control) } },
        { binding: BINDING.state, resource: { buffer: this.buffer(launch.state) } },
        { binding: BINDING.inbox, resource: { buffer: this.buffer(launch.inbox) } },
        { binding: BINDING.outbox, resource: { buffer: this.buffer(launch.outbox) } },
      ];
      const group = device.createBindGroup({ layout, entries });
      kernel.bindGroup = { key, group };
    }
    const encoder = device.createCommandEncoder({ label: launch.kernel.label });
    const pass = encoder.beginComputePass();
    pass.setPipeline(kernel.pipeline);
    pass.setBindGroup(0, kernel.bindGroup.group);
    pass.dispatchWorkgroups(x, y, z);
    pass.end();
    // The header and the asked-for slots go to the mappable buffer, then the counter is reset for
    // the next step: both in this submission, after the dispatch, in this order.
    const outbox = this.buffer(launch.outbox);
    encoder.copyBufferToBuffer(outbox, 0, kernel.readback, 0, copyBytes);
    encoder.clearBuffer(outbox, 0, OUTBOX_COUNTER_BYTES);
    device.queue.submit([encoder.finish()]);
    if (firstWithTheseBuffers) {
      const validation = device.popErrorScope();
      const memory = device.popErrorScope();
      const [validationError, memoryError] = await Promise.all([validation, memory]);
      if (validationError || memoryError) delete kernel.bindGroup;
      if (validationError)
        throw new GpuError(
          'INVALID_LAUNCH',
          `kernel "${launch.kernel.label}" on ${info.name}: ${validationError.message}`,
        );
      if (memoryError)
        throw new GpuError('OUT_OF_MEMORY', `kernel "${launch.kernel.label}" on ${info.name}: ${memoryError.message}`);
    }
    // Mapping completes once the dispatch and the copy have run: the step's only wait.
    const { readback } = kernel;
    await readback.mapAsync(GPUMapMode.READ, 0, copyBytes);
    let outboxSent: number;
    let sentSlots: Uint8Array | undefined;
    try {
      const mapped = readback.getMappedRange(0, copyBytes);
      outboxSent = new Uint32Array(mapped, 0, 1)[0] ?? 0;
      const filled = Math.min(outboxSent, outboxSlots);
      // One copy of what the kernel filled (the caller keeps it past the next step), none of the rest.
      if (filled > 0) sentSlots = new Uint8Array(mapped, 0, OUTBOX_HEADER_BYTES + filled * SLOT_BYTES).slice();
    } finally {
      readback.unmap();
    }
    if (opened.lost !== undefined) {
      throw new GpuError(
        'DEVICE_LOST',
        `kernel "${launch.kernel.label}": ${info.name} was lost during the step: ${opened.lost}`,
      );
    }
    return sentSlots
      ? { hostMs: performance.now() - started, outboxSent, outbox: sentSlots }
      : { hostMs: performance.now() - started, outboxSent };
  }

  dispose(): void {
    for (const { buffer } of this.buffers.values()) buffer.destroy();
    this.buffers.clear();
    this.kernels.clear();
    this.digestKernel.dispose();
    // Not device.destroy(): with a kernel still running it blocks the thread for good
    // (ENVIRONMENT.md). The host process exits instead, which frees everything.
  }
}
