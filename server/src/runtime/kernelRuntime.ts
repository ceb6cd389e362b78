// Runs the manifest's kernels: places each through the coordinator, gives it a device host
// (WebGPU kernels a host each up to maxHostsPerDevice, CUDA kernels one shared host, or one per CUDA
// device instance with cudaInstancesPerDevice: see ARCHITECTURE.md), starts
// its step loop, hot-reloads it when its source is saved, checkpoints it periodically, and brings
// it back when its host dies. The language server, the command line and the tests all drive it.
import { readFile } from 'node:fs/promises';
import type { KernelSource } from '../backends/backend';
import type { BackendName } from '../backends/backendReport';
import type { PlacementRequest } from '../coordinator/coordinatorTypes';
import { formatBytes } from '../format';
import { DeviceHost } from '../hosts/deviceHost';
import type { KernelHost } from '../hosts/kernelHost';
import { inboxBytes, outboxBytes, CONTROL_BYTES } from '../abi/kernelAbi';
import { errorMessage, type Logger } from '../logger';
import { runsOn, type KernelSpec, type Manifest } from '../manifest/manifest';
import { DEFAULT_HOT_RELOAD_CONFIG, HotReloadManager, type HotReloadConfig, type Validate } from './hotReloadManager';
import { sha256Hex, type KernelCheckpoint } from '../checkpoint/kernelCheckpoint';
import { fileDifference, type HotReloadStats, type KernelView, type ReloadOutcome } from './kernelReports';
import { HostPool } from './hostPool';
import {
  ManagedKernel,
  checkpointRanges,
  kernelVersion,
  type KernelLocation,
  type KernelVersion,
  type StateRangesRead,
} from './managedKernel';
import { KernelMigrator } from '../migration/kernelMigrator';
import type { MigrationOptions, MigrationReport, MigrationRoute } from '../migration/migrationTypes';
import type { KernelPlacement } from '../hosts/deviceKernel';
import { parseDeviceKey, relocationSubject } from './kernelRelocation';
import { MessageDelivery, type DeliveryStats } from './messageDelivery';
import { CheckpointFiles, describeRejected, type ResumePoint } from './checkpointFiles';
import { seedRouterFromFiles } from './messageResume';
import { hlcStateOf } from './checkpointClock';
import { DeviceRestartBudget } from './recoveryPolicy';
import { replaceLostKernel } from './deviceLoss';
import { controlStepWord } from '../checkpoint/chunkPayloads';
import type { KernelCheckpoint as Checkpoint } from '../checkpoint/kernelCheckpoint';
import type { GpuTopology } from '../topology/gpuTopology';
import type { HostLoopInfo } from '../hosts/hostProtocol';
import type { ReloadPhaseListener } from './reloadPhases';

/** A kernel's backend is missing on this machine: a fact about the machine, said once, not a failure to alarm about. */
export class BackendUnavailable extends Error {
  readonly shortReason: string;

  constructor(kernelId: string, backend: BackendName, reason: string) {
    const name = backend === 'cuda' ? 'CUDA' : 'WebGPU';
    super(`kernel "${kernelId}" needs ${name}, which is unavailable here: ${reason}`);
    this.shortReason = `needs ${name}, unavailable here: ${shorten(reason)}`;
  }
}

/** The first line or sentence of a driver's reason, at most 100 characters. */
export function shorten(reason: string): string {
  const first = (reason.split('\n')[0] ?? '').split(/(?<=\.)\s/)[0]?.trim() ?? '';
  return first.length > 100 ? `${first.slice(0, 99)}…` : first;
}

/** WebGPU device hosts per device before kernels share them: isolation against process count (ARCHITECTURE.md). */
export const DEFAULT_MAX_HOSTS_PER_DEVICE = 4;

export type PlaceResult = { ok: true; device: string } | { ok: false; error: { message: string } };

/** Where kernels go: the coordinator (through the custom-selector bridge in the server). */
export interface KernelPlacer {
  place(kernelId: string, request: PlacementRequest): Promise<PlaceResult>;
  /** Puts a kernel on a named device (the manifest pins it). */
  assign(kernelId: string, device: string, request: PlacementRequest): PlaceResult;
  remove(kernelId: string): void;
  deviceName(key: string): string | undefined;
  /** A device host measured a device's free memory (after a kernel started or stopped there). */
  updateMemory?(key: string, freeBytes: number, totalBytes?: number): void;
  /** A migration switched the kernel to `device`: its record follows (a full device does not refuse it: it runs there). */
  move?(kernelId: string, device: string): void;
  /** A device is gone (its hosts cannot be kept running): it leaves the placer's devices. */
  deviceLost?(key: string): void;
}

export interface KernelRuntimeOptions {
  log: Logger;
  validate: Validate;
  placer: KernelPlacer;
  /** A step that takes longer restarts its host (default 5000). */
  stepTimeoutMs?: number;
  /** A device-host request (not a step) that takes longer restarts its host (default 60000: opening a device can take seconds). */
  requestTimeoutMs?: number;
  /** WebGPU device hosts per device; more kernels share them round-robin (default 4, see hostPool.ts). */
  maxHostsPerDevice?: number;
  /**
   * ringkernel.cuda.instancesPerDevice as the probe used it (default 1: one CUDA host serves every
   * GPU); above 1, each CUDA device (cuda:N, an instance of a GPU) gets a device host of its own.
   */
  cudaInstancesPerDevice?: number;
  /** How often running kernels are checkpointed; 0 = only at reloads and stops (default 10 s). */
  checkpointIntervalMs?: number;
  /** `ringkernel.enableP2P` (default true): read when the CUDA host starts; setPeerAccess changes it later. */
  enableP2P?: boolean;
  reload?: Partial<HotReloadConfig>;
  /** Why a backend cannot run kernels here (the probe's reason), or undefined when it can. */
  unavailableReason?(backend: BackendName): string | undefined;
  /** The device-host bundle (tests and the command line run from other folders). */
  hostScript?: string;
  onChange?(): void;
  onOutcome?(outcome: ReloadOutcome): void;
  /** How a migration's bytes travel between two devices (from the topology); default staged through the host. */
  migrationRoute?(from: string, to: string): MigrationRoute;
  /** ringkernel.migration.verify (default true). */
  migrationVerify?: boolean;
  /** Where checkpoints go on disk (the extension's workspace storage, the CLI's --checkpoint-dir); unset: memory only. */
  checkpointFolder?: string;
  /** A checkpoint file could not be written, or the folder used: for the user (the log has it too). */
  onCheckpointProblem?(message: string): void;
  /** A WebGPU device whose hosts die this often within a minute (no hung kernel blamed) is lost (default 3). */
  deviceRestartsPerMinute?: number;
  /** Hears each phase of every reload as it is entered (a test hook: fault injection kills a host there). */
  onReloadPhase?: ReloadPhaseListener;
}

