// The seed's MigrationStats: counts and times of every migration since the start, for the
// status of the language server and the command line's --json.
import type { MigrationReport } from './migrationTypes';

export interface MigrationStatsSnapshot {
  successful: number;
  failed: number;
  cancelled: number;
  bytesTransferred: number;
  checkpointMs: number;
  transferMs: number;
  /** Restore and verify. */
  restoreMs: number;
  pausedMs: number;
  last?: MigrationReport;
}

export class MigrationStats {
  private readonly totals: MigrationStatsSnapshot = {
    successful: 0,
    failed: 0,
    cancelled: 0,
    bytesTransferred: 0,
    checkpointMs: 0,
    transferMs: 0,
    restoreMs: 0,
    pausedMs: 0,
  };

  record(report: MigrationReport): void {
    const t = this.totals;
    if (report.status === 'migrated') {
      t.successful++;
      t.bytesTransferred += report.bytes;
    } else if (report.status === 'cancelled') t.cancelled++;
    else t.failed++;
    t.checkpointMs += report.checkpointMs;
    t.transferMs += report.transferMs;
    t.restoreMs += report.verifyMs;
    t.pausedMs += report.pausedMs;
    t.last = report;
  }

  snapshot(): MigrationStatsSnapshot {
    return { ...this.totals };
  }
}
