// What a migration is made of: its phases (the seed's KernelMigrator states), the route its bytes
// take, what it reports, and the narrow face of a kernel the migrator moves (MigrationSubject), so
// the migrator works the same for the language server's managed kernels and the command line's.
import type { DeviceKernel } from '../hosts/deviceKernel';

/** In order; a cancel is honoured until 'switching'. */
export type MigrationPhase =
  'preparing' | 'quiescing' | 'checkpointing' | 'transferring' | 'restoring' | 'verifying' | 'switching' | 'resuming';

export const MIGRATION_PHASES: readonly MigrationPhase[] = [
  'preparing',
  'quiescing',
  'checkpointing',
  'transferring',
  'restoring',
  'verifying',
  'switching',
  'resuming',
];

/** How the bytes travel (the protocol's MigrationRoute). */
export type MigrationRoute = 'samePhysicalGpu' | 'nvlinkPeer' | 'pciePeer' | 'hostStaged';

/** A target made ready while the kernel keeps running on its source. */
export interface PreparedTarget {
  /** Device key, e.g. "webgpu:1". */
  device: string;
  /** Compiled for the target's backend, buffers allocated; its step count is set at restore. */
  kernel: DeviceKernel;
}

/** What the migrator needs of a kernel. */
export interface MigrationSubject {
  readonly id: string;
  readonly stateBytes: number;
  /** The device it runs on now. */
  readonly from: string;
  /** On the target: a device host, the version for the target's backend, buffers; the source keeps running. */
  prepare(to: string): Promise<PreparedTarget>;
  /** Readies the source's host for the checkpoint (its hashing threads), while the kernel still runs; optional. */
  prepareSource?(): Promise<void>;
  /** Stops stepping at a step boundary; the kernel to export from and the step it stopped at. */
  quiesce(): Promise<{ source: DeviceKernel; step: number }>;
  /** Steps again on the source from where it paused (after a failure or a cancel before the switch). */
  resumeSource(): Promise<void>;
  /** Makes `target` the kernel's home (device, host, DeviceKernel) in one synchronous step. */
  switchTo(target: PreparedTarget): void;
  /** Steps on the new device; resolves after its first step there. */
  resumeTarget(): Promise<void>;
  /** Frees what is left on the source once the kernel runs on the target (a dead source is fine). */
  freeSource(source: DeviceKernel): Promise<void>;
  /** Frees a prepared target that will not be used. */
  release(target: PreparedTarget): Promise<void>;
}

/** Where the coordinator's records follow the kernel (at the switch). */
export interface MigrationRecords {
  moved(kernelId: string, from: string, to: string): void;
}

export interface MigrationOptions {
  /** Compare the target's state read back with the checkpoint's SHA-256 (ringkernel.migration.verify; default true). */
  verify?: boolean;
  /** Aborting it cancels the migration, until the switch. */
  signal?: AbortSignal;
  onPhase?(phase: MigrationPhase): void;
}

export interface MigrationReport {
  kernelId: string;
  status: 'migrated' | 'failed' | 'cancelled';
  from: string;
  to: string;
  bytes: number;
  route: MigrationRoute;
  /** The state was copied device to device (CUDA IPC or a copy within one CUDA host), not staged through host memory. */
  deviceToDevice?: boolean;
  /** From the request to the first step on the target (or back on the source). */
  totalMs: number;
  /** The kernel did not step: quiesce to its first step on the target (or back on the source). */
  pausedMs: number;
  prepareMs: number;
  checkpointMs: number;
  /** Shared-memory region to the target's device (the bytes' second leg; overlaps the checkpoint between two host processes). */
  transferMs: number;
  /** What was left of the target's read back and hashing after its last write (the rest overlaps the transfer). */
  verifyMs: number;
  /** Of the pause, a staged move between two hosts: how long after the target's answer the source's came (its digests still being hashed). */
  sourceWaitMs?: number;
  /**
   * Of the transfer, a staged move between two hosts: how long the target's import waited for the
   * source's chunks (near transferMs: the source's export is the slower leg), and how long after
   * the import started the first chunk was there.
   */
  importWaitMs?: number;
  firstChunkMs?: number;
  /** Of the pause: the wait for the source to stop at a step boundary. */
  quiesceMs?: number;
  /** Of the pause: from the switch to the kernel's first step on the target. */
  resumeMs?: number;
  /** Bytes over the two legs' wall time (checkpoint and transfer, overlapped or one after the other), GB/s. */
  gbPerSecond: number;
  verified: boolean;
  /**
   * Where the verify's digests were computed: 'gpu' (a device-to-device move, both sides digested by
   * the target's host with the digest kernel; or a staged move whose target digested its state on
   * its device, the source's hashed from the region on the CPU) or 'cpu' (the target's state read
   * back and hashed); absent unverified.
   */
  verifiedOn?: 'gpu' | 'cpu';
  /** The step the kernel carried over. */
  step?: number;
  /** The checkpoint's digest: SHA-256 over the state's per-block SHA-256s (hosts/stateDigests.ts). */
  sha256?: string;
  failedPhase?: MigrationPhase;
  message: string;
  at: string;
}

/** A failure in one phase: the message says what, the phase where. */
export class MigrationError extends Error {
  constructor(
    readonly phase: MigrationPhase,
    message: string,
    readonly cancelled = false,
  ) {
    super(message);
    this.name = 'MigrationError';
  }
}