/** One device host as it reports itself: its process and the step loops it runs (hostReport). */
export interface HostReport {
  backend: BackendName;
  /** WebGPU: the device instance it opened. */
  instance: number;
  pid: number | undefined;
  loops: HostLoopInfo[];
}

export interface StartResult {
  started: string[];
  failed: { id: string; message: string }[];
  /** What a start should say about a kernel: it resumed from a checkpoint file, files were rejected. */
  notes?: { id: string; message: string }[];
}

export interface StateSnapshot {
  id: string;
  version: number;
  step: number;
  sha256: string;
  stateBytes: number;
  state: Uint8Array;
}

/** Device memory a kernel allocates: its four ABI buffers. */
export function kernelMemoryBytes(spec: Pick<KernelSpec, 'stateBytes' | 'inboxCapacity' | 'outboxCapacity'>): number {
  return CONTROL_BYTES + spec.stateBytes + inboxBytes(spec.inboxCapacity) + outboxBytes(spec.outboxCapacity);
}

export class KernelRuntime {
  private manifest: Manifest | undefined;
  private readonly kernels = new Map<string, ManagedKernel>();
  /** Kernels that could not start, with why (shown beside the running ones). */
  private readonly failures = new Map<string, { spec: KernelSpec; message: string; unavailable?: string }>();
  /** What a stopped kernel left behind, so the next start continues where it stopped. */
  private readonly stopped = new Map<
    string,
    {
      spec: KernelSpec;
      checkpoint: KernelCheckpoint;
      version: KernelVersion;
      highestVersion: number;
      fileSha256: string | undefined;
      lastReload: ReloadOutcome | undefined;
    }
  >();
  /** SHA-256 of each kernel source file as last read or saved, to tell when the running code is not the file's. */
  private readonly fileSha256 = new Map<string, string>();
  private readonly webgpuHosts = new HostPool<DeviceHost>(
    () => this.options.maxHostsPerDevice ?? DEFAULT_MAX_HOSTS_PER_DEVICE,
  );
  /**
   * CUDA device hosts by slot (cudaSlot): one host of every GPU ('cuda'), or with
   * ringkernel.cuda.instancesPerDevice above 1 one per CUDA device instance ('cuda:N').
   */
  private readonly cudaHosts = new Map<string, DeviceHost>();
  private readonly manager: HotReloadManager;
  /** The K2K router, free-running, and the delivery between it and the hosts' loops (messageDelivery.ts). */
  private readonly delivery: MessageDelivery;
  private readonly routerListeners = new Set<() => void>();
  private checkpointTimer: NodeJS.Timeout | undefined;
  /** The checkpoint folder, when there is one (checkpointFiles.ts). */
  private files: CheckpointFiles | undefined;
  /** Devices declared lost: nothing is placed on them again (this runtime's life). */
  private readonly lostDevices = new Set<string>();
  private readonly deviceRestarts: DeviceRestartBudget;
  private startedFlag = false;
  private disposed = false;
  /** Moves running kernels between devices (migrate). */
  readonly migrator: KernelMigrator;

  constructor(private readonly options: KernelRuntimeOptions) {
    this.migrator = new KernelMigrator({
      records: { moved: (kernelId, _from, to) => options.placer.move?.(kernelId, to) },
      route: (from, to): MigrationRoute => options.migrationRoute?.(from, to) ?? 'hostStaged',
      verify: options.migrationVerify ?? true,
    });
    const stepTimeoutMs = options.stepTimeoutMs ?? 5_000;
    this.deviceRestarts = new DeviceRestartBudget(options.deviceRestartsPerMinute ?? 3);
    if (options.checkpointFolder !== undefined) this.useCheckpointFolder(options.checkpointFolder);
    this.delivery = new MessageDelivery({
      log: options.log,
      onChange: () => {
        for (const listener of this.routerListeners) listener();
      },
    });
    this.manager = new HotReloadManager(
      // A version must survive a few watchdog periods before a hang counts as its own fault.
      {
        ...DEFAULT_HOT_RELOAD_CONFIG,
        probationMs: Math.max(DEFAULT_HOT_RELOAD_CONFIG.probationMs, 3 * stepTimeoutMs),
        ...options.reload,
      },
      {
        validate: options.validate,
        log: options.log,
        ...(options.onReloadPhase ? { onPhase: options.onReloadPhase } : {}),
        notify: (outcome) => {
          const line = `${outcome.status}: ${outcome.message}${outcome.timings ? ` [${describeTimings(outcome.timings)}]` : ''}`;
          if (
            outcome.status === 'reloaded' ||
            outcome.status === 'rolledBack' ||
            outcome.status === 'unchanged' ||
            outcome.status === 'superseded'
          )
            options.log.info(line);
          else options.log.warn(line);
          options.onOutcome?.(outcome);
        },
      },
    );
  }

  get started(): boolean {
    return this.startedFlag;
  }

  get manifestPath(): string | undefined {
    return this.manifest?.path;
  }

  /** Checkpoints go to `folder` from now on (undefined: memory only); a start with nothing in memory resumes from there. */
  useCheckpointFolder(folder: string | undefined): void {
    if (folder === this.files?.folder) return;
    this.files =
      folder === undefined
        ? undefined
        : new CheckpointFiles({
            folder,
            log: this.options.log,
            onProblem: (message) => this.options.onCheckpointProblem?.(message),
          });
    if (folder !== undefined) this.options.log.info(`checkpoints are written to ${folder}`);
  }

  /** Takes a (re)parsed manifest. Running kernels that left it stop; new ones start when kernels run. */
  async setManifest(manifest: Manifest): Promise<void> {
    const previous = this.manifest;
    this.manifest = manifest;
    // The server hands over the manifest each time it is checked; only a change on disk matters.
    if (previous && JSON.stringify(previous.kernels) === JSON.stringify(manifest.kernels)) return;
    if (!this.startedFlag) return;
    const wanted = new Map(manifest.kernels.map((spec) => [spec.id, spec]));
    for (const [id, kernel] of this.kernels) {
      const spec = wanted.get(id);
      if (spec && sameRuntimeSpec(spec, kernel.spec)) continue;
      this.options.log.info(
        spec
          ? `kernel "${id}": its manifest entry changed; restarting it`
          : `kernel "${id}" left the manifest; stopping it`,
      );
      await this.stopKernel(kernel);
    }
    if (previous !== undefined) await this.start();
  }

