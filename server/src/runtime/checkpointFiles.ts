// The runtime's checkpoints on disk: every periodic checkpoint, the one a stop leaves and each
// rollback point go through a CheckpointStore (atomic files, the newest few per kernel), in the
// background: the kernel's loop never waits for the disk. A failed write (a full disk, say) is
// logged and reported once per kernel, naming the file and why, and the kernel runs on. A start
// with nothing in memory resumes from the newest file whose code is the code being started; a
// corrupt, truncated or foreign file is rejected, named, and the next older one is used. Each file
// carries the K2K router's messages for and from its kernel (PEND), which a restarted server seeds
// the router with before any kernel runs (KernelRuntime.start, router/routerCheckpoint.ts).
import type { KernelCheckpoint } from '../checkpoint/kernelCheckpoint';
import { CheckpointStore, type RejectedCheckpointFile } from '../checkpoint/checkpointStore';
import type { CheckpointRecord, HlcState } from '../checkpoint/checkpointRecord';
import type { PendingMessages } from '../checkpoint/pendingMessages';
import { errorMessage, type Logger } from '../logger';

export interface CheckpointFilesOptions {
  folder: string;
  log: Logger;
  /** A write failed, or the folder cannot be used: said to the user (once per kernel until a write works again). */
  onProblem?(message: string): void;
  /** Files kept per kernel (default 3). */
  keep?: number;
}

/** What the checkpoint files give a start: the state to resume from (when a file could be used) and the files rejected on the way. */
export interface ResumePoint {
  found:
    | {
        checkpoint: KernelCheckpoint;
        file: string;
        /** The kernel's index when the file was written (its control block). */
        kernelIndex: number;
        /** The router's messages for and from the kernel then (the PEND chunk), when the file has them. */
        pendingMessages?: PendingMessages;
        /** The kernel's K2K clock when the file was written (the HLC chunk), when the file has it. */
        hlc?: HlcState;
      }
    | undefined;
  /** Newer files that could not be used, newest first, each with why. */
  rejected: RejectedCheckpointFile[];
}

export class CheckpointFiles {
  private readonly store: Promise<CheckpointStore | undefined>;
  /** States queued or being written: memory a kernel must not read its next checkpoint into. */
  private readonly writing = new Set<Readonly<Uint8Array>>();
  /** Checkpoints already sent to the store (a stop's may be the last periodic one). */
  private readonly written = new WeakSet<KernelCheckpoint>();
  /** Kernels whose last write failed: the next failure is logged, not reported again. */
  private readonly failing = new Set<string>();

  constructor(private readonly options: CheckpointFilesOptions) {
    this.store = CheckpointStore.open(options.folder, {
      logger: options.log,
      ...(options.keep !== undefined ? { keep: options.keep } : {}),
    }).catch((error: unknown) => {
      const message = `checkpoints stay in memory only: ${errorMessage(error)}`;
      options.log.warn(message);
      options.onProblem?.(message);
      return undefined;
    });
  }

  get folder(): string {
    return this.options.folder;
  }

  /** The states the store has not finished with (ManagedKernel leaves them out of its reused memory). */
  statesInUse(): ReadonlySet<Readonly<Uint8Array>> {
    return this.writing;
  }

  /** Writes `record` in the background; `why` names it in the log ("periodic", "stop", "rollback point"). */
  save(record: CheckpointRecord, why: string): void {
    const { checkpoint } = record;
    if (this.written.has(checkpoint)) return;
    this.written.add(checkpoint);
    const state = checkpoint.state;
    this.writing.add(state);
    const id = checkpoint.kernelId;
    void this.store
      .then(async (store) => {
        if (!store) return;
        const outcome = await store.write(record);
        this.failing.delete(id);
        if (outcome.written)
          this.options.log.debug(
            `kernel "${id}": ${why} checkpoint at step ${checkpoint.step} written to ${outcome.file} (${outcome.fileBytes} bytes, ${outcome.ms.toFixed(1)} ms)`,
          );
      })
      .catch((error: unknown) => {
        // CheckpointWriteError names the kernel, the folder and the system's reason, and says no partial file was left.
        const message = `kernel "${id}" runs on, but its ${why} checkpoint was not saved: ${errorMessage(error)}`;
        this.options.log.warn(message);
        if (!this.failing.has(id)) this.options.onProblem?.(message);
        this.failing.add(id);
      })
      .finally(() => this.writing.delete(state));
  }

  /**
   * The newest file of `kernelId` that reads cleanly (every digest and the checksum checked) and
   * was written by the code `codeSha256` with `stateBytes` of state, if any is, and the newer
   * files rejected on the way (corrupt, truncated, of another format version, other code).
   */
  async resumePoint(kernelId: string, codeSha256: string, stateBytes: number): Promise<ResumePoint> {
    const store = await this.store;
    if (!store) return { found: undefined, rejected: [] };
    const { loaded, rejected } = await store.newest(kernelId, {
      accept: (record) => {
        if (record.codeSha256 !== codeSha256)
          return `it was written by other code (v${record.checkpoint.version}, SHA-256 ${record.codeSha256.slice(0, 12)}…) than the source being started (${codeSha256.slice(0, 12)}…)`;
        if (record.checkpoint.stateBytes !== stateBytes)
          return `it holds ${record.checkpoint.stateBytes} bytes of state; the manifest now says ${stateBytes}`;
        return undefined;
      },
    });
    if (!loaded) return { found: undefined, rejected };
    this.written.add(loaded.record.checkpoint);
    const { record } = loaded;
    return {
      found: {
        checkpoint: record.checkpoint,
        file: loaded.file,
        kernelIndex: record.control.kernelIndex,
        ...(record.pendingMessages ? { pendingMessages: record.pendingMessages } : {}),
        ...(record.hlc ? { hlc: record.hlc } : {}),
      },
      rejected,
    };
  }

  /** Resolves once every write asked for so far has settled (before the server exits). */
  async idle(): Promise<void> {
    await (await this.store)?.idle();
  }
}

/** The rejected files of a resume, one line each, for a start message. */
export function describeRejected(rejected: readonly RejectedCheckpointFile[]): string {
  return rejected.map((r) => r.reason).join('; ');
}
