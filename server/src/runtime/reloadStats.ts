// HotReloadManager's counters (the seed's HotReloadStatsSnapshot, with the failures it forgot).
// They only count up; averages are over successful reloads.
import type { HotReloadStats, ReloadPhaseTimings } from './kernelReports';

export class ReloadCounters {
  successfulReloads = 0;
  failedReloads = 0;
  validationFailures = 0;
  rollbacks = 0;
  automaticRollbacks = 0;
  recoveries = 0;
  superseded = 0;
  retries = 0;
  statePreservedCount = 0;
  private drainMs = 0;
  private compileMs = 0;
  private swapMs = 0;
  private totalMs = 0;

  /** A reload put its new version in place with the state preserved. */
  reloaded(timings: ReloadPhaseTimings): void {
    this.successfulReloads++;
    this.drainMs += timings.drainMs;
    this.compileMs += timings.compileMs;
    this.swapMs += timings.swapMs;
    this.totalMs += timings.totalMs;
    this.statePreservedCount++;
  }

  snapshot(): HotReloadStats {
    const done = Math.max(1, this.successfulReloads);
    return {
      successfulReloads: this.successfulReloads,
      failedReloads: this.failedReloads,
      validationFailures: this.validationFailures,
      rollbacks: this.rollbacks,
      automaticRollbacks: this.automaticRollbacks,
      recoveries: this.recoveries,
      superseded: this.superseded,
      retries: this.retries,
      statePreservedCount: this.statePreservedCount,
      avgDrainMs: this.drainMs / done,
      avgCompileMs: this.compileMs / done,
      avgSwapMs: this.swapMs / done,
      avgTotalMs: this.totalMs / done,
    };
  }
}
