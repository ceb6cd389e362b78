// The CUDA backend: PTX modules JIT-compiled by the driver, launched on a stream per device,
// through our addon (which loads libcuda.so.1 at run time). Runs inside a device host; one host
// holds every CUDA device, so peer copies stay in one process, unless the host serves one device
// instance (ringkernel.cuda.instancesPerDevice, probe/cudaInstances.ts): then it opens that one GPU
// under the instance's index, and state moves between hosts through CUDA IPC (exportIpcHandle,
// copyFromIpc).
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
import { GpuError, type GpuErrorCode } from '../gpuError';
import { OUTBOX_HEADER_BYTES, SLOT_BYTES, inAbiOrder } from '../../abi/kernelAbi';
import {
  isCudaError,
  type CudaAddon,
  type CudaAllocation,
  type CudaEvent,
  type CudaFunction,
  type CudaModule,
  type CudaStream,
  type DeviceMemory,
} from './cudaAddon';
import { loadCudaAddon } from './cudaAddonLoader';
import { cudaOrdinalOf } from '../cudaInstanceIndex';
import { errorMessage } from '../../logger';
import { gpuDigestBlockBytes, type CopyDigests } from '../deviceDigests';
import { CudaDigestKernel, type QueuedDigests } from './cudaDigests';

interface OpenDevice {
  info: DeviceInfo;
  /** The CUDA ordinal every driver call names (info.index is the engine's device index, an instance's own). */
  ordinal: number;
  stream: CudaStream;
  /**
   * Pinned memory the outbox header and the slots a step asks for are copied into after every
   * step, on the step's stream; grown to the largest copy asked for.
   */
  outboxReadback: Uint8Array;
  /** Pinned memory partial reads (readRanges) go through, kept and grown to the largest read. */
  rangeStaging?: { memory: ArrayBuffer; busy: boolean };
}

/** Buffers digested on one GPU's stream: one, or two in one launch (a copy's source and the copy). */
interface DigestSide {
  device: OpenDevice;
  memory: [DeviceMemory] | [DeviceMemory, DeviceMemory];
}

/** The outbox counter, word 0 of the header: what a step resets. */
const OUTBOX_COUNTER_BYTES = 4;

/** Partial reads' pinned staging grows in steps of this, so views of nearby sizes share it. */
const RANGE_STAGING_GRAIN = 64 * 1024;

/** CUDA errors after which the context is unusable: the host must be restarted. */
const STICKY_ERRORS = new Set([
  'CUDA_ERROR_ILLEGAL_ADDRESS',
  'CUDA_ERROR_ILLEGAL_INSTRUCTION',
  'CUDA_ERROR_MISALIGNED_ADDRESS',
  'CUDA_ERROR_INVALID_ADDRESS_SPACE',
  'CUDA_ERROR_INVALID_PC',
  'CUDA_ERROR_LAUNCH_FAILED',
  'CUDA_ERROR_HARDWARE_STACK_ERROR',
  'CUDA_ERROR_ASSERT',
  'CUDA_ERROR_ECC_UNCORRECTABLE',
  'CUDA_ERROR_LAUNCH_TIMEOUT',
]);

/** Turns an addon error into a GpuError naming what failed; sticky faults say the host restarts. */
function cudaFailure(error: unknown, code: GpuErrorCode, context: string): GpuError {
  if (error instanceof GpuError) return error;
  if (!isCudaError(error)) return GpuError.wrap(error, code, context);
  if (STICKY_ERRORS.has(error.name)) {
    return new GpuError(
      'KERNEL_FAULT',
      `${context}: ${error.name} (${error.message}); the CUDA context is now unusable, so the device host restarts`,
    );
  }
  if (error.name === 'CUDA_ERROR_OUT_OF_MEMORY')
    return new GpuError('OUT_OF_MEMORY', `${context}: the device is out of memory (${error.call})`);
  return new GpuError(code, `${context}: ${error.name} in ${error.call}: ${error.message}`);
}

