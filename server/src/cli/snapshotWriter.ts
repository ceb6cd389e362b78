// Writes the --snapshot files of `ringkernel run`: the run stops at each step a snapshot asks
// for, and each view's bytes (only those: a partial read of the state) become a PNG or a CSV.
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

/** Where a run of `steps` steps stops: each snapshot's step, then the end; ascending, no repeats. */
export function runStops(snapshots: readonly ResolvedSnapshot[], steps: number): number[] {
  return [...new Set([...snapshots.map((s) => s.step), steps])].sort((a, b) => a - b);
}

/** Reads the view's bytes from the kernel (at its step count) and writes the file. */
export async function writeSnapshot(kernel: DeviceKernel, snapshot: ResolvedSnapshot): Promise<WrittenSnapshot> {
  const { step, bytes } = await kernel.readStateRanges([viewRange(snapshot.stateView)]);
  const values = viewNumbers(snapshot.stateView.type, bytes[0] ?? new Uint8Array(0));
  try {
    await mkdir(dirname(snapshot.file), { recursive: true });
    await writeFile(snapshot.file, snapshotBytes(snapshot.format, snapshot.stateView, step, values));
  } catch (error) {
    throw new Error(
      `the snapshot of ${snapshot.view} at step ${step} could not be written to ${snapshot.file}: ${errorMessage(error)}`,
    );
  }
  return { view: snapshot.view, step, file: snapshot.file };
}
