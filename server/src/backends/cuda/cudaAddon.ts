// The typed face of the `ringkernel_cuda` native addon (native/): CUDA driver and NVML bindings
// that load libcuda.so.1 and libnvidia-ml.so.1 at run time. Loading the addon (cudaAddonLoader.ts)
// never touches the driver; a machine without one gets `driverStatus().available === false` with
// the reason, and every other call throws a CudaError named DRIVER_NOT_FOUND.
//
// Conventions of the addon:
// - Driver objects are opaque frozen handles `{ kind, device }`: allocations (which add `bytes`),
//   modules, functions, streams and events. A handle no longer referenced releases its driver object
//   when collected; freeing or destroying one explicitly makes later use a CUDA_ERROR_INVALID_HANDLE
//   error. Functions keep their module loaded. `liveResources()` counts what the process holds.
// - Device memory is named by its allocation handle or `{ allocation, offset }`; host memory by an
//   ArrayBuffer or any view of one (`buffer.subarray(...)`). Every copy and memset is checked against
//   its allocation first; the addon never hands out raw device addresses.
// - Queued work keeps what it uses alive until it has run: a stream copy its host buffer and its
//   allocations, a launch its kernel, module and allocations. Freeing or dropping them meanwhile is
//   safe; the release happens once a wait, a query or a later call sees the work done.
// - Pinned host memory (memAllocHost) is an ArrayBuffer over driver memory, freed when collected or by
//   memFreeHost (which detaches it). Runtimes with a V8 memory cage (Electron) refuse such buffers:
//   memAllocHost then throws EXTERNAL_BUFFERS_NOT_ALLOWED and ordinary buffers must do.
// - moduleLoad compiles on a libuv worker thread, through the driver's linker, so the JavaScript
//   thread and its other CUDA calls keep going during a JIT (see native/src/module.cc).
// - Wrong argument types throw TypeError synchronously, also from the functions that return a
//   promise; failures of the driver throw (or reject with) a CudaError.
// - The *Async waits and moduleLoad hold one libuv worker thread each until they are done.

/** What an addon error carries besides its message. */
export interface CudaErrorInfo {
  /** CUDA_ERROR_* from cuGetErrorName, NVML_ERROR_*, or DRIVER_NOT_FOUND, DRIVER_TOO_OLD,
   *  ENTRY_POINT_MISSING, NVML_NOT_FOUND, DEVICE_MISMATCH, EXTERNAL_BUFFERS_NOT_ALLOWED. */
  name: string;
  /** The CUresult or nvmlReturn_t; -1 when the failure is not a driver result. */
  code: number;
  /** The driver call that failed or would have run (e.g. cuMemAlloc_v2); for handle misuse, the addon function. */
  call: string;
}

export interface CudaError extends Error, CudaErrorInfo {
  /** moduleLoad failures: the JIT's error and info logs. */
  errorLog?: string;
  infoLog?: string;
}

export function isCudaError(error: unknown): error is CudaError {
  return (
    error instanceof Error &&
    typeof (error as Partial<CudaError>).call === 'string' &&
    typeof (error as Partial<CudaError>).code === 'number'
  );
}

export interface DriverStatus {
  available: boolean;
  /** The library asked for: libcuda.so.1 (nvcuda.dll on Windows). */
  library: string;
  /** The API version every entry point is requested at (12000). */
  apiVersion: number;
  libraryPath?: string;
  /** cuDriverGetVersion, e.g. 13000 for CUDA 13.0. */
  driverVersion?: number;
  /** Opening the library and resolving the entry points, ms. */
  loadMs?: number;
  /** cuInit, ms. */
  initMs?: number;
  /** Why CUDA is unavailable and what to do about it. */
  reason?: string;
  error?: CudaErrorInfo;
  /** Optional entry points this driver lacks (features degrade, e.g. no kernel parameter checks). */
  missingEntryPoints: string[];
}

export type Dim3Tuple = [number, number, number];

