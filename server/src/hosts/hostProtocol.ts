// Messages between the server and a device-host child over Node IPC ('advanced' serialisation,
// so Uint8Arrays travel as bytes, not JSON).
import type {
  BufferHandle,
  DeviceInfo,
  CompiledKernelHandle,
  KernelSource,
  StepLaunch,
  Timing,
} from '../backends/backend';
import type { GpuErrorData } from '../backends/gpuError';
import type { ControlBlock } from '../abi/kernelAbi';
import type { Payload, RegionRef } from './bulkTransfer';
import type { RingSpan } from './messageRing';

/**
 * Messages delivered for one step of a kernel: `count` inbox slots (router/inboxLayout.ts's
 * encoding) from byte 0 of `slots`. The host writes them into the inbox buffer in the step's own
 * submission and sets inbox_count to `count`.
 */
export interface InboxDelivery {
  slots: Uint8Array;
  count: number;
}

export interface StepBatch {
  launch: StepLaunch;
  /** The control block of the first step; `step` increments for each following one. */
  control: ControlBlock;
  count: number;
  /** The first step's inbox (the following steps of the batch get none). */
  inbox?: InboxDelivery;
}

/** A byte range of a buffer; offset and length are multiples of 4. */
export interface BufferRange {
  offset: number;
  length: number;
}

export interface StepOutcome {
  step: number;
  timing: Timing;
  /**
   * The outbox header and the slots the kernel filled (one read: usedOutboxBytes), or absent when
   * it sent nothing that fit.
   */
  outbox?: Uint8Array;
  /** The kernel's send counter, when it sent anything (past the capacity too). */
  sent?: number;
}

/** One step's sends in a loop's batch (loopMessages). */
export interface SentStep {
  step: number;
  sent: number;
  /**
   * Header and used slots, when any message fit the outbox. On the wire they are either here
   * (inline) or in the host's ring toward the server (`span`, messageRing.ts); listeners of
   * DeviceHost.onLoopMessages always get them here, valid only during the listener's call.
   */
  outbox?: Uint8Array;
  /** Where the outbox bytes are in the host's ring toward the server, instead of `outbox`. */
  span?: RingSpan;
}

/** What exportState and importState measured. */
export interface StateTransferResult {
  bytes: number;
  /**
   * The state's digest (stateDigests.ts: SHA-256 over its blocks' SHA-256s): exportState, of the
   * bytes written; importState, of the device's bytes read back (verify), else absent.
   */
  sha256?: string;
  /**
   * The blocks' SHA-256s (hex, in order) that `sha256` is made of, where it is given (device-to-device
   * moves digested on the GPU: only when the two sides differ, to say where).
   */
  digests?: string[];
  /** The block size `sha256` and `digests` were made with (stateDigests.ts); absent: DIGEST_BLOCK_BYTES. */
  blockBytes?: number;
  /** importState: the digests were computed on the target's device (its digest kernel), not read back and hashed. */
  onDevice?: boolean;
  /**
   * Device-to-device moves digested on the GPU (importDeviceState, copyState): the source's digest,
   * computed by the same host in the same scheme, so the source's host needs no hashing request.
   */
  source?: { sha256: string; digests?: string[] };
  /** Device to file (export) or file to device (import), milliseconds. */
  copyMs: number;
  /**
   * importState of a pipelined transfer: of `copyMs`, how long it waited for the exporter's chunks
   * (near copyMs: the export is the slower leg), and when the first chunk was there (the
   * pipeline's fill), milliseconds.
   */
  waitMs?: number;
  firstChunkMs?: number;
  /**
   * What was left of the hashing once the copy was done (it runs beside the copy, block by block):
   * importState, the last parts' read back and hash; exportState, the last blocks' hash; milliseconds.
   */
  verifyMs?: number;
}

/**
 * A CUDA device host's state buffer exported for another host (CUDA IPC): the handle's 64 bytes and
 * the CUDA ordinal (GPU) the buffer lives on.
 */
export interface DeviceStateExport {
  handle: Uint8Array;
  ordinal: number;
}

