// Kernel steps as the device host performs them: inbox and control block in, dispatch, outbox
// drained. The host runs a batch of steps back to back, so a step costs no IPC round trip of its
// own; it reports progress so the server's watchdog can tell a slow batch from a hung one. The
// continuous loop (stepLoop.ts) runs the same `runStep`.
import type { GpuBackend, StepLaunch } from '../../backends/backend';
import { OUTBOX_HEADER_BYTES, SLOT_BYTES, encodeControl, type ControlBlock } from '../../abi/kernelAbi';
import type { InboxDelivery, StepBatch, StepOutcome } from '../hostProtocol';

/** One step as `runStep` saw it: the batch's outcome plus the outbox counter. */
export interface StepRun extends StepOutcome {
  /** Messages the kernel counted into its outbox (may exceed the capacity; the rest were dropped). */
  sent: number;
}

/**
 * Outbox slots every step copies back in its own submission, whatever the kernel sent: 256 slots
 * are 16 KiB, which a GPU copies back over PCIe in about a microsecond and lavapipe in a memcpy,
 * against the 50-300 µs a second submit and wait costs. So an outbox of up to 256 slots (the
 * manifest's default is 16) comes back whole every step and never needs a read of its own.
 */
export const ALWAYS_COPIED_SLOTS = 256;

/**
 * How many outbox slots a step copies back with the header, in the step's submission. The whole
 * outbox when it is small (ALWAYS_COPIED_SLOTS or fewer). A large one (say 4096 slots, 256 KiB)
 * would cost its whole copy on every step, sending or not, so it gets the ALWAYS_COPIED_SLOTS
 * prefix, grown to what the kernel sent in its previous step: a steady sender's batch comes back
 * in the step's submission, and a kernel that sends less shrinks the copy at once. Slots past the
 * copied ones (a kernel that suddenly sends more) are read afterwards, in one read (runStep).
 */
export function outboxSlotsToCopy(capacity: number, previousSent: number): number {
  const slots = Math.max(0, capacity);
  if (slots <= ALWAYS_COPIED_SLOTS) return slots;
  return Math.min(slots, Math.max(ALWAYS_COPIED_SLOTS, previousSent));
}

/**
 * Runs one step in one submission and one wait (GpuBackend.step): writes `inbox`'s slots and
 * `control` (inbox_count = the slots delivered), dispatches, copies the outbox header and the
 * first outboxSlotsToCopy slots back and resets the counter for the next step. Only when the
 * kernel filled more slots than were copied does a second read fetch the rest (the counter is
 * already 0 then; the slots stay untouched until the next step). `previousSent` is what the
 * kernel's previous step sent (0 when unknown).
 */
export async function runStep(
  backend: GpuBackend,
  launch: StepLaunch,
  control: ControlBlock,
  inbox?: InboxDelivery,
  previousSent = 0,
): Promise<StepRun> {
  const count = inbox?.count ?? 0;
  const slots = count > 0 && inbox ? inbox.slots.subarray(0, count * SLOT_BYTES) : undefined;
  const copied = outboxSlotsToCopy(control.outboxCapacity, previousSent);
  const {
    outboxSent,
    outbox: head,
    ...timing
  } = await backend.step(launch, encodeControl({ ...control, inboxCount: count }), {
    ...(slots ? { inboxSlots: slots } : {}),
    outboxSlots: copied,
  });
  if (outboxSent === 0) return { step: control.step, timing, sent: 0 };
  const filled = Math.min(outboxSent, Math.max(0, control.outboxCapacity));
  if (filled === 0 || !head) return { step: control.step, timing, sent: outboxSent };
  const cameBack = (head.byteLength - OUTBOX_HEADER_BYTES) / SLOT_BYTES;
  if (filled <= cameBack) return { step: control.step, timing, sent: outboxSent, outbox: head };
  // The kernel filled more than came back: the rest in one read, never one per message.
  const restAt = head.byteLength;
  const outbox = new Uint8Array(OUTBOX_HEADER_BYTES + filled * SLOT_BYTES);
  outbox.set(head);
  await backend.read(launch.outbox, restAt, (filled - cameBack) * SLOT_BYTES, outbox.subarray(restAt));
  return { step: control.step, timing, sent: outboxSent, outbox };
}

export async function runSteps(backend: GpuBackend, batch: StepBatch, onProgress: () => void): Promise<StepOutcome[]> {
  const outcomes: StepOutcome[] = [];
  let previousSent = 0;
  for (let i = 0; i < batch.count; i++) {
    const { step, timing, outbox, sent } = await runStep(
      backend,
      batch.launch,
      { ...batch.control, step: batch.control.step + i },
      i === 0 ? batch.inbox : undefined,
      previousSent,
    );
    previousSent = sent;
    outcomes.push({ step, timing, ...(sent > 0 ? { sent } : {}), ...(outbox ? { outbox } : {}) });
    onProgress();
  }
  return outcomes;
}
