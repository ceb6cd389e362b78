// The checkpoint files of one workspace, in one folder the caller chooses (the extension's
// workspace storage, the CLI's --checkpoint-dir). Writes are atomic (temporary file in the same
// folder, fsync, rename, fsync of the folder): after a crash at any point the folder holds the old
// files, complete, plus perhaps a temporary file that the next open removes. Writes run in the
// background of the caller: one at a time per kernel, and a write asked for while another waits
// replaces the waiting one (the newest state is the one worth having). The newest few files per
// kernel are kept; reading falls back from a rejected file to the next older one and says why.
import { mkdir, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from '../logger';
import { fileSink, type ByteSink } from './byteStreams';
import { encodeCheckpoint } from './checkpointEncoder';
import { readCheckpointFile } from './checkpointDecoder';
import {
  CheckpointFileError,
  CheckpointWriteError,
  describeWriteFailure,
  systemErrorCode,
  type CheckpointProblem,
} from './checkpointErrors';
import {
  checkpointFileName,
  isTempFileName,
  kernelKey,
  parseCheckpointFileName,
  tempFileName,
} from './checkpointFileName';
import type { CheckpointRecord } from './checkpointRecord';

export const DEFAULT_KEEP = 3;

/** Seams for failure tests: they replace one step, never the file system as a whole. */
export interface CheckpointStoreHooks {
  /** Wraps the sink over the temporary file (a test makes it fail as a full disk would). */
  sink?(sink: ByteSink, tempPath: string): ByteSink;
  /** Runs after the temporary file is complete and synced, before the rename (a test stops here, as a crash would). */
  beforeRename?(tempPath: string, finalPath: string): Promise<void>;
}

export interface CheckpointStoreOptions {
  /** Files kept per kernel, newest first (default 3). */
  keep?: number;
  logger?: Logger;
  hooks?: CheckpointStoreHooks;
}

export type CheckpointWriteOutcome =
  | { written: true; file: string; generation: number; fileBytes: number; stateSha256: string; ms: number }
  /** A newer write for the same kernel was asked for before this one started; that one is written instead. */
  | { written: false; supersededByStep: number };

export interface StoredCheckpointFile {
  file: string;
  /** Orders the files of a folder by when their write began (steps can go back after a rollback; this cannot). */
  generation: number;
}

export interface RejectedCheckpointFile {
  file: string;
  problem: CheckpointProblem;
  reason: string;
}

export interface LoadedCheckpoint extends StoredCheckpointFile {
  record: CheckpointRecord;
}

export interface NewestCheckpoint {
  /** The newest file that read cleanly, if any did. */
  loaded: LoadedCheckpoint | undefined;
  /** The newer files that were rejected on the way, newest first. */
  rejected: RejectedCheckpointFile[];
}

interface WaitingWrite {
  record: CheckpointRecord;
  resolve(outcome: CheckpointWriteOutcome): void;
  reject(error: unknown): void;
}

interface Lane {
  running: CheckpointRecord | undefined;
  waiting: WaitingWrite | undefined;
  done: Promise<void>;
}

export class CheckpointStore {
  private readonly keep: number;
  private readonly log: Logger | undefined;
  private readonly hooks: CheckpointStoreHooks;
  /** Per kernel id, the writes in progress. */
  private readonly lanes = new Map<string, Lane>();

  private constructor(
    readonly folder: string,
    private nextGeneration: number,
    options: CheckpointStoreOptions,
  ) {
    this.keep = options.keep ?? DEFAULT_KEEP;
    this.log = options.logger;
    this.hooks = options.hooks ?? {};
  }

  /** Opens (creating it if needed) a checkpoint folder, removing temporary files a crash left behind. One store per folder. */
  static async open(folder: string, options: CheckpointStoreOptions = {}): Promise<CheckpointStore> {
    const keep = options.keep ?? DEFAULT_KEEP;
    if (!Number.isSafeInteger(keep) || keep < 1)
      throw new RangeError(`a checkpoint store keeps at least one file per kernel; ${keep} was asked`);
    const dir = resolve(folder);
    let names: string[];
    try {
      await mkdir(dir, { recursive: true });
      names = await readdir(dir);
    } catch (error) {
      throw new CheckpointWriteError(
        `cannot use checkpoint folder ${dir}: ${describeWriteFailure(error)}`,
        systemErrorCode(error),
        { cause: error },
      );
    }
    let highest = -1;
    const leftovers: string[] = [];
    for (const name of names) {
      if (isTempFileName(name)) leftovers.push(name);
      else highest = Math.max(highest, parseCheckpointFileName(name)?.generation ?? -1);
    }
    for (const name of leftovers) {
      try {
        await rm(join(dir, name), { force: true });
      } catch (error) {
        options.logger?.warn(
          `could not remove the unfinished checkpoint file ${join(dir, name)}: ${describeWriteFailure(error)}`,
        );
      }
    }
    if (leftovers.length > 0)
      options.logger?.info(
        `removed ${leftovers.length} unfinished checkpoint file(s) left in ${dir} by an interrupted write`,
      );
    return new CheckpointStore(dir, highest + 1, options);
  }

  /**
   * Writes `record` to a new file. The state's memory must stay unchanged until the promise
   * settles (no copy is made). Rejects with CheckpointWriteError, leaving no partial file.
   */
  write(record: CheckpointRecord): Promise<CheckpointWriteOutcome> {
    const id = record.checkpoint.kernelId;
    return new Promise((resolve, reject) => {
      let lane = this.lanes.get(id);
      lane?.waiting?.resolve({ written: false, supersededByStep: record.checkpoint.step });
      const waiting = { record, resolve, reject };
      if (lane) {
        lane.waiting = waiting;
        return;
      }
      lane = { running: undefined, waiting, done: Promise.resolve() };
      this.lanes.set(id, lane);
      lane.done = this.runLane(id, lane);
    });
  }

  /**
   * The state buffers the store is writing or will write: memory the caller must not reuse yet (a
   * runtime that recycles checkpoint memory leaves these out). A reused buffer would put a state
   * torn between two steps on disk under a digest that matches it.
   */
  statesInUse(): Set<Readonly<Uint8Array>> {
    const states = new Set<Readonly<Uint8Array>>();
    for (const lane of this.lanes.values()) {
      if (lane.running) states.add(lane.running.checkpoint.state);
      if (lane.waiting) states.add(lane.waiting.record.checkpoint.state);
    }
    return states;
  }

  /** Resolves when every write asked for so far has settled (before the server exits). */
  async idle(): Promise<void> {
    while (this.lanes.size > 0) await Promise.all([...this.lanes.values()].map((lane) => lane.done));
  }

  /** The kernel's files, newest first; reads none of them. */
  async files(kernelId: string): Promise<StoredCheckpointFile[]> {
    const key = kernelKey(kernelId);
    let names: string[];
    try {
      names = await readdir(this.folder);
    } catch (error) {
      // The folder removed under a running store (a workspace storage cleanup) holds no checkpoints.
      if (systemErrorCode(error) === 'ENOENT') return [];
      throw error;
    }
    const files: StoredCheckpointFile[] = [];
    for (const name of names) {
      const parsed = parseCheckpointFileName(name);
      if (parsed?.key === key) files.push({ file: join(this.folder, name), generation: parsed.generation });
    }
    return files.sort((a, b) => b.generation - a.generation);
  }

  /**
   * The newest of the kernel's files that reads cleanly (every digest and the checksum verified),
   * falling back past rejected ones, each logged with its reason. `into`: memory for the state
   * (used when its size is right; a rejected file may have overwritten part of it). `accept`: why
   * a sound file cannot be used (undefined: it can); such a file is rejected as `incompatible`.
   */
  async newest(
    kernelId: string,
    options: { into?: Uint8Array; accept?(record: CheckpointRecord): string | undefined } = {},
  ): Promise<NewestCheckpoint> {
    const rejected: RejectedCheckpointFile[] = [];
    for (const stored of await this.files(kernelId)) {
      try {
        const record = await readCheckpointFile(stored.file, {
          expectKernelId: kernelId,
          ...(options.into ? { into: options.into } : {}),
        });
        // Sound, but not what the caller can resume (written by other code, say): the next older one may be.
        const refusal = options.accept?.(record);
        if (refusal !== undefined) throw new CheckpointFileError(stored.file, 'incompatible', refusal);
        if (rejected.length > 0)
          this.log?.warn(
            `kernel "${kernelId}" resumes from the older checkpoint ${stored.file} (step ${record.checkpoint.step}); newer ones were rejected:${listed(rejected)}`,
          );
        return { loaded: { ...stored, record }, rejected };
      } catch (error) {
        if (!(error instanceof CheckpointFileError)) throw error;
        // Removed since the listing (kept files are pruned by writes): it was never a candidate.
        if (error.problem === 'unreadable' && systemErrorCode(error.cause) === 'ENOENT') continue;
        rejected.push({ file: stored.file, problem: error.problem, reason: error.message });
      }
    }
    if (rejected.length > 0)
      this.log?.warn(
        `kernel "${kernelId}" has no usable checkpoint in ${this.folder}; every file was rejected:${listed(rejected)}`,
      );
    return { loaded: undefined, rejected };
  }

  /** Removes every file of the kernel (after its writes in progress); returns how many. */
  async remove(kernelId: string): Promise<number> {
    await this.lanes.get(kernelId)?.done;
    const files = await this.files(kernelId);
    for (const { file } of files) await rm(file, { force: true });
    return files.length;
  }

  private async runLane(id: string, lane: Lane): Promise<void> {
    for (let job = lane.waiting; job; job = lane.waiting) {
      lane.waiting = undefined;
      lane.running = job.record;
      try {
        job.resolve(await this.writeNow(job.record));
      } catch (error) {
        job.reject(error);
      }
      lane.running = undefined;
    }
    this.lanes.delete(id);
  }

  private async writeNow(record: CheckpointRecord): Promise<CheckpointWriteOutcome> {
    const started = performance.now();
    const { kernelId, step, stateBytes } = record.checkpoint;
    const what = `the checkpoint of kernel ${JSON.stringify(kernelId.slice(0, 200))} at step ${step} (${stateBytes} state bytes)`;
    const generation = this.nextGeneration++;
    let tempPath: string | undefined;
    /** Set once the temporary file exists: only then is there anything to remove. */
    let created = false;
    let handle: FileHandle | undefined;
    let encoded;
    let finalPath: string;
    try {
      const name = checkpointFileName(kernelId, generation);
      finalPath = join(this.folder, name);
      tempPath = join(this.folder, tempFileName(name));
      // Again each time: the folder may have been removed under a running store (workspace storage cleaned).
      await mkdir(this.folder, { recursive: true });
      handle = await open(tempPath, 'wx', 0o600);
      created = true;
      const sink = fileSink(handle);
      encoded = await encodeCheckpoint(record, this.hooks.sink?.(sink, tempPath) ?? sink);
      await handle.sync();
      await handle.close();
      handle = undefined;
      await this.hooks.beforeRename?.(tempPath, finalPath);
      await rename(tempPath, finalPath);
    } catch (error) {
      await handle?.close().catch(() => undefined);
      const left =
        tempPath === undefined || !created
          ? undefined
          : await rm(tempPath, { force: true }).then(
              () => undefined,
              // ENOTDIR: the folder itself was replaced by a file (removed with it, the file is gone too).
              (removeError: unknown) => (systemErrorCode(removeError) === 'ENOTDIR' ? undefined : tempPath),
            );
      const aftermath =
        left === undefined
          ? 'no file was left behind'
          : `the unfinished file ${left} could not be removed (the next open removes it)`;
      throw new CheckpointWriteError(
        `could not write ${what} to ${this.folder}: ${describeWriteFailure(error)}; ${aftermath}, and the earlier checkpoints are kept`,
        systemErrorCode(error),
        { cause: error },
      );
    }
    await this.syncFolder();
    record.checkpoint.recordSha256(encoded.stateSha256);
    await this.prune(kernelId);
    return {
      written: true,
      file: finalPath,
      generation,
      fileBytes: encoded.fileBytes,
      stateSha256: encoded.stateSha256,
      ms: performance.now() - started,
    };
  }

  /** Makes the rename itself durable. Windows cannot open a folder for fsync, and NTFS journals renames. */
  private async syncFolder(): Promise<void> {
    if (process.platform === 'win32') return;
    try {
      const handle = await open(this.folder, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (error) {
      this.log?.warn(
        `the checkpoint folder ${this.folder} could not be synced (${describeWriteFailure(error)}); the newest checkpoint may not survive a power loss`,
      );
    }
  }

  /** Removes all but the newest `keep` files of the kernel. A failure here never fails the write that is already on disk. */
  private async prune(kernelId: string): Promise<void> {
    let old: StoredCheckpointFile[];
    try {
      old = (await this.files(kernelId)).slice(this.keep);
    } catch (error) {
      this.log?.warn(
        `could not list ${this.folder} to remove old checkpoints of kernel "${kernelId}": ${describeWriteFailure(error)}`,
      );
      return;
    }
    for (const { file } of old) {
      try {
        await rm(file, { force: true });
      } catch (error) {
        this.log?.warn(
          `could not remove the old checkpoint ${file}: ${describeWriteFailure(error)}; the next write tries again`,
        );
      }
    }
  }
}

function listed(rejected: readonly RejectedCheckpointFile[]): string {
  return rejected.map((r) => `\n  - ${r.reason}`).join('');
}