export class CudaBackend implements GpuBackend {
  readonly name: BackendName = 'cuda';
  private readonly addon: CudaAddon;
  /** By the engine's device index. */
  private opened: Map<number, OpenDevice> | undefined;
  /** A host of one device instance: its index, of `perDevice` instances per GPU; else every GPU under its ordinal. */
  private readonly instance: { index: number; perDevice: number } | undefined;
  private readonly buffers = new Map<number, { allocation: CudaAllocation; handle: BufferHandle }>();
  private readonly kernels = new Map<number, { module: CudaModule; fn: CudaFunction; handle: CompiledKernelHandle }>();
  private nextId = 1;
  /** `ringkernel.enableP2P`: off, every copy between devices is staged through the host. */
  private peerAccess: boolean;
  /**
   * JITs run one at a time. Each holds a libuv worker thread for its whole compile, and the pool
   * has four: the step loops' waits for their streams must always find one free.
   */
  private jitQueue: Promise<unknown> = Promise.resolve();
  /** Migration's verify on the GPU (cudaDigests.ts), loaded per GPU by prepareDeviceDigests. */
  private readonly digestKernel: CudaDigestKernel;

  constructor(options: { peerAccess?: boolean; instance?: { index: number; perDevice: number } } = {}) {
    this.peerAccess = options.peerAccess ?? true;
    this.instance = options.instance;
    const loaded = loadCudaAddon();
    if (!loaded.ok) throw new GpuError('BACKEND_UNAVAILABLE', loaded.reason);
    const status = loaded.addon.driverStatus();
    if (!status.available)
      throw new GpuError('BACKEND_UNAVAILABLE', status.reason ?? 'the CUDA driver did not initialise');
    this.addon = loaded.addon;
    this.digestKernel = new CudaDigestKernel(this.addon, (ordinal, code) => this.jit(ordinal, code));
  }

  /** The devices, with their free memory measured now (the kernel runtime reports it to the coordinator). */
  devices(): Promise<DeviceInfo[]> {
    const { addon } = this;
    return Promise.resolve(
      [...this.open().values()].map((d) => {
        const memory = addon.memGetInfo(d.ordinal);
        return { ...d.info, memoryTotalBytes: memory.total, memoryFreeBytes: memory.free };
      }),
    );
  }

  private open(): Map<number, OpenDevice> {
    if (this.opened) return this.opened;
    const { addon } = this;
    const count = addon.deviceCount();
    if (count === 0) throw new GpuError('BACKEND_UNAVAILABLE', 'the CUDA driver is installed but reports no devices');
    const instance = this.instance && {
      index: this.instance.index,
      ordinal: cudaOrdinalOf(this.instance.index, count, this.instance.perDevice),
    };
    if (instance && instance.ordinal >= count)
      throw new GpuError(
        'NO_SUCH_DEVICE',
        `there is no CUDA device ${instance.index}: ${count} GPU(s) opened ${this.instance?.perDevice ?? 1} times each make cuda:0 to cuda:${count * (this.instance?.perDevice ?? 1) - 1}`,
      );
    const opened = new Map<number, OpenDevice>();
    for (let ordinal = 0; ordinal < count; ordinal++) {
      if (instance && ordinal !== instance.ordinal) continue;
      const index = instance ? instance.index : ordinal;
      const info = addon.deviceInfo(ordinal);
      const memory = addon.memGetInfo(ordinal);
      let peerCapable = false;
      for (let other = 0; other < count; other++)
        if (other !== ordinal && addon.canAccessPeer(ordinal, other)) peerCapable = true;
      opened.set(index, {
        ordinal,
        info: {
          backend: 'cuda',
          index,
          name: info.name,
          vendor: 'NVIDIA',
          detail: `compute ${info.computeCapability.major}.${info.computeCapability.minor}`,
          memoryTotalBytes: memory.total,
          memoryFreeBytes: memory.free,
          computeCapability: info.computeCapability,
          ...peakMemoryBandwidth(info),
          pciBusId: info.pciBusId,
          uuid: info.uuid,
          peerCapable,
          limits: {
            maxBufferBytes: info.totalMem,
            maxBindingBytes: info.totalMem,
            maxWorkgroupsPerDimension: info.maxGridDim[0],
            maxThreadsPerWorkgroup: info.maxThreadsPerBlock,
          },
        },
        stream: addon.streamCreate(ordinal, { nonBlocking: true }),
        outboxReadback: new Uint8Array(addon.memAllocHost(ordinal, OUTBOX_HEADER_BYTES)),
      });
    }
    this.opened = opened;
    this.applyPeerAccess();
    return opened;
  }

