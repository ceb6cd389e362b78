// The coordinator's counters. They only ever count up; the snapshot adds what the device views
// say now (device count, memory).
import type { CoordinatorStats, DeviceView, PlacementDecider, SelectorFailure } from './coordinatorTypes';

export class CoordinatorCounters {
  readonly counts = {
    placements: 0,
    placementFailures: 0,
    preferredFallbacks: 0,
    selectorCalls: 0,
    selectorFailures: 0,
    selectorDeclined: 0,
    assignments: 0,
    removals: 0,
    unregisters: 0,
    migrationsPlanned: 0,
    orphans: 0,
  };
  readonly byDecider: Record<PlacementDecider, number> = {
    firstAvailable: 0,
    leastLoaded: 0,
    roundRobin: 0,
    memoryBased: 0,
    computeCapability: 0,
    custom: 0,
    requestedDevice: 0,
  };
  lastSelectorFailure: SelectorFailure | undefined;

  snapshot(views: readonly DeviceView[], kernelCount: number): CoordinatorStats {
    const stats: CoordinatorStats = {
      deviceCount: views.length,
      kernelCount,
      ...this.counts,
      placementsByDecider: { ...this.byDecider },
      memoryTotalBytes: views.reduce((sum, v) => sum + (v.memoryTotalBytes ?? 0), 0),
      memoryFreeBytes: views.reduce((sum, v) => sum + (v.memoryAvailableBytes ?? 0), 0),
    };
    if (this.lastSelectorFailure) stats.lastSelectorFailure = { ...this.lastSelectorFailure };
    return stats;
  }
}