export interface CudaDeviceInfo {
  ordinal: number;
  name: string;
  /** GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, as nvidia-smi prints it. */
  uuid: string;
  /** dddd:bb:dd.f in lower case (the same form nvmlDeviceInfo uses). */
  pciBusId: string;
  totalMem: number;
  computeCapability: { major: number; minor: number };
  multiprocessorCount: number;
  maxThreadsPerBlock: number;
  maxThreadsPerMultiprocessor: number;
  maxBlockDim: Dim3Tuple;
  maxGridDim: Dim3Tuple;
  warpSize: number;
  sharedMemPerBlock: number;
  sharedMemPerBlockOptin: number;
  sharedMemPerMultiprocessor: number;
  totalConstantMem: number;
  registersPerBlock: number;
  clockRateKHz: number;
  memoryClockRateKHz: number;
  /** Bits. */
  memoryBusWidth: number;
  l2CacheSize: number;
  asyncEngineCount: number;
  unifiedAddressing: boolean;
  canMapHostMemory: boolean;
  managedMemory: boolean;
  concurrentKernels: boolean;
  cooperativeLaunch: boolean;
  eccEnabled: boolean;
  integrated: boolean;
  multiGpuBoard: boolean;
  kernelExecTimeout: boolean;
  computeMode: number;
  /** NUMA node of the GPU's own memory where it is one (e.g. Grace Hopper); null otherwise. */
  numaNode: number | null;
  /** NUMA node of the host memory closest to the GPU (CUDA 12.2+ drivers); null when unknown. */
  hostNumaNode: number | null;
}

export interface MemoryInfo {
  free: number;
  total: number;
}

export interface P2PAttributes {
  /** Relative link quality; higher is better. 0 for a device paired with itself. */
  performanceRank: number;
  accessSupported: boolean;
  nativeAtomicSupported: boolean;
  cudaArrayAccessSupported: boolean;
}

declare const handleKind: unique symbol;
interface Handle<Kind extends string> {
  readonly kind: Kind;
  readonly device: number;
  /** Type-only brand: one kind of handle cannot be passed for another. */
  readonly [handleKind]: Kind;
}
export interface CudaAllocation extends Handle<'allocation'> {
  /** The allocation's size. */
  readonly bytes: number;
  /** Another process's allocation mapped here (ipcOpenMemHandle): closed with ipcCloseMemHandle, never freed. */
  readonly ipc?: true;
}
export type CudaModule = Handle<'module'>;
export type CudaStream = Handle<'stream'>;
export type CudaEvent = Handle<'event'>;
export interface CudaFunction extends Handle<'function'> {
  /** The entry point's name. */
  readonly name: string;
}

/** A place in device memory: an allocation (its first byte), or a byte offset into one. */
export type DeviceMemory = CudaAllocation | { readonly allocation: CudaAllocation; readonly offset: number | bigint };
/** Host memory: an ArrayBuffer or any view of one (Buffer, typed array, DataView). */
export type HostBuffer = ArrayBuffer | ArrayBufferView;

export interface ModuleLoadOptions {
  /** Size of each JIT log buffer; default 64 KiB. */
  logBufferBytes?: number;
  /** Ask the JIT for its verbose info log (registers, spills); default true. */
  logVerbose?: boolean;
  maxRegisters?: number;
  optimizationLevel?: 0 | 1 | 2 | 3 | 4;
  generateLineInfo?: boolean;
  generateDebugInfo?: boolean;
}

export interface ModuleLoadResult {
  module: CudaModule;
  infoLog: string;
  /** Warnings, when the module still loaded. */
  errorLog: string;
  /** The compile and load on the worker thread as timed by the addon, ms. */
  jitMs: number;
  /** The JIT's own wall time (CU_JIT_WALL_TIME), ms. */
  wallTimeMs: number;
}

export interface KernelParamLayout {
  offset: number;
  size: number;
}

export interface FunctionInfo {
  name: string;
  device: number;
  maxThreadsPerBlock: number;
  numRegs: number;
  sharedSizeBytes: number;
  constSizeBytes: number;
  localSizeBytes: number;
  ptxVersion: number;
  binaryVersion: number;
  /** The kernel's parameters as the driver describes them (CUDA 12.4+); null on older drivers. */
  params: KernelParamLayout[] | null;
}

/** What the addon holds in this process (liveResources). */
export interface LiveResources {
  allocations: number;
  allocatedBytes: number;
  modules: number;
  streams: number;
  events: number;
  /** Pinned host buffers (memAllocHost) whose pages are still held, and their bytes. */
  pinnedBuffers: number;
  pinnedBytes: number;
  /** Host buffers that queued stream copies keep alive until they have run. */
  heldHostBuffers: number;
  /** Batches of queued work whose end this process has not seen yet. */
  pendingWork: number;
}

/** A kernel argument: device memory is passed as its address (a .u64 pointer parameter) and held
 *  until the kernel has run; a bigint is a u64; scalars name their type. */
export type KernelParam =
  | DeviceMemory
  | bigint
  | { type: 'u32' | 'i32' | 'f32' | 'f64'; value: number }
  | { type: 'u64' | 'i64'; value: bigint | number };

