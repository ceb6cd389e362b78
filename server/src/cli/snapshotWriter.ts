// Runs a kernel of `ringkernel run` to its step count, stopping at each step a --snapshot asks
// for to read the view's bytes (only those: a partial read of the state) and write its file.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DeviceKernel } from '../hosts/deviceKernel';
import { errorMessage } from '../logger';
import { snapshotBytes } from '../views/snapshotFiles';
import { viewNumbers, viewRange } from '../views/viewNumbers';
import type { ResolvedSnapshot } from './snapshotOption';

export interface WrittenSnapshot {
  view: string;
  step: number;
  file: string;
}

/** Runs `kernel` (from its current step) to `steps`, in batches of at most `batch`, writing each snapshot at its step. */
export async function runWithSnapshots(kernel: DeviceKernel, steps: number, batch: number, snapshots: readonly ResolvedSnapshot[]): Promise<WrittenSnapshot[]> {
  const written: WrittenSnapshot[] = [];
  const due = [...snapshots].sort((a, b) => a.step - b.step);
  for (const snapshot of due) {
    await runTo(kernel, snapshot.step, batch);
    const { step, bytes } = await kernel.readStateRanges([viewRange(snapshot.stateView)]);
    const values = viewNumbers(snapshot.stateView.type, bytes[0] ?? new Uint8Array(0));
    try {
      await mkdir(dirname(snapshot.file), { recursive: true });
      await writeFile(snapshot.file, snapshotBytes(snapshot.format, snapshot.stateView, step, values));
    } catch (error) {
      throw new Error(`the snapshot of ${snapshot.view} at step ${step} could not be written to ${snapshot.file}: ${errorMessage(error)}`);
    }
    written.push({ view: snapshot.view, step, file: snapshot.file });
  }
  await runTo(kernel, steps, batch);
  return written;
}

async function runTo(kernel: DeviceKernel, step: number, batch: number): Promise<void> {
  while (kernel.stepCount < step) await kernel.run(Math.min(batch, step - kernel.stepCount));
}
