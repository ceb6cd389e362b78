// The seed's KernelMigrator, made real: prepare the target while the kernel keeps running, quiesce
// it at a step boundary, checkpoint its state into a shared-memory region (hashed in the source's
// host, block by block beside the copy), transfer it into the target's state buffer (the target's
// host reads it; between two host processes the legs overlap, chunk by chunk, the server relaying
// each chunk's arrival; the target reads back and hashes what its device holds as it goes, or, where
// its device has a digest kernel, digests the state there after the last byte), restore the step
// count, verify the target's digests against the checkpoint's, switch the kernel's home and the
// coordinator's record in one step, resume on the target, and free the source. Until the switch any
// failure or cancel releases the target and resumes the source where it paused.
import { errorMessage } from '../logger';
import { formatBytes } from '../format';
import { firstDifference } from '../hosts/stateDigests';
import { transferRegions, type RegionLease } from '../hosts/transferRegions';
import type { StateTransferResult } from '../hosts/hostProtocol';
import type { DeviceKernel } from '../hosts/deviceKernel';
import { MigrationStats } from './migrationStats';
import { copiesDeviceToDevice } from './migrationRoute';
import { canMoveOnDevice, moveStateOnDevice, prepareOnDevice, type DeviceVerify } from './deviceStateTransfer';
import {
  MigrationError,
  type MigrationOptions,
  type MigrationPhase,
  type MigrationRecords,
  type MigrationReport,
  type MigrationRoute,
  type MigrationSubject,
  type PreparedTarget,
} from './migrationTypes';

export interface KernelMigratorOptions {
  records: MigrationRecords;
  route(from: string, to: string): MigrationRoute;
  /** Default for MigrationOptions.verify. */
  verify?: boolean;
}

/** Pipelined transfers' ids, unique in this server process (hosts tell their chunks apart by them). */
let nextTransfer = 1;

export class KernelMigrator {
  readonly stats = new MigrationStats();
  /** Kernels being migrated: a second migration of the same kernel is refused. */
  private readonly busy = new Set<string>();

  constructor(private readonly options: KernelMigratorOptions) {}

  isMigrating(kernelId: string): boolean {
    return this.busy.has(kernelId);
  }