  setPeerAccess(enabled: boolean): void {
    if (enabled === this.peerAccess) return;
    this.peerAccess = enabled;
    if (this.opened) this.applyPeerAccess();
  }

  /**
   * With `ringkernel.enableP2P` on, peer access wherever CUDA allows it, so copies between devices
   * take NVLink or PCIe P2P; off, none, so the driver stages every copy through the host. A pair
   * the driver refuses stays host-staged.
   */
  private applyPeerAccess(): void {
    const { addon } = this;
    // A host of one instance opens one GPU: nothing to enable (its IPC mappings enable peer access lazily).
    const ordinals = [...(this.opened?.values() ?? [])].map((d) => d.ordinal);
    for (const index of ordinals) {
      for (const other of ordinals) {
        if (other === index) continue;
        try {
          if (!this.peerAccess) addon.disablePeerAccess(index, other);
          else if (addon.canAccessPeer(index, other)) addon.enablePeerAccess(index, other);
        } catch {
          // Too many peers (8 per device), a driver that says no, or access never enabled: memcpyPeer stages through the host.
        }
      }
    }
  }

  private deviceAt(index: number): OpenDevice {
    const opened = this.open().get(index);
    if (!opened)
      throw new GpuError(
        'NO_SUCH_DEVICE',
        `CUDA device ${index} is not open in this device host (it has ${[...(this.opened?.keys() ?? [])].map((k) => `cuda:${k}`).join(', ')})`,
      );
    return opened;
  }

  /** Compiles off the JavaScript thread (native/src/module.cc): running kernels keep stepping meanwhile. */
  async compile(device: number, source: KernelSource): Promise<CompiledKernelHandle> {
    if (source.language !== 'ptx') {
      throw new GpuError(
        'INVALID_ARGUMENT',
        `kernel "${source.label}": the CUDA backend runs PTX, not ${source.language.toUpperCase()}`,
      );
    }
    const { info, ordinal } = this.deviceAt(device);
    let module: CudaModule;
    try {
      module = (await this.jit(ordinal, source.code)).module;
    } catch (error) {
      const log = isCudaError(error) ? (error.errorLog ?? '').trim() : '';
      const first = log.split('\n').find((line) => /error/.test(line)) ?? errorMessage(error);
      throw new GpuError(
        'COMPILE_FAILED',
        `kernel "${source.label}" does not compile for ${info.name} (CUDA ${device}): ${first}`,
        log || undefined,
      );
    }
    let fn: CudaFunction;
    try {
      fn = this.addon.getFunction(module, source.entryPoint);
    } catch (error) {
      this.addon.moduleUnload(module);
      throw new GpuError(
        'ENTRY_POINT_MISSING',
        `kernel "${source.label}": the PTX has no entry point "${source.entryPoint}" (${errorMessage(error)}); check \`.entry\` names and the manifest's entryPoint`,
      );
    }
    const params = this.addon.functionInfo(fn).params;
    if (params !== null && (params.length !== 4 || params.some((p) => p.size !== 8))) {
      this.addon.moduleUnload(module);
      throw new GpuError(
        'INVALID_ARGUMENT',
        `kernel "${source.label}": entry point "${source.entryPoint}" takes ${params.length} parameter(s) of sizes ${params.map((p) => p.size).join(', ') || 'none'}; ` +
          'the RingKernel ABI needs four .u64 pointers (control, state, inbox, outbox), see docs/kernel-abi.md',
      );
    }
    const handle: CompiledKernelHandle = {
      id: this.nextId++,
      device,
      label: source.label,
      entryPoint: source.entryPoint,
    };
    this.kernels.set(handle.id, { module, fn, handle });
    return handle;
  }

  async compileLogs(device: number, code: string): Promise<{ errorLog: string; infoLog: string }> {
    const { ordinal } = this.deviceAt(device);
    try {
      const loaded = await this.jit(ordinal, code);
      this.addon.moduleUnload(loaded.module);
      return { errorLog: loaded.errorLog, infoLog: loaded.infoLog };
    } catch (error) {
      if (isCudaError(error) && (error.errorLog !== undefined || error.infoLog !== undefined)) {
        return { errorLog: error.errorLog ?? '', infoLog: error.infoLog ?? '' };
      }
      throw cudaFailure(error, 'COMPILE_FAILED', `JIT check on CUDA ${device}`);
    }
  }