  /** Starts every kernel of the manifest that does not run yet. */
  async start(onProgress?: (message: string, percentage: number) => void): Promise<StartResult> {
    const manifest = this.manifest;
    if (!manifest)
      throw new Error(
        'there is no ringkernel.json in the workspace; create one to declare kernels (see docs/manifest.md)',
      );
    this.startedFlag = true;
    this.scheduleCheckpoints();
    const result: StartResult = { started: [], failed: [] };
    const todo = manifest.kernels.filter((spec) => !this.kernels.has(spec.id));
    // All registered with the router first: a message sent at step 0 to a kernel still starting waits for it.
    this.delivery.kernelsExpected(todo.map((spec) => ({ index: manifest.kernels.indexOf(spec), id: spec.id })));
    // Every file read before the first kernel runs: the router is seeded from all of them at once (messageResume.ts).
    const onDisk = await this.resumePointsOnDisk(todo, manifest);
    for (const [i, spec] of todo.entries()) {
      onProgress?.(`starting ${spec.id}`, Math.round((100 * i) / Math.max(1, todo.length)));
      try {
        // The control block's kernel_index is the kernel's place in the manifest: stable across
        // partial starts, and unique among the kernels running.
        const note = await this.startKernel(spec, manifest.kernels.indexOf(spec), onDisk.get(spec.id));
        this.failures.delete(spec.id);
        result.started.push(spec.id);
        if (note !== undefined) (result.notes ??= []).push({ id: spec.id, message: note });
      } catch (error) {
        const message = errorMessage(error);
        this.failures.set(spec.id, {
          spec,
          message,
          ...(error instanceof BackendUnavailable ? { unavailable: error.shortReason } : {}),
        });
        result.failed.push({ id: spec.id, message });
        await this.delivery.kernelStartFailed(spec.id);
        this.options.log.warn(`kernel "${spec.id}" did not start: ${message}`);
      }
    }
    this.changed();
    return result;
  }

  /** Stops every kernel; each one's checkpoint and version are kept in memory for the next start. */
  async stop(): Promise<string[]> {
    this.startedFlag = false;
    clearInterval(this.checkpointTimer);
    this.checkpointTimer = undefined;
    const stopped: string[] = [];
    const kernels = [...this.kernels.values()];
    // Every loop first, then each kernel's stop: one stopped while the others ran would fail what
    // they sent it (destinationStopped), and its stop file would not have those messages.
    for (const kernel of kernels) await this.haltLoop(kernel);
    for (const kernel of kernels) {
      await this.stopKernel(kernel, { halted: true });
      stopped.push(kernel.id);
    }
    this.failures.clear();
    this.changed();
    return stopped;
  }

  /** A kernel source file was saved: reloads the running kernels built from it. */
  sourceSaved(path: string, code: string): Promise<ReloadOutcome>[] {
    this.sourceOnDisk(path, code);
    return [...this.kernels.values()]
      .filter((kernel) => kernel.spec.source === path && kernel.state !== 'stopped')
      .map((kernel) => this.manager.reload(kernel, this.sourceOf(kernel.spec, code)));
  }

  /** What a file holds on disk now (saved, whether or not it reloads): views compare it with the running code. */
  sourceOnDisk(path: string, code: string): void {
    const sha = sha256Hex(new TextEncoder().encode(code));
    if (this.fileSha256.get(path) === sha) return;
    this.fileSha256.set(path, sha);
    this.changed();
  }

  /** The code a kernel runs now (or ran when it stopped), and how it differs from its file. */
  runningSource(id: string): { version: KernelVersion; view: KernelView } {
    const version = this.kernels.get(id)?.version ?? this.stopped.get(id)?.version;
    const view = this.views().find((v) => v.id === id);
    if (version !== undefined && view !== undefined) return { version, view };
    this.kernel(id); // throws why: not in the manifest, failed, or never started
    throw new Error(`kernel "${id}" has no code version yet`);
  }

  /** Whether a running kernel is built from `path`. */
  runsSource(path: string): boolean {
    return [...this.kernels.values()].some((kernel) => kernel.spec.source === path);
  }

  /** Reloads a kernel from its file as saved on disk. */
  async reload(id: string): Promise<ReloadOutcome> {
    const kernel = this.kernel(id);
    const code = await readFile(kernel.spec.source, 'utf8').catch((error: unknown) => {
      throw new Error(`cannot read ${kernel.spec.source} for kernel "${id}": ${errorMessage(error)}`);
    });
    this.sourceOnDisk(kernel.spec.source, code);
    return this.manager.reload(kernel, this.sourceOf(kernel.spec, code));
  }

  rollback(id: string): Promise<ReloadOutcome> {
    return this.manager.rollback(this.kernel(id));
  }

  /** The kernel's state at a step boundary (the loop pauses for the read). */
  readState(id: string): Promise<StateSnapshot> {
    const left = this.kernels.has(id) ? undefined : this.stopped.get(id);
    // A stopped kernel's state is the checkpoint it stopped with.
    if (left)
      return Promise.resolve(
        snapshot(id, left.checkpoint.version, left.checkpoint.step, new Uint8Array(left.checkpoint.state)),
      );
    const kernel = this.kernel(id);
    return kernel.exclusive(async () => {
      if (kernel.state === 'running' && kernel.alive) {
        const checkpoint = await kernel.checkpointAtStepBoundary();
        return snapshot(kernel.id, checkpoint.version, checkpoint.step, new Uint8Array(checkpoint.state));
      }
      const checkpoint = kernel.lastCheckpoint;
      if (!checkpoint) throw new Error(`kernel "${id}" is ${kernel.state} and has no checkpoint to read`);
      return snapshot(kernel.id, checkpoint.version, checkpoint.step, new Uint8Array(checkpoint.state));
    });
  }

  /**
   * Only `ranges` of a kernel's state at a step boundary, for the state views and snapshots: a
   * running kernel's loop goes on (the read waits in its host's queue for the step in flight); a
   * stopped one answers from the checkpoint it left. It waits its turn behind the kernel's
   * reloads, rollbacks, recoveries and moves, so the bytes and the version always match.
   */
  async readStateRanges(id: string, ranges: readonly { offset: number; length: number }[]): Promise<StateRangesRead> {
    const kernel = this.kernels.get(id);
    if (kernel) return kernel.exclusive(() => kernel.readStateRanges(ranges));
    const left = this.stopped.get(id);
    if (left) return checkpointRanges(left.checkpoint, ranges);
    // Throws, saying why there is no such kernel running.
    return this.kernel(id).readStateRanges(ranges);
  }