  async migrate(subject: MigrationSubject, to: string, options: MigrationOptions = {}): Promise<MigrationReport> {
    const started = performance.now();
    const from = subject.from;
    const verify = options.verify ?? this.options.verify ?? true;
    const report: MigrationReport = {
      kernelId: subject.id,
      status: 'failed',
      from,
      to,
      bytes: subject.stateBytes,
      route: this.options.route(from, to),
      totalMs: 0,
      pausedMs: 0,
      prepareMs: 0,
      checkpointMs: 0,
      transferMs: 0,
      verifyMs: 0,
      gbPerSecond: 0,
      verified: false,
      message: '',
      at: new Date().toISOString(),
    };
    if (from === to)
      return this.finish(
        report,
        started,
        new MigrationError('preparing', `kernel "${subject.id}" already runs on ${to}`),
      );
    if (this.busy.has(subject.id))
      return this.finish(
        report,
        started,
        new MigrationError('preparing', `kernel "${subject.id}" is already being migrated`),
      );
    this.busy.add(subject.id);
    let phase: MigrationPhase = 'preparing';
    const enter = (next: MigrationPhase): void => {
      phase = next;
      options.onPhase?.(next);
    };
    const checkCancel = (): void => {
      if (options.signal?.aborted)
        throw new MigrationError(phase, `the migration of kernel "${subject.id}" was cancelled while ${phase}`, true);
    };
    let target: PreparedTarget | undefined;
    let paused: number | undefined;
    let source: DeviceKernel | undefined;
    let switched = false;
    let legsMs: number | undefined;
    let lease: RegionLease | undefined;
    let onDevice: DeviceVerify | undefined;
    /** A staged move's digest block size when the target digests on its device (decided at prepare). */
    let deviceBlockBytes: number | undefined;
    try {
      enter('preparing');
      checkCancel();
      const prepareStarted = performance.now();
      target = await subject.prepare(to);
      // CUDA to CUDA on one GPU or over a peer link: device to device (deviceStateTransfer.ts), no region.
      if (copiesDeviceToDevice(report.route, from, to) && canMoveOnDevice(target.kernel)) {
        report.deviceToDevice = true;
        onDevice = await prepareOnDevice(target.kernel, verify);
      } else {
        // The region the bytes travel through, taken before the pause (it may wait for a free one).
        lease = await transferRegions().take(subject.stateBytes);
        // First touches (the target buffer's pages, staging memory, the region's mapping) happen
        // now, while the kernel still runs on the source, not during its pause.
        const plan = await target.kernel.prepareImport(lease.ref(subject.stateBytes), verify);
        if (verify && plan?.onDevice) deviceBlockBytes = plan.blockBytes;
        await subject.prepareSource?.();
      }
      report.prepareMs = performance.now() - prepareStarted;
      checkCancel();

      enter('quiescing');
      paused = performance.now();
      const quiesced = await subject.quiesce();
      report.quiesceMs = performance.now() - paused;
      source = quiesced.source;
      report.step = quiesced.step;
      checkCancel();

      enter('checkpointing');
      const legsStarted = performance.now();
      const transferring = (): void => enter('transferring');
      const moved = lease
        ? await this.moveState(source, target, lease.ref(subject.stateBytes), verify, transferring, deviceBlockBytes)
        : await moveStateOnDevice(source, target.kernel, report.route, onDevice ?? 'off', transferring);
      const { exported, imported, importedAt, verifiedOn } = moved;
      // The legs' wall time: until the last byte was in the target's device. The target's read back
      // and hash (verify) came after that in the same answer; the source's hash may end later still
      // (it runs beside the import): both count in the pause, not in the transfer.
      legsMs = importedAt - legsStarted - (imported.verifyMs ?? 0);
      report.checkpointMs = exported.copyMs;
      if (exported.sha256 !== undefined) report.sha256 = exported.sha256;
      report.transferMs = imported.copyMs;
      if ('sourceWaitMs' in moved && moved.sourceWaitMs !== undefined) report.sourceWaitMs = moved.sourceWaitMs;
      if (imported.waitMs !== undefined) report.importWaitMs = imported.waitMs;
      if (imported.firstChunkMs !== undefined) report.firstChunkMs = imported.firstChunkMs;
      checkCancel();

      enter('restoring');
      target.kernel.setStepCount(quiesced.step);

      enter('verifying');
      if (verify) {
        // Both digests were computed beside the copies (stateDigests.ts); only they are compared here.
        report.verifyMs = imported.verifyMs ?? 0;
        if (imported.sha256 === undefined || imported.sha256 !== exported.sha256) {
          const differs = firstDifference(
            exported.digests ?? [],
            imported.digests ?? [],
            subject.stateBytes,
            imported.blockBytes,
          );
          const where = differs
            ? ` in bytes ${differs.offset}-${differs.offset + differs.length - 1} (block ${differs.block})`
            : '';
          throw new MigrationError(
            'verifying',
            `kernel "${subject.id}": the state on ${to} (SHA-256 ${imported.sha256?.slice(0, 12) ?? 'none'}) ` +
              `differs from the checkpoint taken on ${from} (${exported.sha256?.slice(0, 12) ?? 'none'})${where}; the kernel stays on ${from}`,
          );
        }
        report.verified = true;
        report.verifiedOn = verifiedOn ?? 'cpu';
      }
      checkCancel();

      // From here on there is no way back: the kernel lives on the target.
      enter('switching');
      subject.switchTo(target);
      switched = true;
      this.options.records.moved(subject.id, from, to);

      enter('resuming');
      const resuming = performance.now();
      try {
        await subject.resumeTarget();
        report.resumeMs = performance.now() - resuming;
      } finally {
        // The kernel lives on the target now, whether or not it resumed there: the source goes
        // either way (a target that failed to resume recovers there, not on the source).
        report.pausedMs = performance.now() - paused;
        await subject.freeSource(source).catch(() => undefined);
      }
      report.status = 'migrated';
      return this.finish(report, started, undefined, false, legsMs);
    } catch (error) {
      const failure = error instanceof MigrationError ? error : new MigrationError(phase, errorMessage(error));
      if (!switched) {
        if (target) await subject.release(target).catch(() => undefined);
        if (paused !== undefined) {
          try {
            await subject.resumeSource();
          } catch (resumeError) {
            failure.message += `; resuming it on ${from} failed too: ${errorMessage(resumeError)}`;
          }
          report.pausedMs = performance.now() - paused;
        }
      }
      return this.finish(report, started, failure, switched, legsMs);
    } finally {
      lease?.release();
      this.busy.delete(subject.id);
    }
  }