  private jit(ordinal: number, code: string): ReturnType<CudaAddon['moduleLoad']> {
    const loaded = this.jitQueue.then(() => this.addon.moduleLoad(ordinal, code));
    this.jitQueue = loaded.catch(() => undefined);
    return loaded;
  }

  releaseKernel(kernel: CompiledKernelHandle): void {
    const entry = this.kernels.get(kernel.id);
    if (!entry) return;
    this.kernels.delete(kernel.id);
    this.addon.moduleUnload(entry.module);
  }

  allocate(device: number, bytes: number, label: string): BufferHandle {
    const { info, ordinal } = this.deviceAt(device);
    if (!Number.isInteger(bytes) || bytes <= 0)
      throw new GpuError(
        'INVALID_ARGUMENT',
        `buffer "${label}": size ${bytes} is not a positive whole number of bytes`,
      );
    const free = this.addon.memGetInfo(ordinal).free;
    if (bytes > free) {
      throw new GpuError(
        'BUFFER_TOO_LARGE',
        `buffer "${label}": ${bytes} bytes is more than ${info.name} (CUDA ${device}) has free (${free} bytes); make it smaller or free memory`,
      );
    }
    try {
      const allocation = this.addon.memAlloc(ordinal, bytes);
      const handle: BufferHandle = { id: this.nextId++, device, bytes };
      this.buffers.set(handle.id, { allocation, handle });
      return handle;
    } catch (error) {
      throw cudaFailure(error, 'OUT_OF_MEMORY', `buffer "${label}" of ${bytes} bytes on CUDA ${device}`);
    }
  }

  free(handle: BufferHandle): void {
    const entry = this.buffers.get(handle.id);
    if (!entry) return;
    this.buffers.delete(handle.id);
    this.addon.memFree(entry.allocation);
  }

  private memory(handle: BufferHandle, offset = 0): DeviceMemory {
    const entry = this.buffers.get(handle.id);
    if (!entry)
      throw new GpuError('INVALID_ARGUMENT', `buffer ${handle.id} does not exist (freed, or from another host)`);
    return offset === 0 ? entry.allocation : { allocation: entry.allocation, offset };
  }

  private checkRange(handle: BufferHandle, offset: number, bytes: number, what: string): void {
    if (offset < 0 || bytes < 0 || offset + bytes > handle.bytes) {
      throw new GpuError(
        'INVALID_ARGUMENT',
        `${what}: range ${offset}+${bytes} does not fit buffer ${handle.id} of ${handle.bytes} bytes`,
      );
    }
  }

  private async finish(device: OpenDevice, context: string, started: number): Promise<Timing> {
    try {
      await this.addon.streamSynchronizeAsync(device.stream);
    } catch (error) {
      throw cudaFailure(error, 'DRIVER_ERROR', context);
    }
    return { hostMs: performance.now() - started };
  }

  /**
   * Page-locks a shared-memory region's mapping (portable: for every device's context), so state
   * reads and writes through it are DMA like those from memAllocHost's memory, with no staging copy.
   */
  registerHostMemory(memory: ArrayBuffer): void {
    this.open();
    this.addon.memHostRegister(memory, 0);
  }

  async write(handle: BufferHandle, offset: number, data: Uint8Array): Promise<Timing> {
    this.checkRange(handle, offset, data.byteLength, 'write');
    const device = this.deviceAt(handle.device);
    const started = performance.now();
    this.addon.memcpyHtoDAsync(device.stream, this.memory(handle, offset), data);
    return this.finish(device, `write of ${data.byteLength} bytes to CUDA ${handle.device}`, started);
  }

