// One manifest kernel at run time: the device host it lives in, the DeviceKernel of its current
// code version, the versions it can roll back to, its last checkpoint, and its step rate. It
// performs the phases of a hot reload (HotReloadManager decides their order and what to do when
// one fails), comes back from a checkpoint when its host was restarted under it, and moves to
// another device (relocate, at a migration's switch). It alone changes its run state, through the named transitions of
// kernelLifecycle.ts; others ask it to act and read the state.
import type { CompiledKernelHandle, KernelSource } from '../backends/backend';
import type { BackendName } from '../backends/backendReport';
import { GpuError } from '../backends/gpuError';
import { DeviceKernel, type KernelPlacement } from '../hosts/deviceKernel';
import type { KernelHost, LoopEvent, RestartListener } from '../hosts/kernelHost';
import { errorMessage, type Logger } from '../logger';
import type { KernelSpec } from '../manifest/manifest';
import { KernelCheckpoint, sha256Hex } from '../checkpoint/kernelCheckpoint';
import type { KernelPhase, KernelRunState, KernelView, ReloadOutcome } from './kernelReports';
import { KernelLifecycle, PHASES, type LifecycleChange } from './kernelLifecycle';
import { StepRateMeter } from './stepRateMeter';

/** One compiled-or-compilable version of a kernel's code. */
export interface KernelVersion {
  number: number;
  source: KernelSource;
  /** SHA-256 of the code, to tell an unchanged save from a new version. */
  codeSha256: string;
}

export function kernelVersion(number: number, source: KernelSource): KernelVersion {
  return { number, source, codeSha256: sha256Hex(new TextEncoder().encode(source.code)) };
}

export interface KernelLocation {
  backend: BackendName;
  /** Index among the backend's devices. */
  device: number;
  /** The coordinator's key, e.g. "webgpu:0". */
  key: string;
  deviceName: string;
}

export interface ManagedKernelEvents {
  changed(): void;
  /** The host died or the loop failed outside any operation: the runtime recovers the kernel. */
  failed(kernel: ManagedKernel, reason: string, culprit: boolean): void;
  /** Every transition is logged here at debug level. */
  log: Pick<Logger, 'debug'>;
  /** A reload kept a rollback point (the runtime writes it to disk). */
  rollbackPointKept?(kernel: ManagedKernel, checkpoint: KernelCheckpoint): void;
  /** States still being written to disk: not to be reused for the next checkpoint. */
  statesInUse?(): ReadonlySet<Readonly<Uint8Array>>;
  /**
   * The kernel is about to be created in its host from a checkpoint before step `step` (0: from
   * scratch): a start, a recovery, a restore. Awaited before its first step (the K2K router puts
   * back what it must receive again).
   */
  restoring?(kernel: ManagedKernel, step: number): Promise<void>;
  /** A new checkpoint or rollback point was kept (recoveryFloor may have moved). */
  checkpointed?(kernel: ManagedKernel): void;
}

/** Byte ranges of the state read at one step boundary (readStateRanges). */
export interface StateRangesRead {
  /** Steps completed when the bytes were read, and the version that ran them. */
  step: number;
  version: number;
  /** One array per range asked for, in order. */
  bytes: Uint8Array[];
  /** The step the running version began at, when it is running. */
  versionSinceStep?: number;
}

/** `ranges` of a checkpoint's state (a kernel that is not running shows the state it left). */
export function checkpointRanges(
  checkpoint: KernelCheckpoint,
  ranges: readonly { offset: number; length: number }[],
): StateRangesRead {
  const state = checkpoint.state;
  const bytes = ranges.map(({ offset, length }) => {
    if (offset < 0 || length < 0 || offset + length > state.byteLength) {
      throw new Error(
        `kernel "${checkpoint.kernelId}": the range at ${offset} of ${length} bytes ends past its ${state.byteLength}-byte state`,
      );
    }
    return state.slice(offset, offset + length);
  });
  return { step: checkpoint.step, version: checkpoint.version, bytes };
}

