// Which kernel runs on which device: the coordinator's public face. It keeps the settings, the
// topology and the custom selector, counts every change, and delegates: the records to
// deviceRegistry.ts, where a kernel may go to placementPool.ts and placementStrategies.ts, a
// removed device's kernels to drainPlanner.ts, transfer times to transferRoutes.ts, counters to
// coordinatorStats.ts. It decides and records; moving a kernel's memory is the migrator's job.
import type { DeviceInfo } from '../backends/backend';
import type { BackendName, BackendReport } from '../backends/backendReport';
import { errorMessage, type Logger } from '../logger';
import { deviceKey, type DeviceKey } from '../probe/probeRecords';
import { GpuTopology } from '../topology/gpuTopology';
import { CoordinatorCounters } from './coordinatorStats';
import {
  DEFAULT_COORDINATOR_CONFIG,
  type CoordinatorChange,
  type CoordinatorChangeKind,
  type CoordinatorConfig,
  type CoordinatorStats,
  type DeviceSelector,
  type DeviceUnregisterResult,
  type DeviceView,
  type Disposable,
  type KernelAssignment,
  type KernelOptions,
  type Placement,
  type PlacementDecider,
  type PlacementError,
  type PlacementRequest,
  type SelectorFailure,
  type SelectorFailureCode,
  type TransferEstimate,
} from './coordinatorTypes';
import { DeviceRegistry, publicAssignment } from './deviceRegistry';
import { planDrain } from './drainPlanner';
import { askSelector, placementPool, type SelectorAnswer } from './placementPool';
import { pickByStrategy, ineligibleReason } from './placementStrategies';
import { transferEstimate } from './transferRoutes';

export interface CoordinatorOptions {
  logger?: Logger;
  /** The clock for timestamps (tests). */
  now?: () => Date;
}

export interface UnregisterOptions {
  /** Also keep kernels off the removed device's other faces (the same GPU through another backend). Default true. */
  excludeSamePhysicalGpu?: boolean;
}

export type AssignResult = { ok: true; device: DeviceKey; previous?: DeviceKey } | { ok: false; error: PlacementError };

export interface DeviceSyncResult {
  added: DeviceKey[];
  updated: DeviceKey[];
  removed: DeviceUnregisterResult[];
}

export class MultiGpuCoordinator {
  private config: CoordinatorConfig;
  private readonly registry = new DeviceRegistry();
  private readonly counters = new CoordinatorCounters();
  private readonly listeners = new Set<(change: CoordinatorChange) => void>();
  private readonly logger: Logger | undefined;
  private readonly now: () => Date;
  private currentTopology = GpuTopology.empty('no topology discovered yet');
  private selector: DeviceSelector | undefined;
  private inSelector = false;
  private lastRoundRobin = -1;
  private changeVersion = 0;
  private viewCache: { version: number; views: DeviceView[] } | undefined;

  constructor(config: Partial<CoordinatorConfig> = {}, options: CoordinatorOptions = {}) {
    this.config = { ...DEFAULT_COORDINATOR_CONFIG, ...config };
    this.logger = options.logger;
    this.now = options.now ?? ((): Date => new Date());
  }

  /** The change counter: it increases with every change, so a view can tell whether to refresh. */
  get version(): number {
    return this.changeVersion;
  }

  /** Called after every change; a listener that throws is logged and does not stop the others. */
  onDidChange(listener: (change: CoordinatorChange) => void): Disposable {
    this.listeners.add(listener);
    return {
      dispose: () => {
        this.listeners.delete(listener);
      },
    };
  }

  getConfig(): Readonly<CoordinatorConfig> {
    return { ...this.config, preferredDevices: [...this.config.preferredDevices] };
  }

  /** Applies settings, already checked (server/src/settings reads the editor's); the others stay. */
  configure(config: Partial<CoordinatorConfig>): void {
    this.config = { ...this.config, ...config };
    this.changed('config');
  }

  /** Installs (or with undefined, removes) the custom strategy's selector. */
  setDeviceSelector(selector: DeviceSelector | undefined): void {
    this.selector = selector;
    this.changed('selector');
  }

