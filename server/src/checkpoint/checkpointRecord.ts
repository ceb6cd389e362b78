// What one checkpoint file holds: the in-memory KernelCheckpoint (id, version, step, time, state)
// and what a restore elsewhere needs besides: which code produced the state, where it ran, the
// control block, the K2K router's messages for and from it, and its clock (runtime/checkpointClock.ts).
import type { ControlBlock } from '../abi/kernelAbi';
import type { KernelCheckpoint } from './kernelCheckpoint';
import type { PendingMessages } from './pendingMessages';

/** A kernel's hybrid logical clock, as the file keeps it (the router's clock in ms: runtime/checkpointClock.ts). */
export interface HlcState {
  /** Physical component, microseconds since the Unix epoch. */
  physicalMicros: number;
  /** Logical counter (u32). */
  logical: number;
  /** The clock's node id (u32). */
  nodeId: number;
}

export interface CheckpointRecord {
  checkpoint: KernelCheckpoint;
  /** SHA-256 (hex) of the code version that produced the state (KernelVersion.codeSha256). */
  codeSha256: string;
  /** The backend the kernel ran on, e.g. "webgpu". */
  backend: string;
  /** The coordinator's device key, e.g. "webgpu:0". */
  deviceKey: string;
  /** The control block as the host writes it before the next step: its step word is the low 32 bits of the checkpoint's step. */
  control: ControlBlock;
  hlc?: HlcState;
  /** The K2K router's messages for and from this kernel at the checkpoint's step, and its sequence numbers (pendingMessages.ts). */
  pendingMessages?: PendingMessages;
}

/** The metadata chunk's fields: everything about a checkpoint but its bytes. */
export interface CheckpointMetadata {
  kernelId: string;
  version: number;
  codeSha256: string;
  step: number;
  backend: string;
  deviceKey: string;
  takenAt: Date;
  stateBytes: number;
}

export function metadataOf(record: CheckpointRecord): CheckpointMetadata {
  const { checkpoint } = record;
  return {
    kernelId: checkpoint.kernelId,
    version: checkpoint.version,
    codeSha256: record.codeSha256,
    step: checkpoint.step,
    backend: record.backend,
    deviceKey: record.deviceKey,
    takenAt: checkpoint.takenAt,
    stateBytes: checkpoint.stateBytes,
  };
}