export type Dim3 = number | readonly [number] | readonly [number, number] | readonly [number, number, number];

export interface LaunchConfig {
  grid: Dim3;
  block: Dim3;
  sharedMemBytes?: number;
  /** null or absent: the device's default stream. */
  stream?: CudaStream | null;
}

export interface StreamOptions {
  /** Does not synchronise with the default stream; default false. */
  nonBlocking?: boolean;
}

export interface EventOptions {
  /** Records timestamps for eventElapsedTime; default true. */
  timing?: boolean;
  /** Waiting threads sleep instead of spinning; default false. */
  blockingSync?: boolean;
}

export interface NvmlStatus {
  available: boolean;
  /** libnvidia-ml.so.1 (nvml.dll on Windows). */
  library: string;
  libraryPath?: string;
  initMs?: number;
  reason?: string;
  error?: CudaErrorInfo;
  /** e.g. "580.159". */
  driverVersion?: string;
  nvmlVersion?: string;
  deviceCount?: number;
  missingEntryPoints: string[];
}

export type NvLinkRemoteDeviceType = 'GPU' | 'IBMNPU' | 'SWITCH' | 'UNKNOWN';

export interface NvLinkInfo {
  link: number;
  active: boolean;
  version: number | null;
  /** The PCI bus id at the other end (an NVSwitch's or a GPU's); null when inactive or unknown. */
  remotePciBusId: string | null;
  /** Whether the link goes to a GPU directly or to an NVSwitch; null when inactive or unknown. */
  remoteDeviceType: NvLinkRemoteDeviceType | null;
}

export interface NvmlDeviceInfo {
  /** NVML's index (which may differ from CUDA's ordinal; match devices by pciBusId). */
  index: number | null;
  name: string;
  uuid: string;
  /** dddd:bb:dd.f in lower case, comparable with CudaDeviceInfo.pciBusId. */
  pciBusId: string;
  pci: { domain: number; bus: number; device: number; pciDeviceId: number };
  memory: { total: number; free: number; used: number } | null;
  numaNode: number | null;
  /** supported: false when the GPU has no NVLink (NVML answers NOT_SUPPORTED for every link). */
  nvlink: { supported: boolean; links: NvLinkInfo[] };
  /** What this NVML could not answer, and why ("numaNode: nvmlDeviceGetNumaNodeId is missing"). */
  unavailable: string[];
}

/** nvmlDeviceGetTopologyCommonAncestor's level, nearest first. */
export type TopologyLevel = 'INTERNAL' | 'SINGLE' | 'MULTIPLE' | 'HOSTBRIDGE' | 'NODE' | 'SYSTEM' | 'UNKNOWN';

/** An NVML device: its index, or its PCI bus id (NVML's or CUDA's form). */
export type NvmlDeviceRef = number | string;

export interface CudaAddon {
  /** Loads and initialises the driver on first call; never throws. */
  driverStatus(): DriverStatus;
  deviceCount(): number;
  deviceInfo(device: number): CudaDeviceInfo;
  memGetInfo(device: number): MemoryInfo;
  deviceSynchronize(device: number): void;
  deviceSynchronizeAsync(device: number): Promise<void>;
  /** Never throws; counts what this process holds right now. */
  liveResources(): LiveResources;

  canAccessPeer(device: number, peer: number): boolean;
  p2pAttributes(device: number, peer: number): P2PAttributes;
  /** Lets `device` access `peer`'s memory (one direction). false when it already could. */
  enablePeerAccess(device: number, peer: number): boolean;
  /** false when access was not enabled. */
  disablePeerAccess(device: number, peer: number): boolean;

  /**
   * JIT-compiles PTX (or loads a cubin/fatbin) on a worker thread. Rejects with a CudaError carrying
   * errorLog/infoLog when the code does not compile.
   */
  moduleLoad(device: number, image: string | Uint8Array, options?: ModuleLoadOptions): Promise<ModuleLoadResult>;
  moduleUnload(module: CudaModule): void;
  /** Throws CUDA_ERROR_NOT_FOUND naming the entry point when the module has none by that name. */
  getFunction(module: CudaModule, name: string): CudaFunction;
  functionInfo(fn: CudaFunction): FunctionInfo;

