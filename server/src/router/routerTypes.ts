// The router's vocabulary, as plain data: what the runtime hands in and what it gets back.
import type { OutboxMessage } from '../abi/kernelAbi';
import type { DeviceKey } from '../probe/probeRecords';
import type { MessageList } from './outboxSlots';

/**
 * Free-running (the editor): a message is accepted when its batch is submitted and lands at the
 * receiver's next step. Lockstep (`ringkernel run`, tests): step s's batches wait until endStep(s),
 * which accepts them all in (source index, send order) order, so queue order, refusals and clock
 * times do not depend on which device finished first.
 */
export type RouterMode = 'freeRunning' | 'lockstep';

/** Why a message reached no inbox (besides refusals, which are the sender's outbox overflow). */
export type FailureReason =
  /** no kernel has the destination index */
  | 'unknownDestination'
  /** the destination kernel exists but is not running */
  | 'destinationStopped'
  /** accepted, then the destination kernel was removed before taking it */
  | 'destinationRemoved'
  /** accepted while the destination kernel was starting (registered ahead, UNPLACED), then it did not start */
  | 'destinationNotStarted'
  /** lockstep: submitted, then the sender was removed before its step ended */
  | 'sourceRemoved';
export const FAILURE_REASONS: readonly FailureReason[] = [
  'unknownDestination',
  'destinationStopped',
  'destinationRemoved',
  'destinationNotStarted',
  'sourceRemoved',
];

/**
 * The device of a kernel registered before it is placed (a manifest's kernels are registered
 * together before the first one starts): messages to it wait in its pending queue, undecided, and
 * get their route when relocate() names its device.
 */
export const UNPLACED: DeviceKey = 'unplaced';

export interface KernelRegistration {
  /** The kernel's index: its place in the manifest, what other kernels write as destination. */
  index: number;
  /** The manifest id, for the stats. */
  id: string;
  device: DeviceKey;
  /** Default true. A stopped kernel's messages fail with destinationStopped; its pending ones wait. */
  running?: boolean;
  /** Messages that may wait for this kernel beyond what its steps take; default the router's pendingLimit. */
  pendingLimit?: number;
  /** The step the kernel runs next (default 0): latency in steps counts from the step before. */
  nextStep?: number;
}

/** What the host read from one kernel's outbox after one step. */
export interface OutboxBatch {
  source: number;
  /** The sender's step that wrote them. */
  step: number;
  /** decodeOutbox's messages, or the step's slots read in place (OutboxSlots: nothing copied for a message refused). */
  messages: readonly OutboxMessage[] | MessageList;
  /** Sends past the outbox capacity, never written (decodeOutbox's `dropped`): the sender's outbox overflow. */
  outboxFull?: number;
}

/** What became of a batch's (or a step's) messages. */
export interface AdmissionCounts {
  accepted: number;
  /** The destination's pending queue was full: counted as the sender's outbox overflow. */
  refused: number;
  /** Re-sent after a restore: their sequence number was already handled. */
  duplicates: number;
  failed: number;
}

export interface SubmitResult extends AdmissionCounts {
  /** Lockstep: waiting for endStep. */
  staged: number;
}

export interface StepResult extends AdmissionCounts {
  step: number;
  /** Per sender with anything to report, by source index. */
  bySource: (AdmissionCounts & { source: number })[];
}

export interface RestoreResult {
  /** Delivered after the checkpoints, put back in front of the inboxes. */
  redelivered: number;
  /** Sender→receiver sequences rewound, so re-sent messages are recognised. */
  rewoundPairs: number;
  /** Delivered after the checkpoints but evicted from retention (past retainLimit): not delivered again, lost to the restored state. */
  lost: number;
  /** What could not be replayed because retention was exceeded (empty when the restore is exact). */
  incomplete: string[];
}