  /**
   * Checkpoint and transfer: the source's host writes the state into `region`, the target's host
   * reads it into its device. Between two host processes both run at once, chunk by chunk (the
   * server relays each exported chunk's arrival to the importer); within one host (CUDA devices
   * share one) the import follows the export, as one host's requests run in turn.
   */
  private async moveState(
    source: DeviceKernel,
    target: PreparedTarget,
    region: ReturnType<RegionLease['ref']>,
    verify: boolean,
    transferring: () => void,
    deviceBlockBytes?: number,
  ): Promise<{
    exported: StateTransferResult;
    imported: StateTransferResult;
    importedAt: number;
    verifiedOn?: 'gpu' | 'cpu';
    /** How long after the target's answer the source's (its digests) came: 0 when it came first. */
    sourceWaitMs?: number;
  }> {
    const from = source.deviceHost;
    const to = target.kernel.deviceHost;
    // Used only when verifying: 'gpu' where the target digested its state on its device.
    const verifiedOn = (imported: StateTransferResult): 'gpu' | 'cpu' => (imported.onDevice ? 'gpu' : 'cpu');
    if (from === to || !from.onStateChunk || !to.announceStateChunk) {
      const exported = await source.exportState(region, undefined, deviceBlockBytes);
      transferring();
      const imported = await target.kernel.importState(region, verify, undefined, deviceBlockBytes);
      return { exported, imported, importedAt: performance.now(), verifiedOn: verifiedOn(imported) };
    }
    const announce = to.announceStateChunk.bind(to);
    const transfer = nextTransfer++;
    // Both legs run at once: the phase is 'transferring' from the first chunk the target can take.
    let moving = false;
    const relay = from.onStateChunk((id, ready) => {
      if (id !== transfer) return;
      if (!moving) {
        moving = true;
        transferring();
      }
      announce(transfer, ready);
    });
    let importedAt = 0;
    const importing = target.kernel.importState(region, verify, transfer, deviceBlockBytes).then((imported) => {
      importedAt = performance.now();
      return imported;
    });
    // Settled below in every case; this keeps an early failure from being reported as unhandled.
    importing.catch(() => undefined);
    let exported: StateTransferResult;
    try {
      exported = await source.exportState(region, transfer, deviceBlockBytes);
    } catch (error) {
      announce(transfer, 0, errorMessage(error));
      await importing.catch(() => undefined);
      throw error;
    } finally {
      relay.dispose();
    }
    const exportedAt = performance.now();
    if (!moving) transferring();
    const imported = await importing;
    return {
      exported,
      imported,
      importedAt,
      verifiedOn: verifiedOn(imported),
      sourceWaitMs: Math.max(0, exportedAt - importedAt),
    };
  }

  private finish(
    report: MigrationReport,
    started: number,
    failure?: MigrationError,
    switched = false,
    legsMs?: number,
  ): MigrationReport {
    report.totalMs = performance.now() - started;
    // The two legs' wall time: overlapped when pipelined, their sum when one followed the other.
    const legMs = legsMs ?? report.checkpointMs + report.transferMs;
    report.gbPerSecond = legMs > 0 ? report.bytes / (legMs * 1e6) : 0;
    if (!failure) {
      report.message =
        `${report.kernelId} moved ${report.from} -> ${report.to} in ${ms(report.totalMs)}: ${formatBytes(report.bytes)} at ${report.gbPerSecond.toFixed(2)} GB/s, ` +
        `paused ${ms(report.pausedMs)}, ${report.verified ? 'state verified' : 'state not verified (ringkernel.migration.verify is off)'}`;
    } else {
      report.status = failure.cancelled ? 'cancelled' : 'failed';
      report.failedPhase = failure.phase;
      const where = switched
        ? `it was switched to ${report.to} and failed there`
        : `it keeps running on ${report.from}`;
      report.message = `${report.kernelId} did not move ${report.from} -> ${report.to} (${failure.cancelled ? 'cancelled' : `failed while ${failure.phase}`}): ${failure.message}; ${where}`;
    }
    this.stats.record(report);
    return report;
  }
}

function ms(value: number): string {
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;
}
