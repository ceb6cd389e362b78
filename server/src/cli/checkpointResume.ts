// `ringkernel run --checkpoint-dir DIR`: before the run, each kernel looks for its newest file in
// DIR written by the code it runs now (every digest and the checksum checked; a bad file is
// named and the next older one tried); after the run, each kernel's final state is written there.
// Lockstep runs every kernel at one step, so a run resumes only when every kernel it starts has
// such a file at the same step; otherwise all start at step 0, and it says why.
import { CheckpointStore, type RejectedCheckpointFile } from '../checkpoint/checkpointStore';
import { KernelCheckpoint, sha256Hex } from '../checkpoint/kernelCheckpoint';
import type { CheckpointRecord } from '../checkpoint/checkpointRecord';
import { controlStepWord } from '../checkpoint/chunkPayloads';
import type { PendingMessages } from '../checkpoint/pendingMessages';

export interface ResumeCandidate {
  id: string;
  /** SHA-256 of the code the kernel runs in this run. */
  codeSha256: string;
  stateBytes: number;
}

export interface ResumeDecision {
  /** The common step the run resumes at, when it does. */
  step: number | undefined;
  /** Per kernel: its state and the file it came from (empty when the run does not resume). */
  points: Map<string, ResumePointFile>;
  /** What to tell the user: files rejected, or why the run does not resume. */
  notes: string[];
}

export interface ResumePointFile {
  checkpoint: KernelCheckpoint;
  file: string;
  /** The kernel's index when the file was written (its control block). */
  kernelIndex: number;
  /** The router's messages for and from it then (PEND), when the file has them. */
  pendingMessages?: PendingMessages;
}

export function codeSha256(code: string): string {
  return sha256Hex(new TextEncoder().encode(code));
}

/** Finds every candidate's newest usable file and decides whether the run resumes from them. */
export async function findResumePoints(
  store: CheckpointStore,
  candidates: readonly ResumeCandidate[],
): Promise<ResumeDecision> {
  const points = new Map<string, ResumePointFile>();
  const notes: string[] = [];
  const missing: string[] = [];
  for (const candidate of candidates) {
    const { loaded, rejected } = await store.newest(candidate.id, {
      accept: (record) =>
        record.codeSha256 !== candidate.codeSha256
          ? `it was written by other code than ${candidate.id}'s source now`
          : record.checkpoint.stateBytes !== candidate.stateBytes
            ? `it holds ${record.checkpoint.stateBytes} bytes of state; the manifest says ${candidate.stateBytes}`
            : undefined,
    });
    notes.push(...rejected.map((r: RejectedCheckpointFile) => r.reason));
    if (loaded) {
      const { record } = loaded;
      points.set(candidate.id, {
        checkpoint: record.checkpoint,
        file: loaded.file,
        kernelIndex: record.control.kernelIndex,
        ...(record.pendingMessages ? { pendingMessages: record.pendingMessages } : {}),
      });
    } else missing.push(candidate.id);
  }
  if (points.size === 0) return { step: undefined, points, notes };
  if (missing.length > 0) {
    notes.push(
      `not resuming: ${missing.map((id) => `"${id}"`).join(', ')} has no usable checkpoint in ${store.folder}, and lockstep runs every kernel at one step; every kernel starts at step 0`,
    );
    return { step: undefined, points: new Map(), notes };
  }
  const steps = new Set([...points.values()].map((p) => p.checkpoint.step));
  if (steps.size > 1) {
    notes.push(
      `not resuming: the newest checkpoints are at different steps (${[...points].map(([id, p]) => `${id} ${p.checkpoint.step}`).join(', ')}), and lockstep runs every kernel at one step; every kernel starts at step 0`,
    );
    return { step: undefined, points: new Map(), notes };
  }
  return { step: [...steps][0], points, notes };
}

/** The record of a kernel's state after the run, for the checkpoint folder. */
export function finalRecord(fields: {
  id: string;
  version: number;
  step: number;
  state: Uint8Array;
  code: string;
  backend: string;
  deviceKey: string;
  kernelIndex: number;
  outboxCapacity: number;
  /** The router's messages for and from the kernel at the end of the run. */
  pendingMessages?: PendingMessages | undefined;
}): CheckpointRecord {
  const record: CheckpointRecord = {
    checkpoint: KernelCheckpoint.of({
      kernelId: fields.id,
      version: fields.version,
      step: fields.step,
      state: fields.state,
    }),
    codeSha256: codeSha256(fields.code),
    backend: fields.backend,
    deviceKey: fields.deviceKey,
    control: {
      step: controlStepWord(fields.step),
      kernelIndex: fields.kernelIndex,
      inboxCount: 0,
      outboxCapacity: fields.outboxCapacity,
    },
  };
  if (fields.pendingMessages) record.pendingMessages = fields.pendingMessages;
  return record;
}