/** How many earlier versions a kernel keeps for rollback. */
const HISTORY_LIMIT = 8;

export class ManagedKernel {
  private readonly lifecycle: KernelLifecycle;
  private failure: string | undefined;
  private latestOutcome: ReloadOutcome | undefined;
  private latestCheckpoint: KernelCheckpoint | undefined;
  private swapCheckpoint: KernelCheckpoint | undefined;
  private firstStepAt = 0;
  private highest = 0;
  /** The step the current version ran its first step at (a reload marker's step in the state views). */
  private versionFromStep = 0;
  /** Set when a version was put in place (start, swap, restart) and its first step is still to come. */
  private probationPending = false;
  private currentHost: KernelHost;
  private currentLocation: KernelLocation;
  private placement: KernelPlacement;
  private kernel: DeviceKernel | undefined;
  private currentVersion: KernelVersion | undefined;
  private readonly history: KernelVersion[] = [];
  private readonly checkpointMemory: Uint8Array[] = [];
  private readonly meter = new StepRateMeter();
  private restartSubscription: { dispose(): void } | undefined;
  /** Set while a resume waits for the version's first step; a host restart fails it. */
  private firstStepWaiter: { reject(error: Error): void } | undefined;
  /** Operations on this kernel run one at a time, in order (reloads, checkpoints, reads, moves, stops). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly spec: KernelSpec,
    host: KernelHost,
    location: KernelLocation,
    placement: KernelPlacement,
    private readonly events: ManagedKernelEvents,
  ) {
    this.currentHost = host;
    this.currentLocation = location;
    this.placement = placement;
    this.lifecycle = new KernelLifecycle(spec.id, (change) => this.transitioned(change));
  }

  get id(): string {
    return this.spec.id;
  }

  /** Where the kernel is in its life; only this class moves it (kernelLifecycle.ts has the table). */
  get state(): KernelRunState {
    return this.lifecycle.state;
  }

  /** The phase of a reload, move, start or recovery in progress. */
  get phase(): KernelPhase | undefined {
    return this.lifecycle.phase;
  }

  /** The device host the kernel lives in now; a migration's switch (relocate) changes it. */
  get host(): KernelHost {
    return this.currentHost;
  }

  /** The device the kernel runs on now; a migration's switch (relocate) changes it. */
  get location(): KernelLocation {
    return this.currentLocation;
  }

  /** Why it failed, when it did. */
  get error(): string | undefined {
    return this.failure;
  }

  /** The latest reload, rollback or recovery outcome (superseded ones are not kept). */
  get lastReload(): ReloadOutcome | undefined {
    return this.latestOutcome;
  }

  /** Keeps the outcome of an earlier run (a rollback, say) after a stop and start: why it runs an older version than its file stays said. */
  carryOver(outcome: ReloadOutcome): void {
    this.latestOutcome ??= outcome;
  }

  /** The most recent checkpoint: the recovery point after a host restart. */
  get lastCheckpoint(): KernelCheckpoint | undefined {
    return this.latestCheckpoint;
  }

  /** The oldest step a recovery may take the kernel back to (its last checkpoint, or its rollback point); undefined without a checkpoint. */
  get recoveryFloor(): number | undefined {
    const latest = this.latestCheckpoint?.step;
    if (latest === undefined) return undefined;
    return Math.min(latest, this.swapCheckpoint?.step ?? latest);
  }

  /** The checkpoint taken just before the current version was swapped in: where a rollback starts. */
  get rollbackPoint(): KernelCheckpoint | undefined {
    return this.swapCheckpoint;
  }

  /** When the current version's first step finished (Date.now()); a failure soon after rolls it back. */
  get resumedAt(): number {
    return this.firstStepAt;
  }

  /** The highest version number ever given out, so a rolled-back number is never reused. */
  get highestVersion(): number {
    return this.highest;
  }