  async read(
    handle: BufferHandle,
    offset: number,
    bytes: number,
    into?: Uint8Array,
  ): Promise<{ data: Uint8Array; timing: Timing }> {
    this.checkRange(handle, offset, bytes, 'read');
    const device = this.deviceAt(handle.device);
    // Touch fresh memory before the clock starts: its page faults (0.2-1 GB/s in a VM) are not the
    // transfer, and timing them made a 256 MiB read look ten times slower than the link. Memory
    // the caller reuses is already paged in.
    const data = into && into.byteLength >= bytes ? into.subarray(0, bytes) : new Uint8Array(bytes).fill(0);
    const started = performance.now();
    this.addon.memcpyDtoHAsync(device.stream, data, this.memory(handle, offset));
    return { data, timing: await this.copyDone(device, `read of ${bytes} bytes from CUDA ${handle.device}`, started) };
  }

  /**
   * Copies each range into the device's kept pinned staging memory (page-locked, so the copies
   * are truly asynchronous and fast), back to back, waits for those copies only, and lends
   * `consume` the bytes. A read that finds the staging memory busy gets pinned memory of its own.
   */
  async readRanges<T>(
    handle: BufferHandle,
    ranges: readonly { offset: number; length: number }[],
    consume: (view: Uint8Array) => Promise<T>,
  ): Promise<T> {
    for (const { offset, length } of ranges) this.checkRange(handle, offset, length, 'read');
    const bytes = ranges.reduce((sum, range) => sum + range.length, 0);
    const device = this.deviceAt(handle.device);
    const staging = this.takeRangeStaging(device, bytes);
    try {
      const started = performance.now();
      const landing = new Uint8Array(staging.memory, 0, bytes);
      let at = 0;
      for (const { offset, length } of ranges) {
        if (length > 0)
          this.addon.memcpyDtoHAsync(device.stream, landing.subarray(at, at + length), this.memory(handle, offset));
        at += length;
      }
      await this.copyDone(
        device,
        `read of ${ranges.length} range(s), ${bytes} bytes, from CUDA ${handle.device}`,
        started,
      );
      return await consume(landing);
    } finally {
      if (device.rangeStaging === staging) staging.busy = false;
      else this.addon.memFreeHost(staging.memory);
    }
  }

  private takeRangeStaging(device: OpenDevice, bytes: number): { memory: ArrayBuffer; busy: boolean } {
    const kept = device.rangeStaging;
    if (kept && !kept.busy && kept.memory.byteLength >= bytes) {
      kept.busy = true;
      return kept;
    }
    const size = Math.max(RANGE_STAGING_GRAIN, Math.ceil(bytes / RANGE_STAGING_GRAIN) * RANGE_STAGING_GRAIN);
    const fresh = { memory: this.addon.memAllocHost(device.ordinal, size), busy: true };
    if (!kept?.busy) {
      if (kept) this.addon.memFreeHost(kept.memory);
      device.rangeStaging = fresh;
    }
    return fresh;
  }

  /**
   * Waits for the copy just queued and nothing after it: an event recorded behind the copy, not
   * the whole stream. A checkpoint read is queued before the next version's first launch, and
   * must arrive even when that launch never ends.
   */
  private async copyDone(device: OpenDevice, context: string, started: number): Promise<Timing> {
    const event = this.addon.eventCreate(device.ordinal, { timing: false });
    try {
      this.addon.eventRecord(event, device.stream);
      await this.addon.eventSynchronizeAsync(event);
    } catch (error) {
      throw cudaFailure(error, 'DRIVER_ERROR', context);
    } finally {
      this.addon.eventDestroy(event);
    }
    return { hostMs: performance.now() - started };
  }

