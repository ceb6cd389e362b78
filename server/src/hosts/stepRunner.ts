// Kernel steps as the device host performs them: control block in, dispatch, outbox drained.
// The host runs a batch of steps back to back, so a step costs no IPC round trip of its own;
// it reports progress so the server's watchdog can tell a slow batch from a hung one.
import type { GpuBackend, StepLaunch, Timing } from '../backends/backend';
import { encodeControl, type ControlBlock } from '../kernel/abi';

export interface StepBatch {
  launch: StepLaunch;
  /** The control block of the first step; `step` increments for each following one. */
  control: ControlBlock;
  count: number;
}

export interface StepOutcome {
  step: number;
  timing: Timing;
  /** The whole outbox as the kernel left it, or absent when it sent nothing this step. */
  outbox?: Uint8Array;
}

const ZERO_COUNT = new Uint8Array(4);

export async function runSteps(backend: GpuBackend, batch: StepBatch, onProgress: () => void): Promise<StepOutcome[]> {
  const outcomes: StepOutcome[] = [];
  for (let i = 0; i < batch.count; i++) {
    const step = batch.control.step + i;
    const { outboxSent, ...timing } = await backend.step(batch.launch, encodeControl({ ...batch.control, step }));
    if (outboxSent === 0) {
      outcomes.push({ step, timing });
    } else {
      const { data } = await backend.read(batch.launch.outbox, 0, batch.launch.outbox.bytes);
      await backend.write(batch.launch.outbox, 0, ZERO_COUNT);
      outcomes.push({ step, timing, outbox: data });
    }
    onProgress();
  }
  return outcomes;
}
