// Where a removed device's kernels go: most urgent first (then largest state), each to the least
// loaded device that can take it (its backend, its memory, the kernel limit, counting the plans
// made so far), ties to the quickest transfer from the removed device. A kernel with nowhere to go
// is an orphan, with the reason.
import type { DeviceKey } from '../probe/probeRecords';
import {
  MIGRATION_PRIORITIES,
  type DeviceView,
  type KernelMigrationPlan,
  type OrphanedKernel,
  type PlacementRequest,
  type TransferEstimate,
} from './coordinatorTypes';
import type { KernelRecord } from './deviceRegistry';
import { ineligibleReason } from './placementStrategies';

const PRIORITY_RANK: Record<string, number> = Object.fromEntries(MIGRATION_PRIORITIES.map((p, i) => [p, i]));

export interface DrainContext {
  /** The device views now; each `move` or `orphan` changes them. */
  views(): readonly DeviceView[];
  maxKernelsPerDevice: number;
  estimate(from: DeviceKey, to: DeviceKey, bytes: number): TransferEstimate | undefined;
  /** The plan takes effect: the kernel now counts on `to`. */
  move(kernel: KernelRecord, to: DeviceKey): void;
  /** The kernel is no longer assigned anywhere. */
  orphan(kernel: KernelRecord): void;
}

/** The order kernels leave a device in: most urgent, then largest state, then by id. */
export function drainOrder(kernels: readonly KernelRecord[]): KernelRecord[] {
  return [...kernels].sort(
    (a, b) =>
      (PRIORITY_RANK[b.priority] ?? 0) - (PRIORITY_RANK[a.priority] ?? 0) ||
      b.stateBytes - a.stateBytes ||
      a.kernelId.localeCompare(b.kernelId),
  );
}

/** Plans every kernel of `leaving` off device `from`, keeping them off `aliases` (the same GPU) too. */
export function planDrain(
  from: DeviceKey,
  leaving: readonly KernelRecord[],
  aliases: readonly DeviceKey[],
  context: DrainContext,
): { migrations: KernelMigrationPlan[]; orphans: OrphanedKernel[] } {
  const migrations: KernelMigrationPlan[] = [];
  const orphans: OrphanedKernel[] = [];
  for (const kernel of drainOrder(leaving)) {
    const request: PlacementRequest = { exclude: aliases, memoryBytes: kernel.memoryBytes };
    if (kernel.backend !== undefined) request.backend = kernel.backend;
    const views = context.views();
    const candidates = views.filter((v) => ineligibleReason(v, request, context.maxKernelsPerDevice) === undefined);
    const target = quickestAmongLeastLoaded(from, candidates, kernel.stateBytes, context);
    if (!target) {
      context.orphan(kernel);
      orphans.push({
        kernelId: kernel.kernelId,
        from,
        reason: orphanReason(kernel, views, aliases, context.maxKernelsPerDevice),
      });
      continue;
    }
    const plan: KernelMigrationPlan = {
      kernelId: kernel.kernelId,
      from,
      to: target.key,
      priority: kernel.priority,
      stateBytes: kernel.stateBytes,
    };
    const transfer = context.estimate(from, target.key, kernel.stateBytes);
    if (transfer) plan.transfer = transfer;
    migrations.push(plan);
    context.move(kernel, target.key);
  }
  return { migrations, orphans };
}

/** The least loaded candidate; among equals, the one the kernel's state reaches soonest from `from`. */
function quickestAmongLeastLoaded(
  from: DeviceKey,
  candidates: readonly DeviceView[],
  stateBytes: number,
  context: DrainContext,
): DeviceView | undefined {
  let chosen: { view: DeviceView; seconds: number } | undefined;
  for (const view of candidates) {
    const seconds = context.estimate(from, view.key, stateBytes)?.seconds ?? Number.POSITIVE_INFINITY;
    if (
      !chosen ||
      view.kernelCount < chosen.view.kernelCount ||
      (view.kernelCount === chosen.view.kernelCount && seconds < chosen.seconds)
    )
      chosen = { view, seconds };
  }
  return chosen?.view;
}

function orphanReason(
  kernel: KernelRecord,
  views: readonly DeviceView[],
  aliases: readonly DeviceKey[],
  maxKernelsPerDevice: number,
): string {
  const kind = kernel.backend === undefined ? 'other' : `other ${kernel.backend}`;
  const fits = (v: DeviceView): boolean => kernel.backend === undefined || v.backend === kernel.backend;
  const sameKind = views.filter((v) => fits(v) && !aliases.includes(v.key));
  const excluded = views.filter((v) => fits(v) && aliases.includes(v.key)).map((v) => v.key);
  if (sameKind.length === 0)
    return `no ${kind} device is registered${excluded.length > 0 ? ` (the same GPU through ${excluded.join(', ')} is excluded)` : ''}`;
  return `no ${kind} device can take it: ${sameKind.map((v) => `${v.key} ${ineligibleReason(v, { memoryBytes: kernel.memoryBytes }, maxKernelsPerDevice) ?? 'busy'}`).join('; ')}`;
}