/** What importDeviceState measured; `peer` when the copy came from another GPU. */
export interface DeviceStateImport extends StateTransferResult {
  peer: boolean;
}

/**
 * How a staged import will verify, decided at its prepare, before the pause: on the target's device
 * (`onDevice`: its digest kernel loaded, one digest launch after the last write, in blocks of
 * `blockBytes`, which the export hashes in too), or by reading the state back while the import goes
 * on and hashing it on the CPU (DIGEST_BLOCK_BYTES blocks; `reason` says why not on the device).
 */
export interface ImportVerifyPlan {
  onDevice: boolean;
  blockBytes: number;
  reason?: string;
}

/** Every operation a host performs: its arguments and its result. */
export interface HostOperations {
  devices: { args: Record<string, never>; result: DeviceInfo[] };
  compile: { args: { device: number; source: KernelSource }; result: CompiledKernelHandle };
  releaseKernel: { args: { kernel: CompiledKernelHandle }; result: null };
  allocate: { args: { device: number; bytes: number; label: string }; result: BufferHandle };
  free: { args: { buffer: BufferHandle }; result: null };
  /**
   * Large data travels through a shared-memory region the server lends for the request
   * (bulkTransfer.ts): a write names the region holding the bytes; a large read names in `into`
   * the region the host writes them to, and its answer names that region back.
   */
  write: { args: { buffer: BufferHandle; offset: number; data: Payload }; result: Timing };
  read: {
    args: { buffer: BufferHandle; offset: number; bytes: number; into?: RegionRef };
    result: { data: Payload; timing: Timing };
  };
  /**
   * A read queued on the device now, before anything requested after it, whose reply waits for
   * that copy only: the host goes on with the next requests (a checkpoint, then the next version's
   * loop) while the bytes travel.
   */
  readSoon: {
    args: { buffer: BufferHandle; offset: number; bytes: number; into?: RegionRef };
    result: { data: Payload; timing: Timing };
  };
  /**
   * Reads only `ranges` of a buffer (a kernel's state, for the state views), back to back in one
   * payload, in one copy through the backend's reused staging memory. It is a request on the
   * host's queue, so it runs between two steps of any loop; with `loop`, the answer carries that
   * loop's next step number at that boundary (absent when the host has no such loop).
   */
  readRanges: {
    args: { buffer: BufferHandle; ranges: BufferRange[]; loop?: number; into?: RegionRef };
    result: { data: Payload; step?: number; timing: Timing };
  };
  copy: { args: { source: BufferHandle; destination: BufferHandle; bytes: number }; result: Timing };
  steps: { args: StepBatch; result: StepOutcome[] };
  compileLogs: { args: { device: number; code: string }; result: { errorLog: string; infoLog: string } };
  /**
   * Starts stepping a kernel continuously in the host (stepLoop.ts) from `control.step`, at
   * `rateHz` steps per second (0: as fast as it goes). `loop` is the server's id for it, unique
   * per host process. Answers once accepted, before any step; progress comes as loopProgress.
   */
  startLoop: { args: { loop: number; launch: StepLaunch; control: ControlBlock; rateHz: number }; result: null };
  /** Stops a loop at a step boundary; `step` is the next step number (the steps it completed). */
  stopLoop: { args: { loop: number }; result: { step: number } };
  /** `ringkernel.enableP2P` changed: peer access between the host's devices on or off (CUDA; others ignore it). */
  setPeerAccess: { args: { enabled: boolean }; result: null };
  /**
   * Migration's checkpoint: writes `bytes` of a buffer into the shared-memory region `region`
   * (lent by the server) and hashes them on the way; the bytes never pass through the server. With
   * `transfer`, the host says after each chunk how far the region is filled (HostStateChunk), so
   * another host can import while this one exports. `blockBytes`: the digest's block size (a
   * divisor of DIGEST_BLOCK_BYTES, the hashing threads' job; default DIGEST_BLOCK_BYTES), the
   * importer's when it digests on its device (ImportVerifyPlan).
   */
  exportState: {
    args: { buffer: BufferHandle; bytes: number; region: RegionRef; transfer?: number; blockBytes?: number };
    result: StateTransferResult;
  };
  /**
   * Migration's preparation, before the kernel pauses: opens `region` and touches everything the
   * import will use for the first time (the buffer's pages, by writing zeros into it; the staging
   * memory for writing and for the read back), so none of it is paid for while the kernel waits.
   * With `verify`, it says how the import will verify: on the device where its digest kernel loads
   * (run once here), else by the read back (warmed here).
   */
  prepareImport: {
    args: { buffer: BufferHandle; bytes: number; region: RegionRef; verify?: boolean };
    result: ImportVerifyPlan;
  };
  /** Migration's preparation on the source, before the kernel pauses: the host's hashing threads start. */
  prepareExport: { args: Record<string, never>; result: null };
  /**
   * Migration's restore: reads `region` (written by another host's exportState) into a buffer,
   * then, with `verify`, reads the buffer back from the device and hashes what it holds; with
   * `verify` and `deviceBlockBytes` (a plan `onDevice`), digests it on the device after the last
   * write in blocks of that size instead, nothing read back. With `transfer`, it reads each chunk
   * once a StateChunkReady says the exporter wrote it.
   */
  importState: {
    args: {
      buffer: BufferHandle;
      bytes: number;
      region: RegionRef;
      verify: boolean;
      transfer?: number;
      deviceBlockBytes?: number;
    };
    result: StateTransferResult;
  };
  /**
   * Migration device to device between two CUDA device hosts (deviceStateTransfer.ts): the CUDA IPC
   * handle of a (quiesced) buffer, which the target's host opens in importDeviceState.
   */
  exportDeviceState: { args: { buffer: BufferHandle; bytes: number }; result: DeviceStateExport };
  /**
   * Migration device to device: opens another host's exported buffer, copies `bytes` of it into
   * `buffer` on the device (DtoD on one GPU, a peer copy from another), closes it; with `verify`,
   * reads the buffer back and hashes it.
   */
  importDeviceState: {
    args: { buffer: BufferHandle; bytes: number; from: DeviceStateExport; verify: boolean };
    result: DeviceStateImport;
  };
  /** Migration device to device within one host: copies `source` into `destination` (DtoD or peer); with `verify`, hashes the destination. */
  copyState: {
    args: { source: BufferHandle; destination: BufferHandle; bytes: number; verify: boolean };
    result: StateTransferResult;
  };
  /**
   * Before a device-to-device move pauses its kernel, on the target's host: loads the digest kernel
   * on the buffer's GPU (and the host's other GPUs: a source in this host may be on one) and runs it once over the (still empty) buffer; `onGpu` false (and why) when
   * it cannot load there, and the CPU's read back is warmed instead (the verify then runs there).
   */
  prepareDeviceVerify: {
    args: { buffer: BufferHandle; bytes: number };
    result: { onGpu: boolean; reason?: string };
  };
  /** The SHA-256 of a buffer's first `bytes` (a device-to-device move's checkpoint digest), read in the host. */
  hashState: { args: { buffer: BufferHandle; bytes: number }; result: { sha256: string; ms: number } };
  /**
   * Takes back the inboxes delivered to kernel `kernel` that no step has consumed yet (a kernel
   * leaving this host: stopped, or migrated), oldest first; the host forgets them.
   */
  takeMailbox: { args: { kernel: number }; result: { inboxes: InboxDelivery[] } };
  /** The step loops running in this host now, as the host knows them (tests compare them with the server's view). */
  runningLoops: { args: Record<string, never>; result: { loops: HostLoopInfo[] } };
}