  /**
   * Moves a running kernel to `device` (a device key) at a step boundary, with its state and step
   * count; on any failure or a cancel before the switch it keeps running where it was.
   */
  async migrate(id: string, device: string, options: MigrationOptions = {}): Promise<MigrationReport> {
    const kernel = this.kernel(id);
    if (this.options.placer.deviceName(device) === undefined)
      throw new Error(`cannot move kernel "${id}" to ${device}: there is no such device`);
    if (this.manager.isReloadInProgress(id))
      throw new Error(`kernel "${id}" is being reloaded; move it once the reload is done`);
    const report = await kernel.exclusive(() => {
      if (kernel.state !== 'running' || !kernel.alive)
        throw new Error(`kernel "${id}" is ${kernel.state}; only a running kernel can move`);
      // The control block's kernel_index stays the kernel's place in the manifest.
      const index = Math.max(0, this.manifest?.kernels.findIndex((k) => k.id === id) ?? 0);
      return this.migrator.migrate(
        relocationSubject(kernel, (device, backend) => this.placementOf(kernel.spec, index, device, backend), {
          hostFor: (backend, device) => this.migrationHost(backend, device),
          adopted: (kernelId, host) => this.hostAdopted(kernelId, host),
          done: (kernelId, host) => this.hostDone(kernelId, host),
          deviceName: (key) => this.options.placer.deviceName(key) ?? key,
          messagesFollow: async (kernelId, to, host) => {
            if (host instanceof DeviceHost) await this.messagesFollowMigration(kernelId, to, host);
          },
        }),
        device,
        options,
      );
    });
    if (report.status === 'migrated') {
      this.options.log.info(report.message);
      this.reportDeviceMemory(kernel.host, kernel.location);
    } else this.options.log.warn(report.message);
    this.changed();
    return report;
  }

  /** A kernel's manifest entry. */
  spec(id: string): KernelSpec | undefined {
    return this.manifest?.kernels.find((k) => k.id === id);
  }

  views(): KernelView[] {
    const views: KernelView[] = [];
    for (const spec of this.manifest?.kernels ?? []) {
      const kernel = this.kernels.get(spec.id);
      if (kernel) {
        views.push(this.withFileDifference(kernel.view(), kernel.version, kernel.lastReload));
        continue;
      }
      const failure = this.failures.get(spec.id);
      const left = this.stopped.get(spec.id);
      views.push(
        this.withFileDifference(
          {
            id: spec.id,
            source: spec.source,
            language: spec.language,
            entryPoint: spec.entryPoint,
            state: failure ? 'failed' : 'stopped',
            version: left?.version.number ?? 0,
            step: left?.checkpoint.step ?? 0,
            stepsPerSecond: 0,
            rateHz: spec.rateHz,
            stateBytes: spec.stateBytes,
            ...(failure ? { error: failure.message } : {}),
            ...(failure?.unavailable !== undefined ? { unavailableHere: failure.unavailable } : {}),
          },
          left?.version,
          left?.lastReload,
        ),
      );
    }
    return views;
  }

  /** Marks a view whose code is not its file's as last read or saved. */
  private withFileDifference(
    view: KernelView,
    version: KernelVersion | undefined,
    lastReload: ReloadOutcome | undefined,
  ): KernelView {
    const file = this.fileSha256.get(view.source);
    if (version === undefined || file === undefined || file === version.codeSha256) return view;
    return { ...view, fileDiffers: fileDifference(lastReload) };
  }

  stats(): HotReloadStats {
    return this.manager.stats();
  }

  isReloadInProgress(id: string): boolean {
    return this.manager.isReloadInProgress(id);
  }

  // The K2K router: what the server wires to ringkernel/routerStats, the topology view and the API.

  /** The router's statistics now (per kernel, per pair, per device pair, totals), plus the mailboxes'. */
  routerStats(): DeliveryStats {
    return this.delivery.snapshot();
  }

  /** Hears every change of the router's figures (often: throttle before sending anything). */
  onRouterChange(listener: () => void): { dispose(): void } {
    this.routerListeners.add(listener);
    return { dispose: () => this.routerListeners.delete(listener) };
  }

  /** Routing decisions follow the machine's topology and ringkernel.enableP2P. */
  setRouterTopology(topology: GpuTopology, enableP2P?: boolean): void {
    this.delivery.setTopology(topology);
    if (enableP2P !== undefined) this.delivery.setEnableP2P(enableP2P);
  }

  /**
   * Migration hook: call at a migration's switch, once the kernel's loop stopped on its old device
   * and before it steps on `deviceKey` in `host`. Its unconsumed inbox moves to the new host and
   * the router re-routes its pending messages (router.relocate): none lost, none repeated, order kept.
   */
  messagesFollowMigration(id: string, deviceKey: string, host: DeviceHost): Promise<{ rerouted: number }> {
    return this.delivery.messagesFollow(id, deviceKey, host);
  }

  /**
   * Every device host the runtime holds, with the loops its process says it runs (asked, not
   * remembered): checks that no kernel runs twice or nowhere compare it with views(). A host that
   * does not answer is listed without loops and with its error.
   */
  async hostReport(): Promise<(HostReport & { error?: string })[]> {
    const hosts = new Set<DeviceHost>([...this.webgpuHosts.hosts(), ...this.cudaHosts.values()]);
    return Promise.all(
      [...hosts].map(async (host) => {
        const base = { backend: host.backend, instance: host.instance, pid: host.pid };
        try {
          return { ...base, loops: (await host.runningLoops()).loops };
        } catch (error) {
          return { ...base, loops: [], error: errorMessage(error) };
        }
      }),
    );
  }

  /** Kills the device hosts (their kernels with them) and forgets the placements. */
  /**
   * The server is going away (a restart, the window closing). With a checkpoint folder, every
   * kernel is first stopped at a step boundary, so the state it stopped with is on disk and the next
   * server resumes it from there, not from the last periodic checkpoint. A stop that hangs is given
   * up after a few seconds: the newest periodic checkpoint then stands in.
   */
  async shutdown(): Promise<void> {
    if (this.files && !this.disposed) await settleWithin(this.stop(), 5_000);
    await this.dispose();
  }