  setTopology(topology: GpuTopology): void {
    this.currentTopology = topology;
    this.changed('topology');
  }

  topology(): GpuTopology {
    return this.currentTopology;
  }

  /** Adds a device, or updates one with the same backend and index (its kernels stay). Returns its key. */
  registerDevice(info: DeviceInfo): DeviceKey {
    const key = this.registry.register(info);
    this.changed('devices');
    return key;
  }

  /**
   * Brings the registry in line with the backends' reports: new devices are added, known ones
   * updated, and devices of a reported backend that are gone (or whose backend became
   * unavailable) are unregistered with migration plans. Backends without a report are untouched.
   */
  syncDevices(reports: readonly BackendReport[], options: UnregisterOptions = {}): DeviceSyncResult {
    const result: DeviceSyncResult = { added: [], updated: [], removed: [] };
    const reported = new Set<BackendName>(reports.map((r) => r.backend));
    const present = new Set<DeviceKey>();
    for (const report of reports) {
      if (!report.available) continue;
      for (const info of report.devices) {
        const key = deviceKey(info.backend, info.index);
        present.add(key);
        (this.registry.has(key) ? result.updated : result.added).push(key);
        this.registerDevice(info);
      }
    }
    for (const [key, device] of this.registry.entries()) {
      if (reported.has(device.info.backend) && !present.has(key))
        result.removed.push(this.unregisterDevice(key, options));
    }
    return result;
  }

  /**
   * Records a new free-memory report for a device (the kernel runtime reports what a device host
   * measured after a kernel started or stopped there). false when the device is not registered.
   */
  updateDeviceMemory(key: DeviceKey, freeBytes: number, totalBytes?: number): boolean {
    if (!this.registry.updateMemory(key, freeBytes, totalBytes)) return false;
    this.changed('devices');
    return true;
  }

  /** Every registered device, in registration order. */
  devices(): readonly DeviceView[] {
    if (this.viewCache?.version !== this.changeVersion)
      this.viewCache = { version: this.changeVersion, views: this.registry.views(this.config, this.currentTopology) };
    return this.viewCache.views;
  }

  device(key: DeviceKey): DeviceView | undefined {
    return this.devices().find((view) => view.key === key);
  }

  kernels(): KernelAssignment[] {
    return this.registry.allAssignments().map(publicAssignment);
  }

  kernel(kernelId: string): KernelAssignment | undefined {
    const record = this.registry.assignment(kernelId);
    return record ? publicAssignment(record) : undefined;
  }

  kernelDevice(kernelId: string): DeviceKey | undefined {
    return this.registry.assignment(kernelId)?.device;
  }

  kernelsOn(key: DeviceKey): string[] {
    return this.registry.kernelsOn(key).map((k) => k.kernelId);
  }

  /**
   * Chooses a device without placing anything (a preview: round robin does not advance). The
   * custom selector is consulted, and its failures are recorded.
   */
  selectDevice(request: Readonly<PlacementRequest> = {}): Placement {
    return this.decide(request, false);
  }

  /** Chooses a device for a new kernel and assigns the kernel to it. */
  place(kernelId: string, request: Readonly<PlacementRequest> = {}): Placement {
    const { counts } = this.counters;
    const existing = this.registry.assignment(kernelId);
    if (existing) {
      counts.placementFailures++;
      return {
        ok: false,
        error: {
          code: 'KERNEL_ALREADY_PLACED',
          message: `kernel "${kernelId}" is already on ${existing.device}; remove it or migrate it instead of placing it again`,
        },
      };
    }
    const placement = this.decide(request, true);
    if (!placement.ok) {
      counts.placementFailures++;
      return placement;
    }
    this.record(kernelId, placement.device, request);
    counts.placements++;
    this.counters.byDecider[placement.decidedBy]++;
    if (placement.preferredSkipped !== undefined) counts.preferredFallbacks++;
    this.changed('kernels');
    return placement;
  }

