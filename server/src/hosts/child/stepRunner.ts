// Kernel steps as the device host performs them: inbox and control block in, dispatch, outbox
// drained. The host runs a batch of steps back to back, so a step costs no IPC round trip of its
// own; it reports progress so the server's watchdog can tell a slow batch from a hung one. The
// continuous loop (stepLoop.ts) runs the same `runStep`.
import type { GpuBackend, StepLaunch } from '../../backends/backend';
import { SLOT_BYTES, encodeControl, usedOutboxBytes, type ControlBlock } from '../../abi/kernelAbi';
import type { InboxDelivery, StepBatch, StepOutcome } from '../hostProtocol';

/** One step as `runStep` saw it: the batch's outcome plus the outbox counter. */
export interface StepRun extends StepOutcome {
  /** Messages the kernel counted into its outbox (may exceed the capacity; the rest were dropped). */
  sent: number;
}

const ZERO_COUNT = new Uint8Array(4);

/**
 * Runs one step: writes `inbox`'s slots and `control` (inbox_count = the slots delivered) in the
 * step's submission, dispatches, and when the kernel sent anything reads the outbox header and
 * the used slots in one read, then resets the counter for the next step.
 */
export async function runStep(
  backend: GpuBackend,
  launch: StepLaunch,
  control: ControlBlock,
  inbox?: InboxDelivery,
): Promise<StepRun> {
  const count = inbox?.count ?? 0;
  const slots = count > 0 && inbox ? inbox.slots.subarray(0, count * SLOT_BYTES) : undefined;
  const { outboxSent, ...timing } = await backend.step(launch, encodeControl({ ...control, inboxCount: count }), slots);
  if (outboxSent === 0) return { step: control.step, timing, sent: 0 };
  // One read of what the kernel filled, never one per message and never the unused slots.
  const outbox =
    outboxSent > 0 && control.outboxCapacity > 0
      ? (await backend.read(launch.outbox, 0, usedOutboxBytes(outboxSent, control.outboxCapacity))).data
      : undefined;
  await backend.write(launch.outbox, 0, ZERO_COUNT);
  return outbox
    ? { step: control.step, timing, sent: outboxSent, outbox }
    : { step: control.step, timing, sent: outboxSent };
}

export async function runSteps(backend: GpuBackend, batch: StepBatch, onProgress: () => void): Promise<StepOutcome[]> {
  const outcomes: StepOutcome[] = [];
  for (let i = 0; i < batch.count; i++) {
    const { step, timing, outbox, sent } = await runStep(
      backend,
      batch.launch,
      { ...batch.control, step: batch.control.step + i },
      i === 0 ? batch.inbox : undefined,
    );
    outcomes.push({ step, timing, ...(sent > 0 ? { sent } : {}), ...(outbox ? { outbox } : {}) });
    onProgress();
  }
  return outcomes;
}
