// What a kernel needs of the device host it lives in: DeviceKernel and ManagedKernel use only
// this, so the fast tests can put an in-memory host in its place. DeviceHost (a supervised child
// process) is the real one.
import type { RegionRef } from './bulkTransfer';
import type { BufferHandle, CompiledKernelHandle, KernelSource, StepLaunch, Timing } from '../backends/backend';
import type { BackendName } from '../backends/backendReport';
import type { GpuError } from '../backends/gpuError';
import type { ControlBlock } from '../abi/kernelAbi';
import type {
  BufferRange,
  DeviceStateExport,
  DeviceStateImport,
  ImportVerifyPlan,
  StateTransferResult,
  StepBatch,
  StepOutcome,
} from './hostProtocol';

/** What a running loop reports: progress (also heartbeats while it waits), or the step that failed. */
export type LoopEvent =
  | { kind: 'progress'; step: number; messages: number; dropped: number }
  | { kind: 'failed'; step: number; error: GpuError };

/** What readRanges returns: the bytes of each range in order; `step` when a loop was named and is known to the host. */
export interface RangesRead {
  bytes: Uint8Array[];
  step?: number;
  timing: Timing;
}

export type LoopListener = (event: LoopEvent) => void;

/**
 * `culprit`: the label of the kernel whose step hung, when a loop's or a steps request's
 * watchdog caused the restart.
 */
export type RestartListener = (event: {
  generation: number;
  reason: string;
  culprit?: string;
  /** The host exited because a kernel faulted its context (KERNEL_FAULT_EXIT_CODE): a kernel's fault, not the device's. */
  kernelFault?: true;
}) => void;

export interface KernelHost {
  readonly backend: BackendName;
  /** Increments on every (re)start of the host: handles from an older generation are gone. */
  readonly generation: number;
  /** The host's process id (for the log and the kernel view), when it has one. */
  readonly pid: number | undefined;
  onRestart(listener: RestartListener): { dispose(): void };
  compile(device: number, source: KernelSource): Promise<CompiledKernelHandle>;
  releaseKernel(kernel: CompiledKernelHandle): Promise<null>;
  allocate(device: number, bytes: number, label: string): Promise<BufferHandle>;
  free(buffer: BufferHandle): Promise<null>;
  write(buffer: BufferHandle, offset: number, data: Uint8Array): Promise<Timing>;
  /** Reads device memory; `into` (exactly `bytes` long) receives large reads. */
  read(
    buffer: BufferHandle,
    offset: number,
    bytes: number,
    into?: Uint8Array,
  ): Promise<{ data: Uint8Array; timing: Timing }>;
  /** A read queued ahead of anything sent after it, whose reply waits for that copy only. */
  readSoon(
    buffer: BufferHandle,
    offset: number,
    bytes: number,
    into?: Uint8Array,
  ): Promise<{ data: Uint8Array; timing: Timing }>;
  /**
   * Reads only `ranges` of a buffer at a step boundary of every loop in the host, one array per
   * range; with `loop`, also that loop's next step number at the boundary the read ran at.
   */
  readRanges(buffer: BufferHandle, ranges: readonly BufferRange[], loop?: number): Promise<RangesRead>;
  steps(batch: StepBatch, timeoutMs?: number): Promise<StepOutcome[]>;
  /** A loop id not used before by this host (unique across restarts too). */
  nextLoopId(): number;
  /** Starts stepping continuously from `control.step`; resolves once accepted; `listener` hears progress and a failed step. */
  startLoop(
    loop: number,
    launch: StepLaunch,
    control: ControlBlock,
    rateHz: number,
    listener: LoopListener,
  ): Promise<void>;
  /** Stops a loop at a step boundary; resolves with the next step number. */
  stopLoop(loop: number): Promise<{ step: number }>;
  /**
   * Migration: writes a buffer into the shared-memory region `region` and hashes it, in the host;
   * with `transfer`, onStateChunk listeners hear each chunk (a pipelined transfer); `blockBytes`,
   * the digest's block size (default DIGEST_BLOCK_BYTES).
   */
  exportState(
    buffer: BufferHandle,
    bytes: number,
    region: RegionRef,
    transfer?: number,
    blockBytes?: number,
  ): Promise<StateTransferResult>;
  /**
   * Migration: fills a buffer from `region`; with `verify`, hashes what the device then holds; with
   * `transfer`, reads each chunk once announceStateChunk says it is written; with
   * `deviceBlockBytes`, verifies with digests on the device in blocks of that size.
   */
  importState(
    buffer: BufferHandle,
    bytes: number,
    region: RegionRef,
    verify: boolean,
    transfer?: number,
    deviceBlockBytes?: number,
  ): Promise<StateTransferResult>;
  /** Migration, before the pause (hosts that have it): touches what importState will use first, says how it will verify. */
  prepareImport?(buffer: BufferHandle, bytes: number, region: RegionRef, verify?: boolean): Promise<ImportVerifyPlan>;
  /** Migration, before the pause (hosts that have it): readies what exportState will use first. */
  prepareExport?(): Promise<null>;
  /** Device-to-device migration (CUDA hosts): a buffer's CUDA IPC handle for another host. */
  exportDeviceState?(buffer: BufferHandle, bytes: number): Promise<DeviceStateExport>;
  /** Device-to-device migration: another host's exported buffer into `buffer`; with `verify`, hashed after. */
  importDeviceState?(
    buffer: BufferHandle,
    bytes: number,
    from: DeviceStateExport,
    verify: boolean,
  ): Promise<DeviceStateImport>;
  /** Device-to-device migration within one host: `source` into `destination`; with `verify`, the destination hashed. */
  copyState?(
    source: BufferHandle,
    destination: BufferHandle,
    bytes: number,
    verify: boolean,
  ): Promise<StateTransferResult>;
  /** Device-to-device migration, before the pause: readies the GPU digest kernel (or the CPU's hashing) for `buffer`. */
  prepareDeviceVerify?(buffer: BufferHandle, bytes: number): Promise<{ onGpu: boolean; reason?: string }>;
  /** The SHA-256 of a buffer's first `bytes`, computed in the host. */
  hashState?(buffer: BufferHandle, bytes: number): Promise<{ sha256: string; ms: number }>;
  /** Pipelined transfers (hosts that have them): the progress of this host's exports. */
  onStateChunk?(listener: (transfer: number, ready: number) => void): { dispose(): void };
  /** Pipelined transfers: tells this host's import how far the region is written, or that the export failed. */
  announceStateChunk?(transfer: number, ready: number, failed?: string): boolean;
}
