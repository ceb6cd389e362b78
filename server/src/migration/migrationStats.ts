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

/** The newest successful move between two devices: what the Migrate picker shows beside its estimate. */
export interface LastMove {
  kernelId: string;
  bytes: number;
  /** Request to the first step on the target. */
  totalMs: number;
  pausedMs: number;
  gbPerSecond: number;
  /** ISO time it finished. */
  at: string;
}

export class MigrationStats {
  /** By "from→to". */
  private readonly lastMoves = new Map<string, LastMove>();

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
      const { kernelId, bytes, totalMs, pausedMs, gbPerSecond, at } = report;
      this.lastMoves.set(`${report.from}→${report.to}`, { kernelId, bytes, totalMs, pausedMs, gbPerSecond, at });
    } else if (report.status === 'cancelled') t.cancelled++;
    else t.failed++;
    t.checkpointMs += report.checkpointMs;
    t.transferMs += report.transferMs;
    t.restoreMs += report.verifyMs;
    t.pausedMs += report.pausedMs;
    t.last = report;
  }

  /** The newest successful move from `from` to `to` since the server started, of any kernel. */
  lastMove(from: string, to: string): LastMove | undefined {
    const move = this.lastMoves.get(`${from}→${to}`);
    return move && { ...move };
  }

  snapshot(): MigrationStatsSnapshot {
    return { ...this.totals };
  }
}
