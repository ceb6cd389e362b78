// What the engine asks of a GPU backend. Implementations run inside device-host processes
// (server/src/hosts), never in the language server itself.
import type { BackendName } from './backendReport';
import type { CopyDigests } from './deviceDigests';

export interface DeviceLimits {
  maxBufferBytes: number;
  maxBindingBytes: number;
  maxWorkgroupsPerDimension: number;
  maxThreadsPerWorkgroup: number;
}

export interface DeviceInfo {
  backend: BackendName;
  index: number;
  name: string;
  vendor: string;
  /** e.g. "software Vulkan (llvmpipe)", "compute 9.0". */
  detail: string;
  memoryTotalBytes?: number;
  memoryFreeBytes?: number;
  computeCapability?: { major: number; minor: number };
  /** CUDA: the device memory's peak bandwidth, from its clock and bus width (the driver's attributes). */
  memoryBandwidthGBps?: number;
  pciBusId?: string;
  uuid?: string;
  /** WebGPU: the optional features the device offers (GPUFeatureName, e.g. `shader-f16`), which WGSL's `enable` needs. */
  features?: string[];
  /** Whether this device can copy to another of its backend without the host. */
  peerCapable: boolean;
  limits: DeviceLimits;
}

export type KernelLanguage = 'wgsl' | 'ptx';

export interface KernelSource {
  language: KernelLanguage;
  /** The kernel's name for messages, e.g. its manifest id. */
  label: string;
  code: string;
  entryPoint: string;
}

export interface BufferHandle {
  readonly id: number;
  readonly device: number;
  readonly bytes: number;
}

export interface CompiledKernelHandle {
  readonly id: number;
  readonly device: number;
  readonly label: string;
  readonly entryPoint: string;
}

/** One step of a kernel: the four ABI buffers and the launch shape. */
export interface StepLaunch {
  kernel: CompiledKernelHandle;
  control: BufferHandle;
  state: BufferHandle;
  inbox: BufferHandle;
  outbox: BufferHandle;
  /** Workgroups (WebGPU) or blocks (CUDA) per dimension. */
  grid: [number, number, number];
  /** Threads per block (CUDA only; WGSL fixes it with @workgroup_size). */
  block?: [number, number, number];
}

export interface Timing {
  /** Wall time on the host from submission to completion, milliseconds. */
  hostMs: number;
  /** GPU-measured time where the backend has it (CUDA events), milliseconds. */
  deviceMs?: number;
}

export interface StepTiming extends Timing {
  /** How many messages the kernel counted into its outbox (the header's first word; may exceed the capacity). */
  outboxSent: number;
  /**
   * When the kernel sent anything and `outboxSlots` > 0: a copy the caller owns of the outbox
   * header and its first min(outboxSent, outboxSlots) slots, copied back in the step's submission.
   */
  outbox?: Uint8Array;
}

/** What a step sends in and takes back in its own submission, beside the control block. */
export interface StepIo {
  /** The delivered messages' slots, written from byte 0 of the inbox before the dispatch. */
  inboxSlots?: Uint8Array;
  /**
   * Outbox slots to copy back with the header after the dispatch (0: the header only; at most
   * the slots the outbox buffer holds). Slots past them stay in the outbox until the next step.
   */
  outboxSlots?: number;
}

