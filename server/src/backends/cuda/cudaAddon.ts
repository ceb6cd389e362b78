// The typed face of the `ringkernel_cuda` native addon (native/): CUDA driver and NVML bindings
// that load libcuda.so.1 and libnvidia-ml.so.1 at run time. Loading the addon never touches the
// driver; a machine without one gets `driverStatus().available === false` with the reason, and every
// other call throws a CudaError named DRIVER_NOT_FOUND.
//
// Conventions of the addon:
// - Device pointers are bigints. Offsets are bigint arithmetic (`ptr + 256n`); host ranges are views
//   (`buffer.subarray(...)`). Every copy and memset is checked against its allocation first.
// - Modules, functions, streams and events are opaque frozen handles `{ kind, device }`. A module,
//   stream or event no longer referenced is released when collected; destroying one explicitly makes
//   later use a CUDA_ERROR_INVALID_HANDLE error. Functions keep their module loaded.
// - Pinned host memory (memAllocHost) is an ArrayBuffer over driver memory, freed when collected or by
//   memFreeHost (which detaches it). Runtimes with a V8 memory cage (Electron) refuse such buffers:
//   memAllocHost then throws EXTERNAL_BUFFERS_NOT_ALLOWED and ordinary buffers must do.
// - Wrong argument types throw TypeError synchronously, also from the *Async functions; failures of
//   the driver throw (or reject with) a CudaError.
// - The *Async waits hold one libuv worker thread each until the GPU work is done.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The addon's file, relative to the package root. */
export const CUDA_ADDON_RELATIVE_PATH = join('native', 'build', 'Release', 'ringkernel_cuda.node');
/** Environment variable naming the addon's file explicitly (tests, packaged layouts). */
export const CUDA_ADDON_ENV = 'RINGKERNEL_CUDA_ADDON';

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
  return error instanceof Error && typeof (error as Partial<CudaError>).call === 'string' && typeof (error as Partial<CudaError>).code === 'number';
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
export type CudaModule = Handle<'module'>;
export type CudaStream = Handle<'stream'>;
export type CudaEvent = Handle<'event'>;
export interface CudaFunction extends Handle<'function'> {
  /** The entry point's name. */
  readonly name: string;
}

/** A device address. */
export type DevicePointer = bigint;
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
  /** cuModuleLoadDataEx as timed by the addon, ms. */
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

export interface PointerRange {
  base: DevicePointer;
  size: number;
}

/** A kernel argument: a bigint is a u64 (a device pointer); scalars name their type. */
export type KernelParam =
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

  canAccessPeer(device: number, peer: number): boolean;
  p2pAttributes(device: number, peer: number): P2PAttributes;
  /** Lets `device` access `peer`'s memory (one direction). false when it already could. */
  enablePeerAccess(device: number, peer: number): boolean;
  /** false when access was not enabled. */
  disablePeerAccess(device: number, peer: number): boolean;

  /** JIT-compiles PTX (or loads a cubin/fatbin). Throws a CudaError with errorLog/infoLog on failure. */
  moduleLoad(device: number, image: string | Uint8Array, options?: ModuleLoadOptions): ModuleLoadResult;
  moduleUnload(module: CudaModule): void;
  /** Throws CUDA_ERROR_NOT_FOUND naming the entry point when the module has none by that name. */
  getFunction(module: CudaModule, name: string): CudaFunction;
  functionInfo(fn: CudaFunction): FunctionInfo;

  memAlloc(device: number, bytes: number | bigint): DevicePointer;
  memFree(device: number, pointer: DevicePointer): void;
  /** The allocation that holds `pointer`. */
  pointerRange(device: number, pointer: DevicePointer): PointerRange;
  memsetD8(device: number, pointer: DevicePointer, value: number, bytes: number | bigint): void;
  memsetD8Async(stream: CudaStream, pointer: DevicePointer, value: number, bytes: number | bigint): void;
  /** Page-locked host memory for fast and truly asynchronous copies. */
  memAllocHost(device: number, bytes: number | bigint): ArrayBuffer;
  /** Frees pinned memory now and detaches the buffer (its byteLength becomes 0). */
  memFreeHost(buffer: ArrayBuffer): void;

  /** Copies all of `src` to `dst`. */
  memcpyHtoD(device: number, dst: DevicePointer, src: HostBuffer): void;
  /** Fills all of `dst` from `src`. */
  memcpyDtoH(device: number, dst: HostBuffer, src: DevicePointer): void;
  memcpyDtoD(device: number, dst: DevicePointer, src: DevicePointer, bytes: number | bigint): void;
  memcpyPeer(dstDevice: number, dst: DevicePointer, srcDevice: number, src: DevicePointer, bytes: number | bigint): void;
  memcpyHtoDAsync(stream: CudaStream, dst: DevicePointer, src: HostBuffer): void;
  memcpyDtoHAsync(stream: CudaStream, dst: HostBuffer, src: DevicePointer): void;
  memcpyDtoDAsync(stream: CudaStream, dst: DevicePointer, src: DevicePointer, bytes: number | bigint): void;
  memcpyPeerAsync(stream: CudaStream, dstDevice: number, dst: DevicePointer, srcDevice: number, src: DevicePointer, bytes: number | bigint): void;

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

  /** Queues a launch. Parameter count and sizes are checked against the kernel where the driver says them. */
  launchKernel(fn: CudaFunction, config: LaunchConfig, params: readonly KernelParam[]): void;

  /** Loads and initialises NVML on first call; never throws. */
  nvmlStatus(): NvmlStatus;
  nvmlDeviceInfo(device: NvmlDeviceRef): NvmlDeviceInfo;
  nvmlTopologyCommonAncestor(a: NvmlDeviceRef, b: NvmlDeviceRef): TopologyLevel;
}