  /**
   * Puts a kernel on a named device (the manifest pins it there, or a migration finished). A kernel
   * already elsewhere moves; a full device refuses unless `force`.
   */
  assignKernel(kernelId: string, key: DeviceKey, options: KernelOptions & { force?: boolean } = {}): AssignResult {
    const view = this.device(key);
    if (!view)
      return {
        ok: false,
        error: {
          code: 'UNKNOWN_DEVICE',
          message: `cannot put kernel "${kernelId}" on ${key}: no such device is registered`,
        },
      };
    const existing = this.registry.assignment(kernelId);
    if (existing?.device === key) return { ok: true, device: key, previous: key };
    const needs: PlacementRequest = {};
    const backend = options.backend ?? existing?.backend;
    if (backend !== undefined) needs.backend = backend;
    const reason = ineligibleReason(view, needs, this.config.maxKernelsPerDevice);
    if (reason !== undefined && !options.force) {
      return {
        ok: false,
        error: {
          code: reason.startsWith('full') ? 'DEVICE_FULL' : 'NO_ELIGIBLE_DEVICE',
          message: `cannot put kernel "${kernelId}" on ${key}: ${reason}`,
        },
      };
    }
    const request: PlacementRequest = {};
    const stateBytes = options.stateBytes ?? existing?.stateBytes;
    if (stateBytes !== undefined) request.stateBytes = stateBytes;
    const memoryBytes = options.memoryBytes ?? existing?.memoryBytes;
    if (memoryBytes !== undefined) request.memoryBytes = memoryBytes;
    if (backend !== undefined) request.backend = backend;
    const priority = options.priority ?? existing?.priority;
    if (priority !== undefined) request.priority = priority;
    this.record(kernelId, key, request);
    this.counters.counts.assignments++;
    this.changed('kernels');
    return existing ? { ok: true, device: key, previous: existing.device } : { ok: true, device: key };
  }

  /** Forgets a kernel. false when it was not placed. */
  removeKernel(kernelId: string): boolean {
    if (!this.registry.unassign(kernelId)) return false;
    this.counters.counts.removals++;
    this.changed('kernels');
    return true;
  }

  /**
   * Removes a device and plans where its kernels go (drainPlanner.ts). The plans take effect in
   * the registry at once; kernels with nowhere to go are orphans and are no longer assigned.
   */
  unregisterDevice(key: DeviceKey, options: UnregisterOptions = {}): DeviceUnregisterResult {
    if (!this.registry.has(key))
      return { device: key, success: false, error: `${key} is not registered`, migrations: [], orphans: [] };
    const leaving = this.registry.kernelsOn(key);
    this.registry.remove(key);
    this.changeVersion++;
    const aliases = (options.excludeSamePhysicalGpu ?? true) ? this.currentTopology.aliases(key) : [];
    const { migrations, orphans } = planDrain(key, leaving, aliases, {
      views: () => this.devices(),
      maxKernelsPerDevice: this.config.maxKernelsPerDevice,
      estimate: (from, to, bytes) => this.transferEstimate(from, to, bytes),
      move: (kernel, to) => {
        this.registry.assign({
          ...kernel,
          device: to,
          placedAt: this.now().toISOString(),
          memoryEpoch: this.registry.memoryEpoch(to),
        });
        this.changeVersion++;
      },
      orphan: (kernel) => {
        this.registry.unassign(kernel.kernelId);
        this.changeVersion++;
      },
    });
    const { counts } = this.counters;
    counts.unregisters++;
    counts.migrationsPlanned += migrations.length;
    counts.orphans += orphans.length;
    for (const orphan of orphans)
      this.logger?.warn(`kernel "${orphan.kernelId}" lost its device ${key}: ${orphan.reason}`);
    this.changed('devices');
    return { device: key, success: true, migrations, orphans };
  }

  /**
   * How long moving `bytes` from one device to another should take, over the topology's widest
   * route (host-staged only when enableP2P is off). undefined when the topology does not know a device.
   */
  transferEstimate(from: DeviceKey, to: DeviceKey, bytes: number): TransferEstimate | undefined {
    return transferEstimate(this.currentTopology, from, to, bytes, this.config.enableP2P);
  }

  stats(): CoordinatorStats {
    return this.counters.snapshot(this.devices(), this.registry.kernelCount);
  }