  /**
   * `source` into `destination` on the destination's stream (DtoD, or a peer copy between GPUs).
   * With `digest` and the digest kernel loaded on both GPUs, each side's block digests are computed
   * on its own GPU after the copy is queued, and only they come back (CopyDigests).
   */
  async copy(
    source: BufferHandle,
    destination: BufferHandle,
    bytes: number,
    digest = false,
  ): Promise<Timing & { digests?: CopyDigests }> {
    this.checkRange(source, 0, bytes, 'copy source');
    this.checkRange(destination, 0, bytes, 'copy destination');
    const device = this.deviceAt(destination.device);
    const from = this.deviceAt(source.device);
    const what = `copy of ${bytes} bytes CUDA ${source.device} → CUDA ${destination.device}`;
    const started = performance.now();
    if (source.device === destination.device) {
      this.addon.memcpyDtoDAsync(device.stream, this.memory(destination), this.memory(source), bytes);
    } else {
      // The driver uses the peer link when peer access is on, and stages through the host otherwise.
      this.addon.memcpyPeerAsync(device.stream, this.memory(destination), this.memory(source), bytes);
    }
    if (!digest || !this.digestKernel.loadedOn(device.ordinal) || !this.digestKernel.loadedOn(from.ordinal))
      return this.finish(device, what, started);
    const sides: DigestSide[] =
      from === device
        ? [{ device, memory: [this.memory(source), this.memory(destination)] }]
        : [
            { device: from, memory: [this.memory(source)] },
            { device, memory: [this.memory(destination)] },
          ];
    return this.digested(sides, bytes, this.mark(device), what, started);
  }

  /**
   * Queues the digests of `sides` (each on its GPU's stream) and waits for them; the copy's time
   * is `copied`'s (an event recorded behind it), the digests' the rest. Only the lists come back.
   */
  private async digested(
    sides: DigestSide[],
    bytes: number,
    copied: CudaEvent,
    what: string,
    started: number,
  ): Promise<Timing & { digests: CopyDigests }> {
    const queued: QueuedDigests[] = [];
    // Both sides in blocks of one size, picked for the state's size (enough blocks to fill the GPU).
    const blockBytes = gpuDigestBlockBytes(bytes);
    try {
      for (const side of sides)
        queued.push(this.digestKernel.queue(side.device.ordinal, side.device.stream, side.memory, bytes, blockBytes));
      await this.addon.eventSynchronizeAsync(copied);
      const hostMs = performance.now() - started;
      for (const side of sides) await this.addon.streamSynchronizeAsync(side.device.stream);
      const [sourceList, copyList] = queued.flatMap((q) => q.lists).map((list) => list.slice());
      return {
        hostMs,
        digests: {
          blockBytes,
          source: sourceList ?? new Uint8Array(0),
          copy: copyList ?? new Uint8Array(0),
          ms: performance.now() - started - hostMs,
        },
      };
    } catch (error) {
      throw cudaFailure(error, 'DRIVER_ERROR', `${what}, digested on the GPU`);
    } finally {
      for (const q of queued) q.release();
      this.addon.eventDestroy(copied);
    }
  }

  /** An event recorded now on the device's stream: behind what was queued so far. */
  private mark(device: OpenDevice): CudaEvent {
    const event = this.addon.eventCreate(device.ordinal, { timing: false });
    try {
      this.addon.eventRecord(event, device.stream);
    } catch (error) {
      this.addon.eventDestroy(event);
      throw cudaFailure(error, 'DRIVER_ERROR', `recording an event on CUDA ${device.info.index}`);
    }
    return event;
  }

  /**
   * Loads the digest kernel on `device`'s GPU (a JIT, once), before a migration pauses its kernel;
   * undefined when it runs, else why it cannot (the verify then reads the state back to the CPU).
   */
  prepareDeviceDigests(device: number): Promise<string | undefined> {
    return this.digestKernel.prepare(this.deviceAt(device).ordinal);
  }

  /** The block digests (blocks of `blockBytes`, 32 bytes a block) of a buffer's first `bytes`, computed on its GPU. */
  async blockDigests(
    buffer: BufferHandle,
    bytes: number,
    blockBytes = gpuDigestBlockBytes(bytes),
  ): Promise<Uint8Array> {
    this.checkRange(buffer, 0, bytes, 'digest');
    const device = this.deviceAt(buffer.device);
    const why = await this.digestKernel.prepare(device.ordinal);
    if (why !== undefined) throw new GpuError('BACKEND_UNAVAILABLE', why);
    const queued = this.digestKernel.queue(device.ordinal, device.stream, [this.memory(buffer)], bytes, blockBytes);
    try {
      await this.copyDone(device, `digest of ${bytes} bytes of buffer ${buffer.id} on CUDA ${buffer.device}`, 0);
      return (queued.lists[0] ?? new Uint8Array(0)).slice();
    } finally {
      queued.release();
    }
  }

