// What happens when a kernel fails outside a reload (its host died or hung, its loop failed): a
// version still on probation that caused it is rolled back to the one before; anything else comes
// back on its own version from its last checkpoint; and a kernel that fails too often is stopped.
import type { ManagedKernel } from './managedKernel';

export type RecoveryDecision = { allowed: true } | { allowed: false; failures: number };

export class RecoveryPolicy {
  /** When each kernel's recent recoveries happened (Date.now()), newest last. */
  private readonly recent = new Map<string, number[]>();

  constructor(
    /** More failures than this within a minute stop the kernel. */
    private readonly maxPerMinute: number,
    /** A version that fails this soon after it started is rolled back. */
    private readonly probationMs: number,
  ) {}

  /** Counts a failure of the kernel; not allowed (with the count, this one included) when it is one too many. */
  admit(kernelId: string): RecoveryDecision {
    const minuteAgo = Date.now() - 60_000;
    const recent = (this.recent.get(kernelId) ?? []).filter((at) => at > minuteAgo);
    this.recent.set(kernelId, recent);
    if (recent.length >= this.maxPerMinute) return { allowed: false, failures: recent.length + 1 };
    recent.push(Date.now());
    return { allowed: true };
  }

  /** The kernel's current version caused the failure soon after it started, and there is one to go back to. */
  rollsBack(kernel: ManagedKernel, culprit: boolean): boolean {
    return (
      culprit &&
      kernel.fallback !== undefined &&
      kernel.rollbackPoint !== undefined &&
      Date.now() - kernel.resumedAt < this.probationMs
    );
  }

  forget(kernelId: string): void {
    this.recent.delete(kernelId);
  }
}

/**
 * When a device is gone: its device hosts keep dying (exits, not watchdog kills blamed on a hung
 * kernel) `maxPerMinute` times within a minute. A host restarts at once after each death, so a
 * device that fell off the bus makes a tight loop of deaths; past the budget the runtime stops
 * restarting it and re-places its kernels elsewhere from their last checkpoints.
 */
export class DeviceRestartBudget {
  /** When each device's hosts restarted (Date.now()), newest last. */
  private readonly recent = new Map<string, number[]>();

  constructor(private readonly maxPerMinute: number) {}

  /** Counts a restart of a host of `device`; true when it spends the budget: the device is lost. */
  restarted(device: string, now = Date.now()): boolean {
    const recent = (this.recent.get(device) ?? []).filter((at) => at > now - 60_000);
    recent.push(now);
    this.recent.set(device, recent);
    return recent.length >= Math.max(1, this.maxPerMinute);
  }

  /** Restarts of `device`'s hosts within the last minute. */
  count(device: string, now = Date.now()): number {
    return (this.recent.get(device) ?? []).filter((at) => at > now - 60_000).length;
  }
}