  dispose(): Promise<void> {
    if (this.disposed) return Promise.resolve();
    this.disposed = true;
    clearInterval(this.checkpointTimer);
    for (const kernel of this.kernels.values()) this.options.placer.remove(kernel.id);
    this.kernels.clear();
    this.delivery.dispose();
    for (const host of this.webgpuHosts.hosts()) host.dispose();
    this.webgpuHosts.clear();
    for (const host of this.cudaHosts.values()) host.dispose();
    this.cudaHosts.clear();
    // The checkpoints a stop left are worth the wait; a disk that hangs is not.
    return this.files ? settleWithin(this.files.idle(), 10_000) : Promise.resolve();
  }

  private kernel(id: string): ManagedKernel {
    const kernel = this.kernels.get(id);
    if (kernel) return kernel;
    const failure = this.failures.get(id);
    if (failure) throw new Error(`kernel "${id}" is not running: ${failure.message}`);
    const known = this.manifest?.kernels.map((k) => k.id).join(', ') || 'none';
    if (this.manifest?.kernels.some((k) => k.id === id))
      throw new Error(`kernel "${id}" is not running; run "RingKernel: Start Kernels" first`);
    throw new Error(`no kernel "${id}" in ${this.manifest?.path ?? 'the manifest'} (kernels: ${known})`);
  }

  private sourceOf(spec: KernelSpec, code: string): KernelSource {
    if (spec.language === 'msl')
      throw new Error(`kernel "${spec.id}": Metal kernels cannot run here (no Metal device)`);
    return { language: spec.language, label: spec.id, code, entryPoint: spec.entryPoint };
  }

  /** Starts one kernel; returns what the start message should say about it (a resume from a file), if anything. */
  private async startKernel(
    spec: KernelSpec,
    index: number,
    prefetched?: { codeSha256: string; point: ResumePoint },
  ): Promise<string | undefined> {
    const backend = runsOn(spec);
    if (!backend)
      throw new Error(
        `kernel "${spec.id}": ${spec.language.toUpperCase()} kernels cannot run here; only WGSL (WebGPU) and PTX (CUDA) kernels run`,
      );
    const code = await readFile(spec.source, 'utf8').catch((error: unknown) => {
      throw new Error(`cannot read ${spec.source}: ${errorMessage(error)}`);
    });
    const unavailable = this.options.unavailableReason?.(backend);
    if (unavailable !== undefined) throw new BackendUnavailable(spec.id, backend, unavailable);
    const request: PlacementRequest = {
      backend,
      memoryBytes: kernelMemoryBytes(spec),
      stateBytes: spec.stateBytes,
      ...(this.lostDevices.size > 0 ? { exclude: [...this.lostDevices] } : {}),
    };
    const pinned = `${backend}:${spec.device}`;
    if (spec.device !== 'auto' && this.lostDevices.has(pinned))
      throw new Error(
        `kernel "${spec.id}": the manifest puts it on ${pinned}, which was lost; use "auto" or another device`,
      );
    const placement =
      spec.device === 'auto'
        ? await this.options.placer.place(spec.id, request)
        : this.options.placer.assign(spec.id, `${backend}:${spec.device}`, request);
    if (!placement.ok) throw new Error(`kernel "${spec.id}" could not be placed: ${placement.error.message}`);
    const key = placement.device;
    const device = Number(key.slice(key.indexOf(':') + 1));
    const location: KernelLocation = { backend, device, key, deviceName: this.options.placer.deviceName(key) ?? key };
    const host = this.hostFor(backend, spec.id, key, device);
    const kernel = new ManagedKernel(
      spec,
      host,
      location,
      {
        index,
        device,
        stateBytes: spec.stateBytes,
        grid: spec.grid,
        inboxCapacity: spec.inboxCapacity,
        outboxCapacity: spec.outboxCapacity,
        ...(backend === 'cuda' ? { block: spec.block } : {}),
      },
      {
        changed: () => this.changed(),
        log: this.options.log,
        failed: (failed, reason, culprit) => {
          // Its device was declared lost: deviceLost re-places it instead.
          if (this.lostDevices.has(failed.location.key)) return;
          void this.manager.recover(failed, reason, culprit);
        },
        rollbackPointKept: (kept, checkpoint) => this.saveCheckpoint(kept, checkpoint, 'rollback point'),
        statesInUse: () => this.files?.statesInUse() ?? NOTHING_IN_USE,
        // The K2K router keeps what a kernel consumed until the oldest checkpoint it may come back from covers it.
        restoring: (restored, step) => this.delivery.kernelRestoring(restored.id, step),
        checkpointed: (checkpointed) => {
          const floor = checkpointed.recoveryFloor;
          if (floor !== undefined) this.delivery.checkpointCovers(checkpointed.id, floor);
        },
      },
    );
    const left = this.stopped.get(spec.id);
    const resumable = left && left.spec.stateBytes === spec.stateBytes ? left : undefined;
    const onDisk = kernelVersion(1, this.sourceOf(spec, code));
    // Nothing in memory (a restarted server): the newest file written by this code, every digest checked.
    const resumePoint = resumable
      ? undefined
      : prefetched?.codeSha256 === onDisk.codeSha256
        ? prefetched.point
        : await this.resumePointOnDisk(spec, onDisk.codeSha256);
    const fromFile = resumePoint?.found;
    // Before the first step, so the loop's first batch of messages finds the kernel registered.
    this.delivery.kernelStarting({
      index,
      id: spec.id,
      device: key,
      host,
      inboxCapacity: spec.inboxCapacity,
      outboxCapacity: spec.outboxCapacity,
    });
    this.fileSha256.set(spec.source, onDisk.codeSha256);
    // A stopped kernel resumes the version it ran (a rolled-back one too); code saved since it
    // stopped comes in as a reload, so it is validated, swapped and, if it hangs, rolled back
    // like any other save. A file that already differed when it stopped is not such a change.
    // A file's version number carries on, so the numbering after a server restart does not start again at 1.
    const version = resumable?.version ?? (fromFile ? { ...onDisk, number: fromFile.checkpoint.version } : onDisk);
    // Why it runs an older version than the file (a rollback, say) stays said after the restart.
    if (resumable?.lastReload) kernel.carryOver(resumable.lastReload);
    try {
      await kernel.start(version, resumable?.checkpoint ?? fromFile?.checkpoint, resumable?.highestVersion);
      this.stopped.delete(spec.id);
    } catch (error) {
      await this.delivery.kernelStartFailed(spec.id);
      this.options.placer.remove(spec.id);
      this.releaseHost(backend, spec.id);
      throw new Error(
        `kernel "${spec.id}" (${formatBytes(spec.stateBytes)} of state) did not start on ${key}: ${errorMessage(error)}`,
      );
    }
    this.kernels.set(spec.id, kernel);
    this.delivery.kernelStarted(spec.id);
    this.reportDeviceMemory(host, location);
    const savedSinceStop = resumable?.fileSha256 !== onDisk.codeSha256;
    if (version.codeSha256 !== onDisk.codeSha256 && savedSinceStop) void this.manager.reload(kernel, onDisk.source);
    const from = resumable
      ? ` from its checkpoint at step ${resumable.checkpoint.step}`
      : fromFile
        ? `, resumed from checkpoint ${fromFile.file} at step ${fromFile.checkpoint.step},`
        : '';
    this.options.log.info(
      `kernel "${spec.id}" v${version.number} runs${from} on ${key} (${location.deviceName})${spec.rateHz > 0 ? ` at ${spec.rateHz} steps/s` : ' as fast as it can'}`,
    );
    const notes: string[] = [];
    if (fromFile) notes.push(`resumed from checkpoint ${fromFile.file} at step ${fromFile.checkpoint.step}`);
    if (resumePoint && resumePoint.rejected.length > 0)
      notes.push(
        `${resumePoint.rejected.length} newer checkpoint file(s) could not be used: ${describeRejected(resumePoint.rejected)}`,
      );
    return notes.length > 0 ? notes.join('; ') : undefined;
  }