/** One running step loop, as the host reports it. */
export interface HostLoopInfo {
  loop: number;
  /** The kernel's label (its id) and its index (kernel_index). */
  kernel: string;
  index: number;
  /** Its next step number. */
  step: number;
}

/**
 * A device host's exit codes after a failure it cannot go on from: a kernel faulted its CUDA context
 * (the kernel's fault, not the device's), or the device was lost.
 */
export const KERNEL_FAULT_EXIT_CODE = 3;
export const DEVICE_LOST_EXIT_CODE = 4;

/** Argument of a device host started with `ringkernel.enableP2P` off: copies between devices go through the host. */
export const NO_PEER_ACCESS_ARGUMENT = '--no-peer-access';

/**
 * Argument of a CUDA device host that serves one device instance (ringkernel.cuda.instancesPerDevice
 * N, probe/cudaInstances.ts): `--cuda-instances=N`, beside the instance's index; without it a CUDA
 * host serves every GPU.
 */
export const CUDA_INSTANCES_ARGUMENT = '--cuda-instances';

export type HostOperation = keyof HostOperations;

export interface HostRequest<K extends HostOperation = HostOperation> {
  kind: 'request';
  id: number;
  op: K;
  args: HostOperations[K]['args'];
}

export type HostResponse =
  | { kind: 'response'; id: number; ok: true; result: unknown }
  | { kind: 'response'; id: number; ok: false; error: GpuErrorData };