  memAlloc(device: number, bytes: number | bigint): CudaAllocation;
  /** Frees now, or once queued work that uses it has run; the handle is unusable at once. */
  memFree(allocation: CudaAllocation): void;
  memsetD8(dst: DeviceMemory, value: number, bytes: number | bigint): void;
  memsetD8Async(stream: CudaStream, dst: DeviceMemory, value: number, bytes: number | bigint): void;
  /** Page-locked host memory for fast and truly asynchronous copies. */
  memAllocHost(device: number, bytes: number | bigint): ArrayBuffer;
  /** Frees pinned memory now and detaches the buffer (its byteLength becomes 0). */
  memFreeHost(buffer: ArrayBuffer): void;
  /**
   * An ArrayBuffer over `path` (a file holding exactly `bytes`) mapped MAP_SHARED: other processes
   * mapping the same file see the same bytes. Needs no CUDA driver.
   */
  mapShared(path: string, bytes: number): ArrayBuffer;
  /** Detaches a mapShared buffer and unmaps it (unregistering it first when registered). */
  unmapShared(buffer: ArrayBuffer): void;
  /** Page-locks a mapShared buffer for every context (cuMemHostRegister, portable): copies with it are DMA. */
  memHostRegister(buffer: ArrayBuffer, device: number): void;
  /** Undoes memHostRegister. */
  memHostUnregister(buffer: ArrayBuffer): void;

  /** Copies all of `src` to `dst`. */
  memcpyHtoD(dst: DeviceMemory, src: HostBuffer): void;
  /** Fills all of `dst` from `src`. */
  memcpyDtoH(dst: HostBuffer, src: DeviceMemory): void;
  /** Within one device (DEVICE_MISMATCH otherwise: use memcpyPeer). */
  memcpyDtoD(dst: DeviceMemory, src: DeviceMemory, bytes: number | bigint): void;
  /** Between devices: over the peer link where peer access is on, else staged through the host. */
  memcpyPeer(dst: DeviceMemory, src: DeviceMemory, bytes: number | bigint): void;
  /** The stream must belong to the device memory's device; `src` is held until the copy has run. */
  memcpyHtoDAsync(stream: CudaStream, dst: DeviceMemory, src: HostBuffer): void;
  memcpyDtoHAsync(stream: CudaStream, dst: HostBuffer, src: DeviceMemory): void;
  memcpyDtoDAsync(stream: CudaStream, dst: DeviceMemory, src: DeviceMemory, bytes: number | bigint): void;
  memcpyPeerAsync(stream: CudaStream, dst: DeviceMemory, src: DeviceMemory, bytes: number | bigint): void;

  /** CUDA IPC: the 64-byte handle another process opens to reach this whole allocation. */
  ipcGetMemHandle(allocation: CudaAllocation): Uint8Array;
  /**
   * Maps another process's allocation (its ipcGetMemHandle bytes) into `device`'s context, with peer
   * access enabled lazily when it lives on `sourceDevice` (default `device`); refuses a mapping
   * smaller than `bytes`. The result is an allocation handle on `sourceDevice` for the copies.
   */
  ipcOpenMemHandle(device: number, handle: Uint8Array, bytes: number | bigint, sourceDevice?: number): CudaAllocation;
  /** Unmaps an ipcOpenMemHandle mapping (once queued work that reads it is done); the memory stays its owner's. */
  ipcCloseMemHandle(mapping: CudaAllocation): void;

  streamCreate(device: number, options?: StreamOptions): CudaStream;
  streamDestroy(stream: CudaStream): void;
  streamSynchronize(stream: CudaStream): void;
  /** Resolves when the stream's queued work is done, without blocking the JavaScript thread. */
  streamSynchronizeAsync(stream: CudaStream): Promise<void>;
  /** true when the stream's queued work is done. */
  streamQuery(stream: CudaStream): boolean;
  eventCreate(device: number, options?: EventOptions): CudaEvent;
  eventDestroy(event: CudaEvent): void;
  eventRecord(event: CudaEvent, stream?: CudaStream | null): void;
  eventSynchronize(event: CudaEvent): void;
  eventSynchronizeAsync(event: CudaEvent): Promise<void>;
  eventQuery(event: CudaEvent): boolean;
  /** Milliseconds between two recorded timing events. */
  eventElapsedTime(start: CudaEvent, end: CudaEvent): number;

  /**
   * Queues a launch. Parameter count and sizes are checked against the kernel where the driver says
   * them; device memory must be on the kernel's device.
   */
  launchKernel(fn: CudaFunction, config: LaunchConfig, params: readonly KernelParam[]): void;

  /** Loads and initialises NVML on first call; never throws. */
  nvmlStatus(): NvmlStatus;
  nvmlDeviceInfo(device: NvmlDeviceRef): NvmlDeviceInfo;
  nvmlTopologyCommonAncestor(a: NvmlDeviceRef, b: NvmlDeviceRef): TopologyLevel;
}
