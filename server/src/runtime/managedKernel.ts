// One manifest kernel at run time: the device host it lives in, the DeviceKernel of its current
// code version, the versions it can roll back to, its last checkpoint, and its step rate. It
// performs the phases of a hot reload (HotReloadManager decides their order and what to do when
// one fails) and comes back from a checkpoint when its host was restarted under it.
import type { CompiledKernelHandle, KernelSource } from '../backends/backend';
import type { BackendName } from '../backends/backendReport';
import { GpuError } from '../backends/gpuError';
import type { DeviceHost, LoopEvent, RestartListener } from '../hosts/deviceHost';
import { DeviceKernel, type KernelPlacement } from '../hosts/deviceKernel';
import type { KernelSpec } from '../manifest/manifest';
import { KernelCheckpoint, sha256Hex } from '../checkpoint/kernelCheckpoint';
import type { KernelRunState, KernelView, ReloadOutcome } from './kernelReports';
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

/** How many earlier versions a kernel keeps for rollback. */
const HISTORY_LIMIT = 8;

export class ManagedKernel {
  state: KernelRunState = 'stopped';
  error: string | undefined;
  lastReload: ReloadOutcome | undefined;
  /** The most recent checkpoint: the recovery point after a host restart. */
  lastCheckpoint: KernelCheckpoint | undefined;
  /** When the current version's first step finished; a failure soon after rolls it back. */
  resumedAt = 0;
  /** The checkpoint taken just before the current version was swapped in: where a rollback starts. */
  rollbackPoint: KernelCheckpoint | undefined;
  /** The highest version number ever given out, so a rolled-back number is never reused. */
  highestVersion = 0;
  private kernel: DeviceKernel | undefined;
  private currentVersion: KernelVersion | undefined;
  private readonly history: KernelVersion[] = [];
  private readonly checkpointMemory: Uint8Array[] = [];
  private readonly meter = new StepRateMeter();
  private restartSubscription: { dispose(): void } | undefined;
  /** Set while a reload waits for the new version's first step; a host restart fails it. */
  private firstStepWaiter: { reject(error: Error): void } | undefined;
  /** Operations on this kernel run one at a time, in order (reloads, checkpoints, reads, stops). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly spec: KernelSpec,
    /** The host and location change only at a migration's switch (relocate). */
    public host: DeviceHost,
    public location: KernelLocation,
    private placement: KernelPlacement,
    private readonly events: {
      changed(): void;
      /** The host died or the loop failed outside any operation: the runtime recovers the kernel. */
      failed(kernel: ManagedKernel, reason: string, culprit: boolean): void;
    },
  ) {}

  get id(): string {
    return this.spec.id;
  }

  get version(): KernelVersion {
    if (!this.currentVersion) throw new Error(`kernel "${this.id}" has no code version yet`);
    return this.currentVersion;
  }

  get fallback(): KernelVersion | undefined {
    return this.history.at(-1);
  }

  get step(): number {
    return this.kernel?.stepCount ?? this.lastCheckpoint?.step ?? 0;
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

  /** Runs `operation` after every earlier one on this kernel has finished. */
  exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.queue.then(operation, operation);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Compiles the first version and allocates its buffers (zeroed state), or restores `from`. */
  async start(version: KernelVersion, from?: KernelCheckpoint): Promise<void> {
    this.setState('starting');
    this.restartSubscription ??= this.host.onRestart(this.onHostRestart);
    this.currentVersion = version;
    this.highestVersion = Math.max(this.highestVersion, version.number);
    await this.recreate(version, from);
    await this.resume();
    this.resumedAt = Date.now();
  }

  /** Stops the loop at a step boundary, keeps a checkpoint, and frees the device memory. */
  async stop(): Promise<void> {
    if (this.kernel?.alive) {
      if (this.kernel.looping) await this.kernel.stopLoop();
      await this.checkpoint();
      await this.kernel.release();
    }
    this.kernel = undefined;
    this.meter.reset();
    this.restartSubscription?.dispose();
    this.restartSubscription = undefined;
    this.setState('stopped');
  }

  // ---- migration (migration/kernelMigrator.ts through runtime/kernelRelocation.ts) ----

  /** The DeviceKernel the state lives in now (a migration exports from it once drained). */
  deviceKernel(): DeviceKernel {
    return this.living();
  }

  /**
   * A migration's switch: from now on the kernel is `kernel` (prepared on another device, its
   * state and step restored) in `host` at `location`; the old DeviceKernel is the caller's to free.
   * Synchronous, so nothing sees the kernel half moved.
   */
  relocate(target: { host: DeviceHost; location: KernelLocation; placement: KernelPlacement; kernel: DeviceKernel }): void {
    this.restartSubscription?.dispose();
    this.host = target.host;
    this.location = target.location;
    this.placement = target.placement;
    this.kernel = target.kernel;
    this.restartSubscription = this.host.onRestart(this.onHostRestart);
    if (this.currentVersion && this.currentVersion.source.language !== target.kernel.source.language) {
      // Another backend's source of the same kernel: the version number carries on.
      this.currentVersion = kernelVersion(this.currentVersion.number, target.kernel.source);
    }
    this.meter.reset();
    this.events.changed();
  }

  // ---- the phases of a hot reload, in the order HotReloadManager runs them ----

  /** Compiles `source` on the kernel's device while the current version keeps running. */
  compile(source: KernelSource): Promise<CompiledKernelHandle> {
    return this.living().compileVersion(source);
  }

  /** Stops the step loop at a step boundary; returns the steps completed. */
  async drain(): Promise<number> {
    const kernel = this.living();
    const step = kernel.looping ? await kernel.stopLoop() : kernel.stepCount;
    this.meter.reset();
    return step;
  }

  /** Copies the state to host memory at the current step boundary (the loop must be drained). */
  async checkpoint(): Promise<KernelCheckpoint> {
    const kernel = this.living();
    const state = await kernel.readState(this.freeCheckpointMemory());
    this.lastCheckpoint = KernelCheckpoint.of({ kernelId: this.id, version: this.version.number, step: kernel.stepCount, state });
    return this.lastCheckpoint;
  }

  /**
   * Starts a checkpoint of the drained kernel whose copy is queued on the device ahead of
   * whatever comes next (the swapped-in version's first step): the reload does not wait for the
   * bytes to cross into this process, and they arrive even if the next version hangs.
   */
  beginCheckpoint(): Promise<KernelCheckpoint> {
    const kernel = this.living();
    const fields = { kernelId: this.id, version: this.version.number, step: kernel.stepCount };
    return kernel.readStateSoon(this.freeCheckpointMemory()).then((state) => {
      const checkpoint = KernelCheckpoint.of({ ...fields, state });
      this.lastCheckpoint = checkpoint;
      return checkpoint;
    });
  }

  /** Pauses the running loop at a step boundary for a checkpoint, and resumes it (even on failure). */
  async checkpointAtStepBoundary(): Promise<KernelCheckpoint> {
    await this.drain();
    try {
      return await this.checkpoint();
    } finally {
      await this.resume();
    }
  }

  /** Points the kernel at `handle` (compiled from `version`); the previous version becomes the fallback. */
  swap(handle: CompiledKernelHandle, version: KernelVersion, options: { keepFallback: boolean }): CompiledKernelHandle {
    const old = this.living().swap(handle, version.source);
    if (options.keepFallback && this.currentVersion) this.pushHistory(this.currentVersion);
    this.currentVersion = version;
    this.highestVersion = Math.max(this.highestVersion, version.number);
    return old;
  }

  /** Takes the fallback version off the history (rollback), without touching the device. */
  popFallback(): KernelVersion | undefined {
    return this.history.pop();
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
    await this.recreate(version, checkpoint);
    this.currentVersion = version;
    return true;
  }

  /** Starts the step loop and resolves once the first step has finished (the version runs). */
  async resume(): Promise<void> {
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
      kernel.startLoop(this.spec.rateHz, onEvent).catch((error: unknown) => settle(GpuError.wrap(error, 'DRIVER_ERROR', `starting kernel "${this.id}"`)));
    });
    this.error = undefined;
    this.setState('running');
  }

  /** A fresh DeviceKernel on `version` in the host's current process, with the checkpoint's state. */
  private async recreate(version: KernelVersion, from?: KernelCheckpoint): Promise<void> {
    const old = this.kernel;
    this.kernel = undefined;
    if (old?.alive) await old.release();
    const kernel = await DeviceKernel.create(this.host, version.source, this.placement, from ? { step: from.step } : {});
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
      throw new GpuError('HOST_EXITED', `kernel "${this.id}" is not loaded on ${this.location.key}: its device host was restarted; it comes back from its last checkpoint`);
    }
    return kernel;
  }

  /**
   * Memory for the next checkpoint that no kept checkpoint uses. Checkpoints are read into these
   * few buffers over and over: fresh memory costs a page fault per page, which made a checkpoint
   * of a 16 MiB state take 45 ms instead of a few. At most three: the last checkpoint, the
   * rollback point and the one being taken.
   */
  private freeCheckpointMemory(): Uint8Array | undefined {
    const kept = new Set<Readonly<Uint8Array> | undefined>([this.lastCheckpoint?.state, this.rollbackPoint?.state]);
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

  setState(state: KernelRunState, error?: string): void {
    this.state = state;
    if (error !== undefined) this.error = error;
    this.events.changed();
  }

  view(): KernelView {
    const view: KernelView = {
      id: this.id,
      source: this.spec.source,
      language: this.spec.language,
      entryPoint: this.spec.entryPoint,
      state: this.state,
      backend: this.location.backend,
      device: this.location.key,
      deviceName: this.location.deviceName,
      version: this.currentVersion?.number ?? 0,
      step: this.step,
      stepsPerSecond: this.state === 'running' ? this.meter.rate() : 0,
      rateHz: this.spec.rateHz,
      stateBytes: this.spec.stateBytes,
    };
    const fallback = this.fallback;
    if (fallback) view.fallbackVersion = fallback.number;
    const pid = this.kernel?.alive ? this.host.pid : undefined;
    if (pid !== undefined) view.hostPid = pid;
    if (this.lastReload) view.lastReload = this.lastReload;
    if (this.error !== undefined) view.error = this.error;
    return view;
  }
}