  /** CUDA IPC: the handle another device host opens to reach `buffer` (a whole allocation), and its GPU. */
  exportIpcHandle(buffer: BufferHandle): { handle: Uint8Array; ordinal: number } {
    const device = this.deviceAt(buffer.device);
    const entry = this.buffers.get(buffer.id);
    if (!entry)
      throw new GpuError('INVALID_ARGUMENT', `buffer ${buffer.id} does not exist (freed, or from another host)`);
    try {
      return { handle: this.addon.ipcGetMemHandle(entry.allocation), ordinal: device.ordinal };
    } catch (error) {
      throw cudaFailure(
        error,
        'DRIVER_ERROR',
        `exporting buffer ${buffer.id} of CUDA ${buffer.device} for another device host`,
      );
    }
  }

  /**
   * CUDA IPC: copies `bytes` of another device host's buffer (its exportIpcHandle) into
   * `destination`, device to device on this device's stream: within one GPU a DtoD copy, from
   * another GPU a peer copy (peer access enabled on first use). The mapping is closed afterwards.
   */
  async copyFromIpc(
    destination: BufferHandle,
    bytes: number,
    source: { handle: Uint8Array; ordinal: number },
    digest = false,
  ): Promise<Timing & { peer: boolean; digests?: CopyDigests }> {
    this.checkRange(destination, 0, bytes, 'IPC copy destination');
    const device = this.deviceAt(destination.device);
    const what = `copy of ${bytes} bytes from another device host's CUDA ${source.ordinal} memory to CUDA ${destination.device}`;
    const started = performance.now();
    let mapping: CudaAllocation;
    try {
      mapping = this.addon.ipcOpenMemHandle(device.ordinal, source.handle, bytes, source.ordinal);
    } catch (error) {
      throw cudaFailure(error, 'DRIVER_ERROR', `${what}: the source's IPC handle could not be opened`);
    }
    const peer = source.ordinal !== device.ordinal;
    // The digests run on this GPU: through the mapping for the source (its memory is this GPU's
    // on one GPU; the addon launches nothing on another GPU's memory, so a peer copy is verified
    // by the hosts on the CPU), then over the copy, on the stream behind the copy.
    const onGpu = digest && !peer && this.digestKernel.loadedOn(device.ordinal);
    let timing: Timing & { digests?: CopyDigests };
    try {
      if (peer) this.addon.memcpyPeerAsync(device.stream, this.memory(destination), mapping, bytes);
      else this.addon.memcpyDtoDAsync(device.stream, this.memory(destination), mapping, bytes);
      timing = onGpu
        ? await this.digested(
            [{ device, memory: [mapping, this.memory(destination)] }],
            bytes,
            this.mark(device),
            what,
            started,
          )
        : await this.finish(device, what, started);
    } catch (error) {
      // The copy's own error says more than a close that fails after it.
      try {
        this.addon.ipcCloseMemHandle(mapping);
      } catch {
        // The mapping is released when its handle is collected.
      }
      throw cudaFailure(error, 'DRIVER_ERROR', what);
    }
    try {
      this.addon.ipcCloseMemHandle(mapping);
    } catch (error) {
      throw cudaFailure(error, 'DRIVER_ERROR', `${what}: closing the IPC mapping`);
    }
    return { ...timing, peer };
  }

