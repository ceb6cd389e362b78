// Executing a drain: the coordinator plans where a drained device's kernels go (drainPlanner.ts,
// the seed's priority order: most urgent first, then largest state); here each planned kernel
// really moves, one after another, through KernelRuntime.migrate. A kernel whose move fails, and
// every kernel no device could take (an orphan of the plan), keeps running on the drained device
// from where it was: nothing is stopped to honour a drain.
import type { DeviceUnregisterResult } from '../coordinator/coordinatorTypes';
import { errorMessage } from '../logger';
import type { MigrationPhase, MigrationReport } from '../migration/migrationTypes';
import type { KernelRuntime } from './kernelRuntime';

export interface DrainProgress {
  kernelId: string;
  to: string;
  /** 0-based position of this kernel among the planned moves, and their number. */
  index: number;
  count: number;
  phase: MigrationPhase;
}

export interface DrainOptions {
  verify?: boolean;
  onProgress?(progress: DrainProgress): void;
  /**
   * A kernel stays on the drained device (its move failed): the coordinator counted it on its
   * planned target, so its record must leave that device (the drained one is no longer registered).
   */
  stayed?(kernelId: string): void;
}

export interface DrainResult {
  device: string;
  migrations: MigrationReport[];
  stayed: { kernelId: string; reason: string }[];
  message: string;
}

export async function executeDrain(
  runtime: KernelRuntime,
  plan: DeviceUnregisterResult,
  options: DrainOptions = {},
): Promise<DrainResult> {
  const { device } = plan;
  const migrations: MigrationReport[] = [];
  const stayed = plan.orphans.map((orphan) => ({
    kernelId: orphan.kernelId,
    reason: `no device can take it: ${orphan.reason}`,
  }));
  for (const [index, planned] of plan.migrations.entries()) {
    const progress = (phase: MigrationPhase): void =>
      options.onProgress?.({ kernelId: planned.kernelId, to: planned.to, index, count: plan.migrations.length, phase });
    try {
      const report = await runtime.migrate(planned.kernelId, planned.to, {
        ...(options.verify !== undefined ? { verify: options.verify } : {}),
        onPhase: progress,
      });
      migrations.push(report);
      if (report.status !== 'migrated') {
        stayed.push({ kernelId: planned.kernelId, reason: report.message });
        options.stayed?.(planned.kernelId);
      }
    } catch (error) {
      stayed.push({ kernelId: planned.kernelId, reason: `it did not move to ${planned.to}: ${errorMessage(error)}` });
      options.stayed?.(planned.kernelId);
    }
  }
  const moved = migrations.filter((m) => m.status === 'migrated');
  const parts = [
    `drained ${device}: ${moved.length} kernel(s) moved${moved.length > 0 ? ` (${moved.map((m) => `${m.kernelId} -> ${m.to}`).join(', ')})` : ''}`,
  ];
  if (stayed.length > 0)
    parts.push(`${stayed.length} keep running on ${device} (${stayed.map((s) => s.kernelId).join(', ')})`);
  return { device, migrations, stayed, message: parts.join('; ') };
}