export type CudaAddonLoad = { ok: true; addon: CudaAddon; path: string } | { ok: false; reason: string };

/** The nearest directory at or above `start` holding a package.json. */
function packageRoot(start: string): string | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Why the last `npm run build:native` failed, as scripts/build-native.mjs recorded it. */
function buildFailure(root: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(join(root, 'native', 'build', 'unavailable.json'), 'utf8'));
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { reason?: unknown }).reason === 'string') {
      return (parsed as { reason: string }).reason;
    }
  } catch {
    // No record: the build never ran or succeeded.
  }
  return undefined;
}

function looksLikeAddon(value: unknown): value is CudaAddon {
  return typeof value === 'object' && value !== null && typeof (value as { driverStatus?: unknown }).driverStatus === 'function' &&
    typeof (value as { launchKernel?: unknown }).launchKernel === 'function';
}

let cached: CudaAddonLoad | undefined;

/**
 * Loads the addon once per process: from $RINGKERNEL_CUDA_ADDON when set, else from
 * native/build/Release under the package root found above this bundle (dist/server.js,
 * out/test/...). On failure, one reason lists every path tried and what to do.
 */
export function loadCudaAddon(): CudaAddonLoad {
  cached ??= findCudaAddon({ explicitPath: process.env[CUDA_ADDON_ENV], searchFrom: __dirname });
  return cached;
}

export interface FindCudaAddonOptions {
  /** Tried first (the value of $RINGKERNEL_CUDA_ADDON). */
  explicitPath?: string | undefined;
  /** Where to start looking upwards for the package root. */
  searchFrom: string;
}

/** Loads the addon without caching; loadCudaAddon is the one to use. */
export function findCudaAddon(options: FindCudaAddonOptions): CudaAddonLoad {
  const candidates: Array<{ path: string; origin: string }> = [];
  if (options.explicitPath) candidates.push({ path: options.explicitPath, origin: ` (from $${CUDA_ADDON_ENV})` });
  const root = packageRoot(options.searchFrom);
  if (root !== undefined) candidates.push({ path: join(root, CUDA_ADDON_RELATIVE_PATH), origin: '' });

  // A require esbuild leaves alone: the addon is a file on disk next to the bundle, never bundled.
  const load = createRequire(__filename);
  const tried: string[] = [];
  for (const { path, origin } of candidates) {
    if (!existsSync(path)) {
      tried.push(`${path}${origin}: not found`);
      continue;
    }
    try {
      const exports: unknown = load(path);
      if (looksLikeAddon(exports)) return { ok: true, addon: exports, path };
      tried.push(`${path}${origin}: loaded, but it is not the RingKernel CUDA addon`);
    } catch (error) {
      tried.push(`${path}${origin}: ${error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error)}`);
    }
  }

  const lines = ['The RingKernel CUDA addon could not be loaded, so the CUDA backend is unavailable.'];
  if (tried.length > 0) lines.push(`Tried:\n${tried.map((t) => `  - ${t}`).join('\n')}`);
  else lines.push(`No package root (a directory with package.json) was found above ${options.searchFrom}, and $${CUDA_ADDON_ENV} is not set.`);
  const failure = root !== undefined ? buildFailure(root) : undefined;
  if (failure !== undefined) lines.push(`The last native build failed: ${failure}`);
  lines.push(
    `To build it, run \`npm run build:native\`${root !== undefined ? ` in ${root}` : ''}. It needs a C++17 compiler and Python 3 for node-gyp ` +
      '(Linux: g++ and make; macOS: the Xcode command-line tools; Windows: Visual Studio Build Tools), but no CUDA toolkit. ' +
      `Or set $${CUDA_ADDON_ENV} to a built ringkernel_cuda.node.`,
  );
  return { ok: false, reason: lines.join('\n') };
}

/** One diagnostic from a JIT (or ptxas) log line such as
 *  `ptxas application ptx input, line 32; error   : Not a name of any known instruction: 'madd'`. */
export interface JitDiagnostic {
  /** 1-based line in the PTX source; undefined for messages about the whole module. */
  line?: number;
  severity: 'error' | 'warning' | 'info' | 'fatal';
  message: string;
}

const jitLine = /^ptxas\b[^,:]*?(?:,\s*line\s+(\d+))?;?\s*(error|warning|info|fatal)\s*:\s*(.*)$/;

/** Parses the JIT's error or info log into diagnostics; lines that are not diagnostics are skipped. */
export function parseJitLog(log: string): JitDiagnostic[] {
  const diagnostics: JitDiagnostic[] = [];
  for (const raw of log.split(/\r?\n/)) {
    const match = jitLine.exec(raw.trim());
    if (!match) continue;
    const [, line, severity, message] = match;
    const diagnostic: JitDiagnostic = { severity: severity as JitDiagnostic['severity'], message: (message ?? '').trim() };
    if (line !== undefined) diagnostic.line = Number(line);
    diagnostics.push(diagnostic);
  }
  return diagnostics;
}