  /**
   * The newest usable files of the kernels about to start that have nothing in memory (a restarted
   * server), with the router seeded from them before any of them runs.
   */
  private async resumePointsOnDisk(
    specs: readonly KernelSpec[],
    manifest: Manifest,
  ): Promise<Map<string, { codeSha256: string; point: ResumePoint }>> {
    const points = new Map<string, { codeSha256: string; point: ResumePoint }>();
    if (!this.files) return points;
    for (const spec of specs) {
      if (this.stopped.has(spec.id) || !runsOn(spec)) continue;
      let codeSha256: string;
      try {
        codeSha256 = kernelVersion(1, this.sourceOf(spec, await readFile(spec.source, 'utf8'))).codeSha256;
      } catch {
        continue; // its start says why
      }
      const point = await this.resumePointOnDisk(spec, codeSha256);
      if (point) points.set(spec.id, { codeSha256, point });
    }
    seedRouterFromFiles(
      this.delivery.router,
      [...points].map(([id, { point }]) => ({
        id,
        index: manifest.kernels.findIndex((spec) => spec.id === id),
        point,
      })),
      this.options.log,
    );
    return points;
  }

  /** The newest usable checkpoint file of a kernel being started; a folder that cannot be read is logged, not fatal. */
  private async resumePointOnDisk(
    spec: KernelSpec,
    codeSha256: string,
  ): Promise<Awaited<ReturnType<CheckpointFiles['resumePoint']>> | undefined> {
    if (!this.files) return undefined;
    try {
      const point = await this.files.resumePoint(spec.id, codeSha256, spec.stateBytes);
      for (const rejected of point.rejected) this.options.log.warn(`kernel "${spec.id}": ${rejected.reason}`);
      return point;
    } catch (error) {
      this.options.log.warn(
        `kernel "${spec.id}" starts afresh: its checkpoint files in ${this.files.folder} could not be read: ${errorMessage(error)}`,
      );
      return undefined;
    }
  }

  /** Writes a checkpoint to the folder in the background (nothing without a folder). */
  private saveCheckpoint(kernel: ManagedKernel, checkpoint: Checkpoint, why: string): void {
    const files = this.files;
    if (!files) return;
    const version = kernel.versionNumbered(checkpoint.version);
    if (!version) {
      this.options.log.debug(
        `kernel "${kernel.id}": the ${why} checkpoint's v${checkpoint.version} is no longer known; not written`,
      );
      return;
    }
    const index = this.manifest?.kernels.findIndex((k) => k.id === kernel.id) ?? -1;
    // Taken now, while the router's retention still covers the checkpoint's step (routerCheckpoint.ts).
    const pendingMessages =
      index >= 0 ? this.delivery.router.checkpointMessages(index, kernel.id, checkpoint.step) : undefined;
    // The clock now, later than at the checkpoint's step: a restore only moves a clock forward.
    const clock = index >= 0 ? this.delivery.router.clockOf(index, kernel.id) : undefined;
    files.save(
      {
        checkpoint,
        codeSha256: version.codeSha256,
        backend: kernel.location.backend,
        deviceKey: kernel.location.key,
        control: {
          step: controlStepWord(checkpoint.step),
          kernelIndex: Math.max(0, index),
          inboxCount: 0,
          outboxCapacity: kernel.spec.outboxCapacity,
        },
        ...(clock ? { hlc: hlcStateOf(clock, index) } : {}),
        ...(pendingMessages ? { pendingMessages } : {}),
      },
      why,
    );
  }

  private async haltLoop(kernel: ManagedKernel): Promise<void> {
    await kernel
      .exclusive(() => kernel.stop())
      .catch((error: unknown) =>
        this.options.log.warn(`kernel "${kernel.id}" did not stop cleanly: ${errorMessage(error)}`),
      );
  }

  private async stopKernel(kernel: ManagedKernel, options: { halted?: boolean } = {}): Promise<void> {
    if (!options.halted) await this.haltLoop(kernel);
    // Its loop has stopped: its last messages are in; its mailbox leaves the host before the host goes.
    await this.delivery.kernelStopped(kernel.id);
    if (!this.manifest?.kernels.some((spec) => spec.id === kernel.id)) this.delivery.kernelRemoved(kernel.id);
    if (kernel.lastCheckpoint) {
      this.saveCheckpoint(kernel, kernel.lastCheckpoint, 'stop');
      this.stopped.set(kernel.id, {
        spec: kernel.spec,
        checkpoint: kernel.lastCheckpoint,
        version: kernel.version,
        highestVersion: kernel.highestVersion,
        fileSha256: this.fileSha256.get(kernel.spec.source),
        lastReload: kernel.lastReload,
      });
    }
    this.kernels.delete(kernel.id);
    this.manager.forget(kernel.id);
    this.options.placer.remove(kernel.id);
    this.releaseHost(kernel.location.backend, kernel.id);
    const cudaHost =
      kernel.location.backend === 'cuda' ? this.cudaHosts.get(this.cudaSlot(kernel.location.device)) : undefined;
    if (cudaHost) this.reportDeviceMemory(cudaHost, kernel.location);
  }