  async step(launch: StepLaunch, controlBlock: Uint8Array, io: StepIo = {}): Promise<StepTiming> {
    const { inboxSlots } = io;
    const kernel = this.kernels.get(launch.kernel.id);
    if (!kernel) throw new GpuError('INVALID_ARGUMENT', `kernel ${launch.kernel.label} is not compiled on this host`);
    const device = this.deviceAt(launch.kernel.device);
    const { info } = device;
    const what = `kernel "${launch.kernel.label}" on ${info.name} (CUDA ${launch.kernel.device})`;
    if (!launch.block)
      throw new GpuError(
        'INVALID_LAUNCH',
        `${what}: a CUDA launch needs a block size (threads per block); set it in the manifest`,
      );
    const threads = launch.block[0] * launch.block[1] * launch.block[2];
    const shapeOk =
      [...launch.grid, ...launch.block].every((n) => Number.isInteger(n) && n >= 1) &&
      launch.grid[0] <= info.limits.maxWorkgroupsPerDimension;
    if (!shapeOk || threads > info.limits.maxThreadsPerWorkgroup) {
      throw new GpuError(
        'INVALID_LAUNCH',
        `${what}: grid ${launch.grid.join('×')} with blocks of ${launch.block.join('×')} does not fit the device ` +
          `(at most ${info.limits.maxThreadsPerWorkgroup} threads per block, ${info.limits.maxWorkgroupsPerDimension} blocks in x)`,
      );
    }
    const slotsInBuffer = Math.max(0, Math.floor((launch.outbox.bytes - OUTBOX_HEADER_BYTES) / SLOT_BYTES));
    const outboxSlots = Math.min(Math.max(0, Math.floor(io.outboxSlots ?? 0)), slotsInBuffer);
    const copyBytes = Math.min(launch.outbox.bytes, OUTBOX_HEADER_BYTES + outboxSlots * SLOT_BYTES);
    const started = performance.now();
    let landing: Uint8Array;
    try {
      landing = this.outboxLanding(device, copyBytes);
      const [control, state, inbox, outbox] = [
        this.memory(launch.control),
        this.memory(launch.state),
        this.memory(launch.inbox),
        this.memory(launch.outbox),
      ];
      this.addon.memcpyHtoDAsync(device.stream, control, controlBlock);
      if (inboxSlots && inboxSlots.byteLength > 0) {
        this.checkRange(launch.inbox, 0, inboxSlots.byteLength, `inbox of kernel "${launch.kernel.label}"`);
        this.addon.memcpyHtoDAsync(device.stream, inbox, inboxSlots);
      }
      this.addon.launchKernel(
        kernel.fn,
        { grid: launch.grid, block: launch.block, stream: device.stream },
        inAbiOrder({ control, state, inbox, outbox }),
      );
      // The header and the asked-for slots come back, then the counter is reset for the next
      // step: both queued on the step's stream behind the launch, so the step still has one wait.
      this.addon.memcpyDtoHAsync(device.stream, landing, outbox);
      this.addon.memsetD8Async(device.stream, outbox, 0, OUTBOX_COUNTER_BYTES);
      await this.addon.streamSynchronizeAsync(device.stream);
    } catch (error) {
      throw cudaFailure(error, 'INVALID_LAUNCH', what);
    }
    const outboxSent = new DataView(landing.buffer, landing.byteOffset, 4).getUint32(0, true);
    const filled = Math.min(outboxSent, outboxSlots);
    const hostMs = performance.now() - started;
    // One copy of what the kernel filled out of the pinned memory (the caller keeps it past the next step).
    return filled > 0
      ? { hostMs, outboxSent, outbox: landing.slice(0, OUTBOX_HEADER_BYTES + filled * SLOT_BYTES) }
      : { hostMs, outboxSent };
  }

  /** The device's pinned outbox landing, `bytes` long; grown (the old memory freed) when a step asks for more. */
  private outboxLanding(device: OpenDevice, bytes: number): Uint8Array {
    if (device.outboxReadback.byteLength < bytes) {
      const grown = new Uint8Array(this.addon.memAllocHost(device.ordinal, bytes));
      this.addon.memFreeHost(device.outboxReadback.buffer as ArrayBuffer);
      device.outboxReadback = grown;
    }
    return device.outboxReadback.subarray(0, bytes);
  }

  dispose(): void {
    this.digestKernel.dispose();
    for (const { allocation } of this.buffers.values()) this.addon.memFree(allocation);
    this.buffers.clear();
    for (const { module } of this.kernels.values()) this.addon.moduleUnload(module);
    this.kernels.clear();
  }
}

/**
 * Peak device memory bandwidth: double data rate at the memory clock over the bus width. Absent
 * when the driver reports either as 0 (some drivers no longer report the memory clock).
 */
export function peakMemoryBandwidth(info: { memoryClockRateKHz: number; memoryBusWidth: number }): {
  memoryBandwidthGBps?: number;
} {
  if (!(info.memoryClockRateKHz > 0 && info.memoryBusWidth > 0)) return {};
  return { memoryBandwidthGBps: (2 * info.memoryClockRateKHz * 1e3 * (info.memoryBusWidth / 8)) / 1e9 };
}