export interface GpuBackend {
  readonly name: BackendName;
  devices(): Promise<DeviceInfo[]>;
  compile(device: number, source: KernelSource): Promise<CompiledKernelHandle>;
  releaseKernel(kernel: CompiledKernelHandle): void;
  allocate(device: number, bytes: number, label: string): BufferHandle;
  free(buffer: BufferHandle): void;
  write(buffer: BufferHandle, offset: number, data: Uint8Array): Promise<Timing>;
  /** `into` (at least `bytes` long) receives the bytes when given: callers that reuse memory skip page faults. */
  read(
    buffer: BufferHandle,
    offset: number,
    bytes: number,
    into?: Uint8Array,
  ): Promise<{ data: Uint8Array; timing: Timing }>;
  /**
   * Reads device memory and hands `consume` a view of it that is valid only until the promise
   * `consume` returns settles (WebGPU: the mapped staging buffer itself, so nothing is copied
   * twice). The device copy is submitted before the first await.
   */
  readWith?<T>(
    buffer: BufferHandle,
    offset: number,
    bytes: number,
    consume: (view: Uint8Array) => Promise<T>,
  ): Promise<T>;
  /**
   * Reads device memory piece by piece, the device copying the next piece while `consume` takes
   * the one before (WebGPU: two mapped staging buffers in turn); each view is valid until the
   * promise `consume` returned for it settles. A large read's first bytes are handed over after
   * one piece's copy. Backends without it take readWith or read.
   */
  readPieces?(
    buffer: BufferHandle,
    offset: number,
    bytes: number,
    consume: (view: Uint8Array, at: number) => Promise<void>,
  ): Promise<void>;
  /**
   * Reads several ranges of one buffer (offsets and lengths multiples of 4) in one submission
   * through the backend's reused staging memory, and hands `consume` a view of them back to back,
   * valid only until the promise `consume` returns settles. The state views read this way.
   */
  readRanges<T>(
    buffer: BufferHandle,
    ranges: readonly { offset: number; length: number }[],
    consume: (view: Uint8Array) => Promise<T>,
  ): Promise<T>;
  /**
   * Writes device memory from views `fill` writes into (WebGPU: mapped MAP_WRITE staging buffers,
   * so the bytes are copied once, not twice as writeBuffer does). `fill` is called for consecutive
   * pieces of the range in order, each with its view and its offset from the range's start; a
   * piece's view is valid until the promise `fill` returned for it settles, and the device copies
   * of earlier pieces run while later ones are filled. Backends without it take write().
   */
  writeWith?(
    buffer: BufferHandle,
    offset: number,
    bytes: number,
    fill: (view: Uint8Array, at: number) => Promise<void>,
  ): Promise<Timing>;
  /**
   * Makes host memory that lives as long as the process (a shared-memory region) faster to copy
   * from and to (CUDA: page-locked with cuMemHostRegister, so copies are DMA). Optional.
   */
  registerHostMemory?(memory: ArrayBuffer): void;
  /**
   * `bytes` of `source` into `destination`, on the device. With `digest`, a backend that hashes on
   * its devices (CUDA, its digest kernel prepared) also returns both sides' block digests.
   */
  copy(
    source: BufferHandle,
    destination: BufferHandle,
    bytes: number,
    digest?: boolean,
  ): Promise<Timing & { digests?: CopyDigests }>;
  /**
   * Runs one step in one submission and one wait: writes the control block and `io.inboxSlots`,
   * dispatches, copies the outbox header and its first `io.outboxSlots` slots back, and resets
   * the outbox counter (word 0) to 0 after that copy, so the next step starts with an empty
   * outbox. Returns how many messages the kernel counted (the header's first word) and, when it
   * sent any, the copied header and filled slots. Delivering and draining messages costs no wait
   * of its own; only slots past `io.outboxSlots` need a read afterwards (stepRunner.ts).
   */
  step(launch: StepLaunch, controlBlock: Uint8Array, io?: StepIo): Promise<StepTiming>;
  /**
   * Compiles a module only to read the compiler's logs (validation); nothing is kept. Backends
   * whose compiler needs no device (Tint) leave it out.
   */
  compileLogs?(device: number, code: string): Promise<{ errorLog: string; infoLog: string }>;
  /** Peer access between the backend's devices on or off (`ringkernel.enableP2P`); absent where copies never go peer to peer. */
  setPeerAccess?(enabled: boolean): void;
  /** CUDA IPC (CUDA only): the handle another device host opens to reach a whole buffer, and the GPU it is on. */
  exportIpcHandle?(buffer: BufferHandle): { handle: Uint8Array; ordinal: number };
  /** CUDA IPC: copies `bytes` of another host's exported buffer into `destination`, device to device (peer: from another GPU). */
  copyFromIpc?(
    destination: BufferHandle,
    bytes: number,
    source: { handle: Uint8Array; ordinal: number },
    digest?: boolean,
  ): Promise<Timing & { peer: boolean; digests?: CopyDigests }>;
  /**
   * Readies the digest kernel on a device (CUDA: native/kernels/blockSha256.cu, a JIT once per GPU;
   * WebGPU: webgpu/blockSha256Wgsl.ts, compiled once per device), self-tested against node:crypto;
   * undefined when buffers (copies, staged imports) can be digested there, else why not.
   */
  prepareDeviceDigests?(device: number): Promise<string | undefined>;
  /**
   * A buffer's block digests (32 bytes a block, back to back), computed on its device, in blocks of
   * `blockBytes` (default: gpuDigestBlockBytes(bytes), as a device copy's digests are).
   */
  blockDigests?(buffer: BufferHandle, bytes: number, blockBytes?: number): Promise<Uint8Array>;
  dispose(): void;
}