  /**
   * The devices the custom selector would be shown for this request, in registration order;
   * undefined when it would not be asked (no device can take the kernel, or the request's own
   * preferred device takes it). For an asynchronous selector that must be asked beforehand.
   */
  selectorCandidates(request: Readonly<PlacementRequest> = {}): readonly DeviceView[] | undefined {
    const pool = placementPool(this.devices(), request, this.config);
    return 'pool' in pool ? Object.freeze([...pool.pool]) : undefined;
  }

  private decide(request: Readonly<PlacementRequest>, commit: boolean): Placement {
    const found = placementPool(this.devices(), request, this.config);
    if ('error' in found) return { ok: false, error: found.error };
    if ('requested' in found) return { ok: true, device: found.requested.key, decidedBy: 'requestedDevice' };
    const { pool, preferredSkipped } = found;

    const sequence = (view: DeviceView): number => this.registry.sequence(view.key);
    let decidedBy: PlacementDecider = this.config.loadBalancing;
    let chosen: DeviceView | undefined;
    let selectorFallback: SelectorFailure | undefined;
    if (this.config.loadBalancing === 'custom') {
      const outcome = this.runSelector(pool, request);
      if ('device' in outcome) chosen = outcome.device;
      else {
        selectorFallback = outcome.failure;
        decidedBy = 'leastLoaded';
        chosen = pickByStrategy('leastLoaded', pool, sequence, this.lastRoundRobin);
      }
    } else {
      chosen = pickByStrategy(this.config.loadBalancing, pool, sequence, this.lastRoundRobin);
    }
    if (!chosen) return { ok: false, error: { code: 'NO_ELIGIBLE_DEVICE', message: 'no device can take the kernel' } };
    if (commit && decidedBy === 'roundRobin') this.lastRoundRobin = sequence(chosen);
    const placement: Placement = { ok: true, device: chosen.key, decidedBy };
    if (selectorFallback) placement.selectorFallback = selectorFallback;
    if (preferredSkipped !== undefined) placement.preferredSkipped = preferredSkipped;
    return placement;
  }

  /** Runs the custom selector and checks its answer; any failure is recorded and logged. */
  private runSelector(
    candidates: readonly DeviceView[],
    request: Readonly<PlacementRequest>,
  ): { device: DeviceView } | { failure: SelectorFailure } {
    const fail = (code: SelectorFailureCode, message: string): { failure: SelectorFailure } => {
      const failure: SelectorFailure = {
        code,
        message: `${message}; LeastLoaded placed the kernel instead`,
        at: this.now().toISOString(),
      };
      if (code === 'SELECTOR_DECLINED') this.counters.counts.selectorDeclined++;
      else {
        this.counters.counts.selectorFailures++;
        this.counters.lastSelectorFailure = failure;
        this.logger?.warn(`device selector: ${failure.message}`);
      }
      return { failure };
    };
    const selector = this.selector;
    if (!selector)
      return fail(
        'SELECTOR_NOT_SET',
        'ringkernel.loadBalancing is "custom" but no extension has set a device selector',
      );
    if (this.inSelector) return fail('SELECTOR_REENTERED', 'the device selector called the coordinator while choosing');
    this.counters.counts.selectorCalls++;
    let answer: SelectorAnswer;
    this.inSelector = true;
    try {
      answer = askSelector(selector, candidates, request, (key) => this.device(key), this.config.maxKernelsPerDevice);
    } finally {
      this.inSelector = false;
    }
    return 'device' in answer ? answer : fail(answer.code, answer.message);
  }

  private record(kernelId: string, key: DeviceKey, request: Readonly<PlacementRequest>): void {
    this.registry.assign({
      kernelId,
      device: key,
      stateBytes: request.stateBytes ?? 0,
      memoryBytes: request.memoryBytes ?? 0,
      priority: request.priority ?? 'normal',
      placedAt: this.now().toISOString(),
      memoryEpoch: this.registry.memoryEpoch(key),
      ...(request.backend !== undefined ? { backend: request.backend } : {}),
    });
  }

  private changed(kind: CoordinatorChangeKind): void {
    this.changeVersion++;
    const change: CoordinatorChange = { kind, version: this.changeVersion };
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch (error) {
        this.logger?.error(`coordinator change listener failed: ${errorMessage(error)}`);
      }
    }
  }
}