  /**
   * Tells the placer the device's free memory as its host measures it now, so memory-based
   * placement does not go by the probe's figure from before these kernels. Only CUDA reports free
   * memory; WebGPU has no way to ask.
   */
  private reportDeviceMemory(host: KernelHost, location: KernelLocation): void {
    const update = this.options.placer.updateMemory?.bind(this.options.placer);
    // The runtime's kernels live in DeviceHosts; only a real host can measure its device.
    if (location.backend !== 'cuda' || !update || !(host instanceof DeviceHost)) return;
    host
      .devices()
      .then((infos) => {
        const info = infos.find((d) => d.index === location.device);
        if (info?.memoryFreeBytes !== undefined) update(location.key, info.memoryFreeBytes, info.memoryTotalBytes);
      })
      .catch((error: unknown) =>
        this.options.log.debug(`the free memory of ${location.key} was not measured: ${errorMessage(error)}`),
      );
  }

  /** `ringkernel.enableP2P` changed: the CUDA hosts turn peer access on or off (a host of every GPU; instances ignore it). */
  async setPeerAccess(enabled: boolean): Promise<void> {
    await Promise.all([...this.cudaHosts.values()].map((host) => host.setPeerAccess(enabled)));
  }

  /** Which CUDA host serves CUDA device `device`: its own ('cuda:N') with device instances, else the one of every GPU. */
  private cudaSlot(device: number): string {
    return (this.options.cudaInstancesPerDevice ?? 1) > 1 ? `cuda:${device}` : 'cuda';
  }

  /** Whether a kernel still lives in the CUDA host of `slot`. */
  private cudaSlotInUse(slot: string): boolean {
    return [...this.kernels.values()].some(
      (k) => k.location.backend === 'cuda' && this.cudaSlot(k.location.device) === slot,
    );
  }

  private placementOf(spec: KernelSpec, index: number, device: number, backend: BackendName): KernelPlacement {
    return {
      index,
      device,
      stateBytes: spec.stateBytes,
      grid: spec.grid,
      inboxCapacity: spec.inboxCapacity,
      outboxCapacity: spec.outboxCapacity,
      ...(backend === 'cuda' ? { block: spec.block } : {}),
    };
  }

  /**
   * Decision: a host per WebGPU kernel (an endless WGSL loop can only be stopped by killing its
   * process), up to maxHostsPerDevice per device; further kernels share those (hostPool.ts).
   */
  private hostFor(backend: BackendName, kernelId: string, key: string, device: number): DeviceHost {
    if (backend === 'cuda') return this.newHost(backend, device);
    return this.webgpuHosts.acquire(key, kernelId, () => this.newHost(backend, device));
  }

  /** A migration's target host: the device's pool picks (a new host while under the limit, else a shared one). */
  private migrationHost(backend: BackendName, device: number): DeviceHost {
    if (backend === 'cuda') return this.newHost(backend, device);
    return this.webgpuHosts.choose(`${backend}:${device}`, () => this.newHost(backend, device));
  }

  /** The CUDA host of `device` (shared by every GPU, or the instance's own), or a new WebGPU host that opens device instance `device`. */
  private newHost(backend: BackendName, device: number): DeviceHost {
    const instanced = backend === 'cuda' && (this.options.cudaInstancesPerDevice ?? 1) > 1;
    const options = {
      backend,
      log: this.options.log,
      stepTimeoutMs: this.options.stepTimeoutMs ?? 5_000,
      ...(this.options.requestTimeoutMs !== undefined ? { requestTimeoutMs: this.options.requestTimeoutMs } : {}),
      peerAccess: () => this.options.enableP2P ?? true,
      ...(this.options.hostScript ? { script: this.options.hostScript } : {}),
      ...(backend === 'webgpu' || instanced ? { instance: device } : {}),
      ...(instanced ? { cudaInstancesPerDevice: this.options.cudaInstancesPerDevice } : {}),
    };
    const slot = this.cudaSlot(device);
    if (backend === 'cuda') {
      const known = this.cudaHosts.get(slot);
      if (known) return known;
    }
    const host = new DeviceHost(options);
    // Subscribed before any kernel of the host is, so a lost device is known before they ask to recover.
    // A host of every GPU counts its deaths against all of them ('cuda'): it cannot say which one failed.
    host.onRestart((event) => this.hostRestarted(backend === 'cuda' ? slot : `webgpu:${device}`, event));
    if (backend === 'cuda') this.cudaHosts.set(slot, host);
    return host;
  }

  /**
   * A device host restarted: one that died (no hung kernel to blame) counts against its device
   * ('cuda': the host of every CUDA GPU, whose loss is that of every CUDA device with kernels).
   */
  private hostRestarted(key: string, event: { reason: string; culprit?: string; kernelFault?: true }): void {
    // A kernel that faulted its CUDA context took its host down, not the device: its own recovery policy handles it.
    if (this.disposed || event.culprit !== undefined || event.kernelFault || this.lostDevices.has(key)) return;
    if (!this.deviceRestarts.restarted(key)) return;
    if (key !== 'cuda') return this.deviceLost(key, event.reason);
    const count = this.deviceRestarts.count(key);
    const keys = new Set(
      [...this.kernels.values()].filter((k) => k.location.backend === 'cuda').map((k) => k.location.key),
    );
    const reason = `${event.reason}; the CUDA device host serving every CUDA device died ${count} times within a minute`;
    for (const lost of keys) this.deviceLost(lost, reason, count);
  }