/** host → server, unprompted: a line for the log (driver messages, device loss). */
export interface HostDiagnostic {
  kind: 'diagnostic';
  message: string;
}

/** host → server: request `id` is still making progress (one more step done); resets its watchdog. */
export interface HostProgress {
  kind: 'progress';
  id: number;
}

/**
 * host → server: loop `loop` is alive. Sent after its first step, then at most every 100 ms after
 * a step, and at least every 200 ms while it waits between steps (never during one of its steps,
 * so a hung step silences it). `step` is the next step number; `messages` and `dropped` count
 * the outbox slots this loop drained and the sends that did not fit, since it started.
 */
export interface HostLoopProgress {
  kind: 'loopProgress';
  loop: number;
  step: number;
  messages: number;
  dropped: number;
}

/** host → server: a step of loop `loop` threw; the loop stopped before step `step`. */
export interface HostLoopFailed {
  kind: 'loopFailed';
  loop: number;
  step: number;
  error: GpuErrorData;
}

/**
 * host → server: what loop `loop` (the kernel with index `kernel`) sent since its last batch, in
 * step order, and which steps consumed delivered inboxes. Sent after every step that sent or
 * consumed anything (the steps that ran while the last one was still being written to the channel
 * go together in the next), and before a stopLoop's answer or a loopFailed, so nothing stays behind.
 */
export interface HostLoopMessages {
  kind: 'loopMessages';
  loop: number;
  kernel: number;
  steps: SentStep[];
  /**
   * The step that took each delivered inbox from the mailbox, oldest first, one per inbox: the
   * router then knows which checkpoint covers those messages (and which restore must repeat them).
   */
  inboxSteps: number[];
  /** The loop's next step. */
  nextStep: number;
}

/** host → server: exportState of pipelined transfer `transfer` has written the region's first `ready` bytes. */
export interface HostStateChunk {
  kind: 'stateChunk';
  transfer: number;
  ready: number;
}

export type HostMessage =
  HostResponse | HostDiagnostic | HostProgress | HostLoopProgress | HostLoopFailed | HostLoopMessages | HostStateChunk;

/**
 * server → host, no answer, outside the request queue (like HostDeliver): the first `ready` bytes
 * of pipelined transfer `transfer`'s region are written; or, with `failed`, they never will be
 * (the exporting host failed) and the import stops with that reason.
 */
export interface StateChunkReady {
  kind: 'stateChunk';
  transfer: number;
  ready: number;
  failed?: string;
}

/**
 * server → host, no answer: messages for kernel `kernel`'s next step (free-running delivery). The
 * host keeps them in that kernel's mailbox until one of its steps consumes them (one inbox a
 * step, oldest first); the server keeps at most a few in flight per kernel until the host reports
 * them consumed (loopMessages' inboxSteps), so the router's pending queue, not the host, holds
 * what waits.
 */
export type HostDeliver =
  | { kind: 'deliver'; kernel: number; inbox: InboxDelivery }
  /** The inbox's slots in the server's ring toward the host (messageRing.ts), the host copies them out on arrival. */
  | { kind: 'deliver'; kernel: number; span: RingSpan; count: number };
