// A device is lost when its device hosts cannot be kept running (recoveryPolicy.ts's
// DeviceRestartBudget). Each of its kernels is placed on another device that can run it and comes
// back there from its last checkpoint (in memory, else the newest usable file), and the user is
// told which steps run again: "heat re-placed on webgpu:1 from its checkpoint at step 1200; steps
// 1201-1350 re-run". A kernel no device can take is stopped, with that said; its checkpoint is
// kept for the next start.
import type { BackendName } from '../backends/backendReport';
import type { KernelCheckpoint } from '../checkpoint/kernelCheckpoint';
import type { PlacementRequest } from '../coordinator/coordinatorTypes';
import type { KernelPlacement } from '../hosts/deviceKernel';
import type { KernelHost } from '../hosts/kernelHost';
import { errorMessage } from '../logger';
import type { ReloadOutcome } from './kernelReports';
import type { KernelLocation, ManagedKernel } from './managedKernel';
import { parseDeviceKey } from './kernelRelocation';

export interface DeviceLossContext {
  /** Every device lost so far: none of them is a candidate. */
  lost: ReadonlySet<string>;
  place(
    kernelId: string,
    request: PlacementRequest,
  ): Promise<{ ok: true; device: string } | { ok: false; error: { message: string } }>;
  /** The kernel leaves the placer's records (before it is placed again). */
  unplace(kernelId: string): void;
  deviceName(key: string): string;
  /** The kernel's host on `key` (the runtime's pools); the lost device's host is forgotten first. */
  hostOn(kernelId: string, backend: BackendName, key: string, index: number): KernelHost;
  placementOf(kernel: ManagedKernel, backend: BackendName, index: number): KernelPlacement;
  /** The newest usable checkpoint file of the kernel's code, when it has none in memory. */
  checkpointOnDisk(kernel: ManagedKernel): Promise<KernelCheckpoint | undefined>;
  /** Its undelivered messages follow it to the new device (the router). */
  messagesFollow(kernelId: string, key: string, host: KernelHost): Promise<void>;
  memoryBytes(kernel: ManagedKernel): number;
}

export type DeviceLossResult =
  | { kind: 'replaced'; outcome: ReloadOutcome }
  /** No device could take it, or it did not come back there: the caller stops it. */
  | { kind: 'stranded'; outcome: ReloadOutcome }
  /** It had left the device already, or was stopped or failed: nothing to do. */
  | { kind: 'untouched' };

/** "from its checkpoint at step 1200; steps 1201-1350 re-run": which steps run a second time. */
export function rerunText(checkpointStep: number | undefined, lastStep: number): string {
  const from = checkpointStep ?? 0;
  const what =
    checkpointStep === undefined ? 'from a zeroed state (it had no checkpoint)' : `from its checkpoint at step ${from}`;
  if (lastStep <= from) return `${what}; no step is re-run`;
  return `${what}; ${lastStep === from + 1 ? `step ${lastStep}` : `steps ${from + 1}-${lastStep}`} re-run`;
}

/**
 * Re-places `kernel`, which ran on the lost device `lostKey`. Call inside kernel.exclusive(), so
 * no reload or checkpoint is half done under it.
 */
export async function replaceLostKernel(
  kernel: ManagedKernel,
  lostKey: string,
  reason: string,
  context: DeviceLossContext,
): Promise<DeviceLossResult> {
  if (kernel.location.key !== lostKey || kernel.state === 'stopped' || kernel.state === 'failed')
    return { kind: 'untouched' };
  // The last step the lost device reported: steps after the checkpoint up to it run again.
  const lastStep = kernel.step;
  kernel.beginRecovery();
  const checkpoint = kernel.lastCheckpoint ?? (await context.checkpointOnDisk(kernel).catch(() => undefined));
  const { backend } = kernel.location;
  context.unplace(kernel.id);
  const placed = await context.place(kernel.id, {
    backend,
    memoryBytes: context.memoryBytes(kernel),
    stateBytes: kernel.spec.stateBytes,
    exclude: [...context.lost],
  });
  const outcome = (status: ReloadOutcome['status'], message: string, device: string): ReloadOutcome => ({
    kernelId: kernel.id,
    status,
    fromVersion: kernel.version.number,
    toVersion: kernel.version.number,
    device,
    stateBytes: kernel.spec.stateBytes,
    statePreserved: status === 'recovered' && checkpoint !== undefined,
    message,
    at: new Date().toISOString(),
  });
  const kept = checkpoint ? `; its checkpoint at step ${checkpoint.step} is kept for the next start` : '';
  if (!placed.ok) {
    const message = `${kernel.id} lost its device ${lostKey} (${reason}) and no other device can run it (${placed.error.message}): it is stopped${kept}`;
    kernel.fail(message);
    return { kind: 'stranded', outcome: outcome('failed', message, lostKey) };
  }
  const to = placed.device;
  const { index } = parseDeviceKey(to);
  const location: KernelLocation = { backend, device: index, key: to, deviceName: context.deviceName(to) };
  try {
    const host = context.hostOn(kernel.id, backend, to, index);
    kernel.replaceDevice({ host, location, placement: context.placementOf(kernel, backend, index) });
    await context.messagesFollow(kernel.id, to, host);
    await kernel.restart(kernel.version, checkpoint);
  } catch (error) {
    const message = `${kernel.id} lost its device ${lostKey} and did not come back on ${to}: ${errorMessage(error)}; it is stopped${kept}`;
    if (kernel.state === 'recovering') kernel.fail(message);
    return { kind: 'stranded', outcome: outcome('failed', message, to) };
  }
  const message = `${kernel.id} re-placed on ${to} ${rerunText(checkpoint?.step, lastStep)} (${lostKey} was lost: ${reason})`;
  // The same figures as a recovery's, for readers that count (the soak).
  const rerun = { fromStep: checkpoint?.step ?? 0, reachedStep: lastStep };
  return { kind: 'replaced', outcome: { ...outcome('recovered', message, to), rerun } };
}