  get version(): KernelVersion {
    if (!this.currentVersion) throw new Error(`kernel "${this.id}" has no code version yet`);
    return this.currentVersion;
  }

  get fallback(): KernelVersion | undefined {
    return this.history.at(-1);
  }

  get step(): number {
    return this.kernel?.stepCount ?? this.latestCheckpoint?.step ?? 0;
  }

  /** True when its DeviceKernel still lives in the host's current process. */
  get alive(): boolean {
    return this.kernel?.alive === true;
  }

  /** The device-host process generation the current DeviceKernel lives in. */
  get generation(): number | undefined {
    return this.kernel?.alive ? this.kernel.generation : undefined;
  }

  get looping(): boolean {
    return this.kernel?.looping === true;
  }

  /** The next version of the kernel's code: numbered past every version given out before. */
  nextVersion(source: KernelSource): KernelVersion {
    return kernelVersion(this.highest + 1, source);
  }

  /** Runs `operation` after every earlier one on this kernel has finished. */
  exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.queue.then(operation, operation);
    this.queue = run.catch(() => undefined);
    return run;
  }

  // ---- start and stop ----

  /**
   * stopped → starting → running: compiles `version` and allocates its buffers (zeroed state), or
   * restores `from`. `highestVersion` carries the numbering over from an earlier run of the kernel.
   * A kernel that does not start is failed, with the reason.
   */
  async start(version: KernelVersion, from?: KernelCheckpoint, highestVersion = 0): Promise<void> {
    this.lifecycle.move('starting', 'compiling');
    try {
      this.restartSubscription ??= this.currentHost.onRestart(this.onHostRestart);
      this.currentVersion = version;
      this.highest = Math.max(this.highest, highestVersion, version.number);
      await this.recreate(version, from);
      // The state it resumed from is its recovery point until the next checkpoint.
      if (from) this.latestCheckpoint = from;
      this.probationPending = true;
      await this.resume();
    } catch (error) {
      this.fail(`it did not start: ${errorMessage(error)}`);
      throw error;
    }
  }

  /**
   * → draining → checkpointing → stopped: stops the loop at a step boundary, keeps a checkpoint,
   * and frees the device memory. A kernel that is not running (failed, or lost with its host) is
   * stopped without a checkpoint. It ends stopped even when the host fails meanwhile.
   */
  async stop(): Promise<void> {
    const kernel = this.kernel;
    try {
      if (kernel?.alive && this.lifecycle.is('running')) {
        this.lifecycle.move('draining');
        if (kernel.looping) await kernel.stopLoop();
        this.lifecycle.move('checkpointing');
        await this.checkpoint();
      }
      if (kernel?.alive) await kernel.release();
    } finally {
      this.kernel = undefined;
      this.meter.reset();
      this.restartSubscription?.dispose();
      this.restartSubscription = undefined;
      if (!this.lifecycle.is('stopped')) this.lifecycle.move('stopped');
    }
  }

  // ---- migration (migration/kernelMigrator.ts through runtime/kernelRelocation.ts) ----

  /** The DeviceKernel the state lives in now (a migration exports from it once drained). */
  deviceKernel(): DeviceKernel {
    return this.living();
  }

  /** running → migrating (draining): a migration quiesces the kernel at a step boundary; returns the step. */
  async beginMigration(): Promise<number> {
    this.lifecycle.move('migrating', 'draining');
    try {
      return await this.drain();
    } catch (error) {
      if (!this.alive) this.beginRecovery();
      throw error;
    }
  }

  /**
   * A migration's switch: from now on the kernel is `target.kernel` (prepared on another device,
   * its state and step restored) in `target.host` at `target.location`; the old DeviceKernel is the
   * caller's to free. Synchronous, so nothing sees the kernel half moved. The caller then resumes
   * it (migrating → running), or, when that fails, the kernel recovers on the target.
   */
  relocate(target: {
    host: KernelHost;
    location: KernelLocation;
    placement: KernelPlacement;
    kernel: DeviceKernel;
  }): void {
    if (!this.lifecycle.is('migrating'))
      throw new Error(`kernel "${this.id}" is ${this.state}, not migrating: it cannot switch devices`);
    this.restartSubscription?.dispose();
    this.currentHost = target.host;
    this.currentLocation = target.location;
    this.placement = target.placement;
    this.kernel = target.kernel;
    this.restartSubscription = this.currentHost.onRestart(this.onHostRestart);
    if (this.currentVersion && this.currentVersion.source.language !== target.kernel.source.language) {
      // Another backend's source of the same kernel: the version number carries on.
      this.currentVersion = kernelVersion(this.currentVersion.number, target.kernel.source);
    }
    this.meter.reset();
    this.events.changed();
  }

  /**
   * A migration's resume, on the target after the switch or back on the source after a failure:
   * when the kernel's first step there does not come (its host died), the runtime recovers it
   * where it now lives, since no one else will (the migrator only reports the failure).
   */
  async resumeOrRecover(where: string): Promise<void> {
    try {
      await this.resume();
    } catch (error) {
      this.lost(`it did not resume on ${where}: ${errorMessage(error)}`);
      throw error;
    }
  }

  // ---- the phases of a hot reload, in the order HotReloadManager runs them ----

  /** running → reloading (compiling): a reload or rollback begins; the old version keeps stepping until the drain. */
  beginReload(): void {
    this.lifecycle.move('reloading', 'compiling');
  }

  /**
   * A reload ended before anything was swapped: reloading → running when the old version still
   * steps (or could be resumed), → recovering when its host was lost (the runtime brings it back).
   */
  async abandonReload(): Promise<void> {
    if (!this.lifecycle.is('reloading')) return;
    if (this.looping) {
      this.lifecycle.move('running');
      return;
    }
    if (!this.alive) {
      // The host's restart event has asked the runtime to recover the kernel already.
      this.beginRecovery();
      return;
    }
    try {
      await this.resume();
    } catch (error) {
      this.lost(`v${this.version.number} did not resume after a reload that was given up: ${errorMessage(error)}`);
    }
  }

  /** Compiles `source` on the kernel's device while the current version keeps running. */
  compile(source: KernelSource): Promise<CompiledKernelHandle> {
    return this.living().compileVersion(source);
  }

  /** Stops the step loop at a step boundary; returns the steps completed. */
  async drain(): Promise<number> {
    this.enter('draining');
    const kernel = this.living();
    const step = kernel.looping ? await kernel.stopLoop() : kernel.stepCount;
    this.meter.reset();
    return step;
  }

  /** Copies the state to host memory at the current step boundary (the loop must be drained). */
  async checkpoint(): Promise<KernelCheckpoint> {
    this.enter('checkpointing');
    const kernel = this.living();
    const state = await kernel.readState(this.freeCheckpointMemory());
    this.latestCheckpoint = KernelCheckpoint.of({
      kernelId: this.id,
      version: this.version.number,
      step: kernel.stepCount,
      state,
    });
    this.events.checkpointed?.(this);
    return this.latestCheckpoint;
  }

  /**
   * Starts a checkpoint of the drained kernel whose copy is queued on the device ahead of
   * whatever comes next (the swapped-in version's first step): the reload does not wait for the
   * bytes to cross into this process, and they arrive even if the next version hangs.
   */
  beginCheckpoint(): Promise<KernelCheckpoint> {
    this.enter('checkpointing');
    const kernel = this.living();
    const fields = { kernelId: this.id, version: this.version.number, step: kernel.stepCount };
    return kernel.readStateSoon(this.freeCheckpointMemory()).then((state) => {
      const checkpoint = KernelCheckpoint.of({ ...fields, state });
      this.latestCheckpoint = checkpoint;
      this.events.checkpointed?.(this);
      return checkpoint;
    });
  }

  /**
   * Only `ranges` of the state, for the state views: while the kernel runs, from the device at a
   * step boundary without stopping its loop (the read waits in the host's queue for the step in
   * flight); otherwise (stopped, failed, recovering) from its last checkpoint. Call it inside
   * exclusive(), so no reload, rollback, recovery or move is half done and the version matches
   * the bytes.
   */
  async readStateRanges(ranges: readonly { offset: number; length: number }[]): Promise<StateRangesRead> {
    const kernel = this.kernel;
    if (kernel?.alive && this.currentVersion && this.lifecycle.is('running')) {
      const { step, bytes } = await kernel.readStateRanges(ranges);
      return { step, version: this.currentVersion.number, bytes, versionSinceStep: this.versionFromStep };
    }
    const checkpoint = this.latestCheckpoint;
    if (!checkpoint)
      throw new Error(`kernel "${this.id}" is ${this.state} and has no checkpoint to read its state from yet`);
    return checkpointRanges(checkpoint, ranges);
  }

  /** running → checkpointing → running: pauses the loop at a step boundary for a checkpoint, and resumes it. */
  async checkpointAtStepBoundary(): Promise<KernelCheckpoint> {
    this.lifecycle.move('checkpointing');
    let checkpoint: KernelCheckpoint;
    try {
      await this.drain();
      checkpoint = await this.checkpoint();
    } catch (error) {
      await this.resume().catch((resumeError: unknown) => this.lost(errorMessage(resumeError)));
      throw error;
    }
    try {
      await this.resume();
    } catch (error) {
      this.lost(errorMessage(error));
      throw error;
    }
    return checkpoint;
  }

  /** Points the kernel at `handle` (compiled from `version`); the previous version becomes the fallback. */
  swap(handle: CompiledKernelHandle, version: KernelVersion, options: { keepFallback: boolean }): CompiledKernelHandle {
    this.enter('swapping');
    const old = this.living().swap(handle, version.source);
    if (options.keepFallback && this.currentVersion) this.pushHistory(this.currentVersion);
    this.currentVersion = version;
    this.highest = Math.max(this.highest, version.number);
    this.probationPending = true;
    return old;
  }

  /** Takes the fallback version off the history (rollback), without touching the device. */
  popFallback(): KernelVersion | undefined {
    return this.history.pop();
  }

  /** The checkpoint the current version was swapped in from (a reload's, or an automatic rollback's): where a rollback starts. */
  keepRollbackPoint(checkpoint: KernelCheckpoint | undefined): void {
    this.swapCheckpoint = checkpoint;
    if (checkpoint) this.events.rollbackPointKept?.(this, checkpoint);
    this.events.checkpointed?.(this);
  }

  /** The version numbered `number`, when the kernel runs it or can roll back to it. */
  versionNumbered(number: number): KernelVersion | undefined {
    if (this.currentVersion?.number === number) return this.currentVersion;
    return this.history.find((version) => version.number === number);
  }

  releaseHandle(handle: CompiledKernelHandle): Promise<void> {
    return this.kernel?.alive ? this.kernel.releaseHandle(handle) : Promise.resolve();
  }

  /**
   * Puts `checkpoint` back when the state's buffers were lost (a restarted host) by creating the
   * kernel afresh on `version`; when the buffers survived, the state is already in place and
   * nothing is copied. Returns whether a copy was made.
   */
  async restore(checkpoint: KernelCheckpoint, version: KernelVersion): Promise<boolean> {
    if (this.kernel?.alive) return false;
    this.enter('restoring');
    await this.recreate(version, checkpoint);
    this.currentVersion = version;
    return true;
  }

  /**
   * → running: starts the step loop and resolves once the first step has finished (the version
   * runs). Rejects when that step fails or the host restarts first; the state is left as it was.
   */
  async resume(): Promise<void> {
    this.enter('resuming');
    const kernel = this.living();
    const from = kernel.stepCount;
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (error?: Error): void => {
        if (settled) return;
        settled = true;
        this.firstStepWaiter = undefined;
        if (error) reject(error);
        else resolve();
      };
      this.firstStepWaiter = { reject: settle };
      const onEvent = (event: LoopEvent): void => {
        if (event.kind === 'progress') {
          this.meter.record(event.step);
          if (event.step > from) settle();
          this.events.changed();
        } else {
          settle(event.error);
          this.loopFailed(event.error);
        }
      };
      kernel
        .startLoop(this.spec.rateHz, onEvent)
        .catch((error: unknown) => settle(GpuError.wrap(error, 'DRIVER_ERROR', `starting kernel "${this.id}"`)));
    });
    if (this.probationPending) {
      this.probationPending = false;
      this.firstStepAt = Date.now();
      this.versionFromStep = from;
    }
    this.failure = undefined;
    this.lifecycle.move('running');
  }

  // ---- recovery ----

  /** → recovering: the kernel's host was lost or its version failed; restart() or fail() follows. */
  beginRecovery(): void {
    if (!this.lifecycle.is('recovering')) this.lifecycle.move('recovering');
  }

  /**
   * recovering → running: creates the kernel afresh on `version` in its host's current process,
   * with `from`'s state (zeroed without one), and resumes it. Throws, still recovering, when it
   * does not come back; the caller then calls fail().
   */
  async restart(version: KernelVersion, from?: KernelCheckpoint): Promise<void> {
    this.lifecycle.enter('restoring');
    this.restartSubscription ??= this.currentHost.onRestart(this.onHostRestart);
    this.currentVersion = version;
    this.highest = Math.max(this.highest, version.number);
    await this.recreate(version, from);
    this.probationPending = true;
    await this.resume();
  }

  /** starting or recovering → failed, with why; the kernel stays failed until it is stopped. */
  fail(message: string): void {
    this.failure = message;
    this.lifecycle.move('failed');
  }

  /** Keeps a reload's, rollback's or recovery's outcome for the view (a superseded one is not kept). */
  recordOutcome(outcome: ReloadOutcome): void {
    if (outcome.status !== 'superseded') this.latestOutcome = outcome;
    this.events.changed();
  }

  // ---- device loss ----

  /**
   * While recovering: the kernel's device is gone, so from now on it lives in `target.host` on
   * another device. Nothing runs there yet; the caller restarts it from its last checkpoint.
   */
  replaceDevice(target: { host: KernelHost; location: KernelLocation; placement: KernelPlacement }): void {
    if (!this.lifecycle.is('recovering'))
      throw new Error(`kernel "${this.id}" is ${this.state}, not recovering: it cannot be re-placed`);
    this.restartSubscription?.dispose();
    this.restartSubscription = undefined;
    this.kernel = undefined;
    this.currentHost = target.host;
    this.currentLocation = target.location;
    this.placement = target.placement;
    this.meter.reset();
    this.events.changed();
  }

  // ---- internals ----

  /** A fresh DeviceKernel on `version` in the host's current process, with the checkpoint's state. */
  private async recreate(version: KernelVersion, from?: KernelCheckpoint): Promise<void> {
    const old = this.kernel;
    this.kernel = undefined;
    if (old?.alive) await old.release();
    await this.events.restoring?.(this, from?.step ?? 0);
    const kernel = await DeviceKernel.create(
      this.currentHost,
      version.source,
      this.placement,
      from ? { step: from.step } : {},
    );
    try {
      if (from) {
        from.verify();
        await kernel.writeState(new Uint8Array(from.state));
      }
    } catch (error) {
      await kernel.release();
      throw error;
    }
    this.kernel = kernel;
  }

  private living(): DeviceKernel {
    const kernel = this.kernel;
    if (!kernel?.alive) {
      throw new GpuError(
        'HOST_EXITED',
        `kernel "${this.id}" is not loaded on ${this.currentLocation.key}: its device host was restarted; it comes back from its last checkpoint`,
      );
    }
    return kernel;
  }

  /** Enters `phase` when the current state has it (a reload's drain does; a stop's does not). */
  private enter(phase: KernelPhase): void {
    if (PHASES[this.lifecycle.state]?.includes(phase)) this.lifecycle.enter(phase);
  }

  /** The kernel stopped stepping outside a reload (a checkpoint's or a move's resume failed): the runtime recovers it. */
  private lost(reason: string): void {
    if (this.lifecycle.is('stopped', 'failed')) return;
    this.beginRecovery();
    this.events.failed(this, reason, false);
  }

  /**
   * Memory for the next checkpoint that no kept checkpoint uses. Checkpoints are read into these
   * few buffers over and over: fresh memory costs a page fault per page, which made a checkpoint
   * of a 16 MiB state take 45 ms instead of a few. At most three: the last checkpoint, the
   * rollback point and the one being taken.
   */
  private freeCheckpointMemory(): Uint8Array | undefined {
    const kept = new Set<Readonly<Uint8Array> | undefined>([
      this.latestCheckpoint?.state,
      this.swapCheckpoint?.state,
      ...(this.events.statesInUse?.() ?? []),
    ]);
    const free = this.checkpointMemory.find((buffer) => !kept.has(buffer));
    if (free) return free;
    if (this.checkpointMemory.length >= 3) return undefined;
    const fresh = new Uint8Array(this.spec.stateBytes);
    this.checkpointMemory.push(fresh);
    return fresh;
  }

  private pushHistory(version: KernelVersion): void {
    this.history.push(version);
    if (this.history.length > HISTORY_LIMIT) this.history.shift();
  }

  private readonly onHostRestart: RestartListener = (event) => {
    if (!this.kernel || this.kernel.alive) return;
    this.meter.reset();
    const culprit = event.culprit === undefined || event.culprit === this.id;
    const error = new GpuError(culprit ? 'WATCHDOG_TIMEOUT' : 'HOST_EXITED', event.reason);
    const waiter = this.firstStepWaiter;
    if (waiter) {
      // A reload is waiting for this version's first step: it handles the failure.
      waiter.reject(error);
      return;
    }
    this.events.failed(this, event.reason, culprit);
  };

  private loopFailed(error: GpuError): void {
    this.meter.reset();
    if (this.firstStepWaiter) return;
    // A fault ends the host (it restarts, and onHostRestart reports it); anything else stops the loop only.
    if (error.code === 'KERNEL_FAULT' || error.code === 'DEVICE_LOST') return;
    this.events.failed(this, error.message, true);
  }

  private transitioned(change: LifecycleChange): void {
    const phase = change.phase === undefined ? '' : `: ${change.phase}`;
    const move = change.from === change.to ? `${change.to}${phase}` : `${change.from} → ${change.to}${phase}`;
    this.events.log.debug(`kernel "${this.id}" on ${this.currentLocation.key}: ${move}`);
    this.events.changed();
  }

  view(): KernelView {
    const view: KernelView = {
      id: this.id,
      source: this.spec.source,
      language: this.spec.language,
      entryPoint: this.spec.entryPoint,
      state: this.state,
      backend: this.currentLocation.backend,
      device: this.currentLocation.key,
      deviceName: this.currentLocation.deviceName,
      version: this.currentVersion?.number ?? 0,
      step: this.step,
      // A reload compiles while the old version steps: its rate is still the kernel's.
      stepsPerSecond: this.looping ? this.meter.rate() : 0,
      rateHz: this.spec.rateHz,
      stateBytes: this.spec.stateBytes,
    };
    const phase = this.lifecycle.phase;
    if (phase !== undefined) view.phase = phase;
    const fallback = this.fallback;
    if (fallback) view.fallbackVersion = fallback.number;
    const pid = this.kernel?.alive ? this.currentHost.pid : undefined;
    if (pid !== undefined) view.hostPid = pid;
    if (this.latestOutcome) view.lastReload = this.latestOutcome;
    if (this.failure !== undefined) view.error = this.failure;
    return view;
  }
}
