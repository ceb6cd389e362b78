// Kernel steps as the device host performs them: control block in, dispatch, outbox drained.
// The host runs a batch of steps back to back, so a step costs no IPC round trip of its own;
// it reports progress so the server's watchdog can tell a slow batch from a hung one. The
// continuous loop (stepLoop.ts) runs the same `runStep`.
import type { GpuBackend, StepLaunch } from '../../backends/backend';
import { encodeControl, type ControlBlock } from '../../abi/kernelAbi';
import type { StepBatch, StepOutcome } from '../hostProtocol';

/** One step as `runStep` saw it: the batch's outcome plus the outbox counter. */
export interface StepRun extends StepOutcome {
  /** Messages the kernel counted into its outbox (may exceed the capacity; the rest were dropped). */
  sent: number;
}

const ZERO_COUNT = new Uint8Array(4);

/**
 * Runs one step: writes `control` (with its step number), dispatches, and when the kernel sent
 * anything, reads the outbox (only with `readOutbox`: a loop has nobody to deliver the slots to
 * yet, so it only counts them) and resets its counter for the next step.
 */
export async function runStep(backend: GpuBackend, launch: StepLaunch, control: ControlBlock, readOutbox: boolean): Promise<StepRun> {
  const { outboxSent, ...timing } = await backend.step(launch, encodeControl(control));
  if (outboxSent === 0) return { step: control.step, timing, sent: 0 };
  const outbox = readOutbox ? (await backend.read(launch.outbox, 0, launch.outbox.bytes)).data : undefined;
  await backend.write(launch.outbox, 0, ZERO_COUNT);
  return outbox ? { step: control.step, timing, sent: outboxSent, outbox } : { step: control.step, timing, sent: outboxSent };
}

export async function runSteps(backend: GpuBackend, batch: StepBatch, onProgress: () => void): Promise<StepOutcome[]> {
  const outcomes: StepOutcome[] = [];
  for (let i = 0; i < batch.count; i++) {
    const { step, timing, outbox } = await runStep(backend, batch.launch, { ...batch.control, step: batch.control.step + i }, true);
    outcomes.push(outbox ? { step, timing, outbox } : { step, timing });
    onProgress();
  }
  return outcomes;
}