  /**
   * `key` is gone: its hosts are shut down (no more restarts), it leaves the placer, and each of
   * its kernels is re-placed on another device from its last checkpoint, or stopped when none can
   * take it (deviceLoss.ts).
   */
  private deviceLost(key: string, reason: string, count = this.deviceRestarts.count(key)): void {
    this.lostDevices.add(key);
    const name = this.options.placer.deviceName(key);
    this.options.log.warn(
      `${key}${name !== undefined ? ` (${name})` : ''} is lost: its device host died ${count} times within a minute (last: ${reason}); its kernels are placed elsewhere`,
    );
    const { backend, index } = parseDeviceKey(key);
    const cudaSlot = backend === 'cuda' ? this.cudaSlot(index) : undefined;
    const cudaHost = cudaSlot !== undefined ? this.cudaHosts.get(cudaSlot) : undefined;
    if (cudaSlot !== undefined) this.cudaHosts.delete(cudaSlot);
    for (const host of [...this.webgpuHosts.hostsOn(key), ...(cudaHost ? [cudaHost] : [])]) {
      this.delivery.detachHost(host);
      host.dispose();
    }
    this.options.placer.deviceLost?.(key);
    for (const kernel of [...this.kernels.values()]) {
      if (kernel.location.key !== key) continue;
      void kernel
        .exclusive(() =>
          replaceLostKernel(kernel, key, `its host died ${count} times within a minute`, this.lossContext()),
        )
        .then(async (result) => {
          if (result.kind === 'untouched') return;
          kernel.recordOutcome(result.outcome);
          if (result.kind === 'replaced') {
            this.manager.deviceReplaced(kernel.id);
            this.options.log.warn(result.outcome.message);
            this.reportDeviceMemory(kernel.host, kernel.location);
          } else {
            this.options.log.error(result.outcome.message);
          }
          this.options.onOutcome?.(result.outcome);
          if (result.kind === 'stranded') await this.stopKernel(kernel);
          this.changed();
        })
        .catch((error: unknown) =>
          this.options.log.error(
            `kernel "${kernel.id}" could not be re-placed after ${key} was lost: ${errorMessage(error)}`,
          ),
        );
    }
  }

  private lossContext(): Parameters<typeof replaceLostKernel>[3] {
    return {
      lost: this.lostDevices,
      place: (kernelId, request) => this.options.placer.place(kernelId, request),
      unplace: (kernelId) => this.options.placer.remove(kernelId),
      deviceName: (key) => this.options.placer.deviceName(key) ?? key,
      hostOn: (kernelId, backend, key, index) => {
        if (backend === 'webgpu') this.webgpuHosts.release(kernelId);
        return this.hostFor(backend, kernelId, key, index);
      },
      placementOf: (kernel, backend, index) =>
        this.placementOf(
          kernel.spec,
          Math.max(0, this.manifest?.kernels.findIndex((k) => k.id === kernel.id) ?? 0),
          index,
          backend,
        ),
      checkpointOnDisk: async (kernel) =>
        (await this.files?.resumePoint(kernel.id, kernel.version.codeSha256, kernel.spec.stateBytes))?.found
          ?.checkpoint,
      messagesFollow: async (kernelId, key, host) => {
        if (host instanceof DeviceHost) await this.delivery.messagesFollow(kernelId, key, host);
      },
      memoryBytes: (kernel) => kernelMemoryBytes(kernel.spec),
    };
  }

  /** At a migration's switch: the pool records the kernel's new WebGPU host (or forgets it, moved to CUDA). */
  private hostAdopted(kernelId: string, host: KernelHost): void {
    const key = this.kernels.get(kernelId)?.location.key;
    if (host instanceof DeviceHost && host.backend === 'webgpu' && key !== undefined)
      this.webgpuHosts.assign(key, kernelId, host);
    else this.webgpuHosts.release(kernelId);
  }

  /** A migration is done with `host` for this kernel: a WebGPU host no kernel uses goes, the CUDA host once no kernel uses it. */
  private hostDone(_kernelId: string, host: KernelHost): void {
    if (!(host instanceof DeviceHost)) return;
    if (host.backend === 'webgpu') {
      if (!this.webgpuHosts.holds(host)) host.dispose();
    } else {
      const slot = [...this.cudaHosts.entries()].find(([, h]) => h === host)?.[0];
      if (slot !== undefined && !this.cudaSlotInUse(slot)) {
        this.cudaHosts.delete(slot);
        host.dispose();
      }
    }
  }

  private releaseHost(backend: BackendName, kernelId: string): void {
    if (backend === 'webgpu') {
      const host = this.webgpuHosts.release(kernelId);
      if (host) this.delivery.detachHost(host);
      host?.dispose();
    } else {
      for (const [slot, host] of [...this.cudaHosts.entries()]) {
        if (this.cudaSlotInUse(slot)) continue;
        this.cudaHosts.delete(slot);
        this.delivery.detachHost(host);
        host.dispose();
      }
    }
  }

  private scheduleCheckpoints(): void {
    const interval = this.options.checkpointIntervalMs ?? 10_000;
    if (this.checkpointTimer || interval <= 0) return;
    this.checkpointTimer = setInterval(() => {
      for (const kernel of this.kernels.values()) {
        if (kernel.state !== 'running' || this.manager.isReloadInProgress(kernel.id)) continue;
        void kernel
          .exclusive(async () => {
            if (kernel.state !== 'running' || !kernel.alive || !kernel.looping) return;
            this.saveCheckpoint(kernel, await kernel.checkpointAtStepBoundary(), 'periodic');
          })
          .catch((error: unknown) =>
            this.options.log.debug(`checkpoint of "${kernel.id}" skipped: ${errorMessage(error)}`),
          );
      }
    }, interval);
    this.checkpointTimer.unref();
  }

  private changed(): void {
    this.options.onChange?.();
  }
}

const NOTHING_IN_USE: ReadonlySet<Readonly<Uint8Array>> = new Set();

/** Waits for `promise`, but not longer than `ms`. */
function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    void promise
      .catch(() => undefined)
      .finally(() => {
        clearTimeout(timer);
        resolve();
      });
  });
}

function snapshot(id: string, version: number, step: number, state: Uint8Array): StateSnapshot {
  return { id, version, step, sha256: sha256Hex(state), stateBytes: state.byteLength, state };
}

/** Everything but the source file's content and the views (display only): a change here needs a restart, not a reload. */
function sameRuntimeSpec(a: KernelSpec, b: KernelSpec): boolean {
  const { views: _a, ...runA } = a;
  const { views: _b, ...runB } = b;
  return JSON.stringify(runA) === JSON.stringify(runB);
}

/** The phases of a reload for the log; validation runs beside the device compile and the checkpoint's copy beside the swap and resume, so they are said to overlap. */
export function describeTimings(t: {
  validateMs: number;
  compileMs: number;
  drainMs: number;
  checkpointMs: number;
  swapMs: number;
  restoreMs: number;
  resumeMs: number;
  totalMs: number;
  rollbackPointMs?: number;
}): string {
  const ms = (value: number): string => `${value.toFixed(1)} ms`;
  return (
    `validate ${ms(t.validateMs)} ∥ compile ${ms(t.compileMs)} (in parallel), drain ${ms(t.drainMs)}, checkpoint ${ms(t.checkpointMs)} (overlaps swap and resume), ` +
    `swap ${ms(t.swapMs)}, restore ${ms(t.restoreMs)}, resume ${ms(t.resumeMs)}, total ${ms(t.totalMs)}`
  );
}
