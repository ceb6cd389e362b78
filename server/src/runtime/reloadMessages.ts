// The sentences reload outcomes carry to the user (the status bar, the popups, the log), and the
// errors a device compiler's log holds. One place, so the wording stays consistent.
import { GpuError } from '../backends/gpuError';
import { formatBytes } from '../format';
import { errorMessage } from '../logger';
import type { KernelCheckpoint } from '../checkpoint/kernelCheckpoint';

/** The error lines of a compiler's log, or its message when the log has none. */
export function compilerErrors(error: GpuError): string[] {
  const lines = (error.log ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const errors = lines.filter((line) => /error/i.test(line));
  return errors.length > 0 ? errors : [error.message];
}

/** What went wrong with a version, as the end of "heat v4 ...". */
export function describeFailure(error: unknown): string {
  if (error instanceof GpuError) {
    if (error.code === 'WATCHDOG_TIMEOUT') return 'hung (its step did not finish in time)';
    if (error.code === 'KERNEL_FAULT') return `faulted (${error.message})`;
    if (error.code === 'HOST_EXITED') return `lost its device host (${error.message})`;
  }
  return `failed (${errorMessage(error)})`;
}

export function rejectedMessage(kernelId: string, errors: readonly string[], running: number | undefined): string {
  const kept = running !== undefined ? `v${running} keeps running` : 'nothing was changed';
  return `${kernelId}: the new code has ${errors.length} error${errors.length === 1 ? '' : 's'}; ${kept}. See the Problems panel.`;
}

export function swappedMessage(
  kernelId: string,
  change: { from: number; to: number; rollback: boolean; restored: boolean },
  where: string,
  timings: { totalMs: number; rollbackPointMs: number },
  stateBytes: number,
): string {
  const size = formatBytes(stateBytes);
  const ms = Math.round(timings.totalMs);
  // The rollback point's bytes arrive while the new version runs: say so when that is noticeably later.
  const stored = Math.round(timings.rollbackPointMs);
  const rollbackPoint =
    stored - ms >= 5 ? `; rollback point saved ${stored} ms after the ${change.rollback ? 'request' : 'save'}` : '';
  return change.rollback
    ? `${kernelId} rolled back from v${change.from} to v${change.to} on ${where}: running in ${ms} ms (state preserved, ${size})${rollbackPoint}`
    : `${kernelId} v${change.to} reloaded on ${where}: running in ${ms} ms (state preserved${change.restored ? ' from its checkpoint' : ''}, ${size})${rollbackPoint}`;
}

export function autoRolledBackMessage(
  kernelId: string,
  bad: number,
  good: number,
  what: string,
  checkpoint: KernelCheckpoint | undefined,
): string {
  const from = checkpoint
    ? `from its checkpoint at step ${checkpoint.step} (state preserved, ${formatBytes(checkpoint.stateBytes)})`
    : 'from a zeroed state (no checkpoint survived its device host)';
  return `${kernelId} v${bad} ${what}; rolled back to v${good} ${from}`;
}

/** Which steps run again after a restore from an older checkpoint ("" when none do). */
export function rerunText(rerun: { fromStep: number; reachedStep: number }): string {
  const count = rerun.reachedStep - rerun.fromStep;
  if (count <= 0) return '';
  return count === 1
    ? `; step ${rerun.reachedStep} runs again`
    : `; steps ${rerun.fromStep + 1} to ${rerun.reachedStep} run again (${count} steps)`;
}

export function recoveredMessage(
  kernelId: string,
  version: number,
  checkpoint: KernelCheckpoint | undefined,
  reason: string,
): string {
  const from = checkpoint
    ? `its checkpoint at step ${checkpoint.step}`
    : 'a zeroed state (no checkpoint had been taken yet)';
  return `${kernelId} v${version} came back from ${from} after: ${reason}`;
}

export function tooManyFailuresMessage(kernelId: string, failures: number, reason: string): string {
  return `${kernelId} failed ${failures} times within a minute (last: ${reason}); it was stopped. Fix the kernel and run "RingKernel: Start Kernels".`;
}
