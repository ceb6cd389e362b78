// Which kernel runs on which device: a registry of the backends' devices, placement by strategy,
// explicit assignment, and planning where a removed device's kernels go. It decides and records;
// moving a kernel's memory is the migrator's job, which reports back with moveKernel or
// removeKernel. Per-device kernel counts are derived from the assignment map, so they cannot drift
// or go negative; statistics only ever count up.
import type { DeviceInfo } from '../backends/backend';
import type { BackendName, BackendReport } from '../backends/backendReport';
import { errorMessage, type Logger } from '../logger';
import { GpuTopology } from '../topology/gpuTopology';
import { interconnectLabel, round } from '../topology/interconnect';
import { deviceKey, type DeviceKey } from '../probe/probeRecords';
import {
  DEFAULT_COORDINATOR_CONFIG, LOAD_BALANCING_STRATEGIES, MIGRATION_PRIORITIES, normalizeCoordinatorConfig,
  type CoordinatorChange, type CoordinatorChangeKind, type CoordinatorConfig, type CoordinatorStats, type DeviceSelector,
  type DeviceUnregisterResult, type DeviceView, type Disposable, type KernelAssignment, type KernelMigrationPlan,
  type KernelOptions, type OrphanedKernel, type Placement, type PlacementDecider, type PlacementError, type PlacementRequest,
  type SelectorFailure, type SelectorFailureCode, type TransferEstimate,
} from './coordinatorTypes';
import { describeReturned, ineligibleReason, pickByStrategy } from './placementStrategies';

interface RegisteredDevice {
  info: DeviceInfo;
  /** Registration order; kept when a device is re-registered. */
  sequence: number;
  /** Bumped by each memory report: kernels placed under an older epoch are in the report. */
  memoryEpoch: number;
}

interface KernelRecord extends KernelAssignment {
  memoryEpoch: number;
}

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

export interface MigrationOption {
  device: DeviceView;
  eligible: boolean;
  reason?: string;
  transfer?: TransferEstimate;
}

export interface DeviceSyncResult {
  added: DeviceKey[];
  updated: DeviceKey[];
  removed: DeviceUnregisterResult[];
}

const PRIORITY_RANK: Record<string, number> = Object.fromEntries(MIGRATION_PRIORITIES.map((p, i) => [p, i]));

export class MultiGpuCoordinator {
  private config: CoordinatorConfig;
  private readonly registry = new Map<DeviceKey, RegisteredDevice>();
  private readonly assignments = new Map<string, KernelRecord>();
  /** The same records by device; only setAssignment and deleteAssignment change either map. */
  private readonly byDevice = new Map<DeviceKey, Map<string, KernelRecord>>();
  private readonly listeners = new Set<(change: CoordinatorChange) => void>();
  private readonly logger: Logger | undefined;
  private readonly now: () => Date;
  private currentTopology = GpuTopology.empty('no topology discovered yet');
  private selector: DeviceSelector | undefined;
  private inSelector = false;
  private nextSequence = 0;
  private lastRoundRobin = -1;
  private changeVersion = 0;
  private viewCache: { version: number; views: DeviceView[] } | undefined;
  private readonly counters = {
    placements: 0, placementFailures: 0, preferredFallbacks: 0, selectorCalls: 0, selectorFailures: 0, selectorDeclined: 0,
    assignments: 0, removals: 0, unregisters: 0, migrationsPlanned: 0, orphans: 0,
  };
  private readonly byDecider: Record<PlacementDecider, number> = {
    firstAvailable: 0, leastLoaded: 0, roundRobin: 0, memoryBased: 0, computeCapability: 0, custom: 0, requestedDevice: 0,
  };
  private lastSelectorFailure: SelectorFailure | undefined;

  constructor(config: Partial<CoordinatorConfig> = {}, options: CoordinatorOptions = {}) {
    const { config: normal, issues } = normalizeCoordinatorConfig(config);
    this.config = normal;
    this.logger = options.logger;
    this.now = options.now ?? ((): Date => new Date());
    for (const issue of issues) this.logger?.warn(issue);
  }

  /** The change counter: it increases with every change, so a view can tell whether to refresh. */
  get version(): number {
    return this.changeVersion;
  }

  /** Called after every change; a listener that throws is logged and does not stop the others. */
  onDidChange(listener: (change: CoordinatorChange) => void): Disposable {
    this.listeners.add(listener);
    return { dispose: () => { this.listeners.delete(listener); } };
  }

  getConfig(): Readonly<CoordinatorConfig> {
    return { ...this.config, preferredDevices: [...this.config.preferredDevices] };
  }

  /** Applies settings (from the editor: any shape). Returns what was wrong with them; valid parts apply. */
  configure(settings: Readonly<Record<string, unknown>>): string[] {
    const { config, issues } = normalizeCoordinatorConfig(settings, this.config);
    this.config = config;
    for (const issue of issues) this.logger?.warn(issue);
    this.changed('config');
    return issues;
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
    const key = deviceKey(info.backend, info.index);
    const existing = this.registry.get(key);
    this.registry.set(key, { info: { ...info }, sequence: existing?.sequence ?? this.nextSequence++, memoryEpoch: (existing?.memoryEpoch ?? 0) + 1 });
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
    for (const [key, device] of [...this.registry]) {
      if (reported.has(device.info.backend) && !present.has(key)) result.removed.push(this.unregisterDevice(key, options));
    }
    return result;
  }

  /** Records a new free-memory report for a device. false when the device is not registered. */
  updateDeviceMemory(key: DeviceKey, freeBytes: number, totalBytes?: number): boolean {
    const device = this.registry.get(key);
    if (!device || !(freeBytes >= 0)) return false;
    device.info = { ...device.info, memoryFreeBytes: freeBytes, ...(totalBytes !== undefined && totalBytes >= 0 ? { memoryTotalBytes: totalBytes } : {}) };
    device.memoryEpoch++;
    this.changed('devices');
    return true;
  }

  /** Every registered device, in registration order. */
  devices(): readonly DeviceView[] {
    if (this.viewCache?.version !== this.changeVersion) this.viewCache = { version: this.changeVersion, views: this.buildViews() };
    return this.viewCache.views;
  }

  device(key: DeviceKey): DeviceView | undefined {
    return this.devices().find((view) => view.key === key);
  }

  kernels(): KernelAssignment[] {
    return [...this.assignments.values()].map(publicAssignment);
  }

  kernel(kernelId: string): KernelAssignment | undefined {
    const record = this.assignments.get(kernelId);
    return record ? publicAssignment(record) : undefined;
  }

  kernelDevice(kernelId: string): DeviceKey | undefined {
    return this.assignments.get(kernelId)?.device;
  }

  kernelsOn(key: DeviceKey): string[] {
    return [...(this.byDevice.get(key)?.keys() ?? [])];
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
    const existing = this.assignments.get(kernelId);
    if (existing) {
      this.counters.placementFailures++;
      return { ok: false, error: { code: 'KERNEL_ALREADY_PLACED', message: `kernel "${kernelId}" is already on ${existing.device}; remove it or migrate it instead of placing it again` } };
    }
    const placement = this.decide(request, true);
    if (!placement.ok) {
      this.counters.placementFailures++;
      return placement;
    }
    this.record(kernelId, placement.device, request);
    this.counters.placements++;
    this.byDecider[placement.decidedBy]++;
    if (placement.preferredSkipped !== undefined) this.counters.preferredFallbacks++;
    this.changed('kernels');
    return placement;
  }

  /**
   * Puts a kernel on a named device (the manifest pins it there, or a migration finished). A kernel
   * already elsewhere moves; a full device refuses unless `force`.
   */
  assignKernel(kernelId: string, key: DeviceKey, options: KernelOptions & { force?: boolean } = {}): AssignResult {
    const view = this.device(key);
    if (!view) return { ok: false, error: { code: 'UNKNOWN_DEVICE', message: `cannot put kernel "${kernelId}" on ${key}: no such device is registered` } };
    const existing = this.assignments.get(kernelId);
    if (existing?.device === key) return { ok: true, device: key, previous: key };
    const needs: PlacementRequest = {};
    const backend = options.backend ?? existing?.backend;
    if (backend !== undefined) needs.backend = backend;
    const reason = ineligibleReason(view, needs, this.config.maxKernelsPerDevice);
    if (reason !== undefined && !options.force) {
      return { ok: false, error: { code: reason.startsWith('full') ? 'DEVICE_FULL' : 'NO_ELIGIBLE_DEVICE', message: `cannot put kernel "${kernelId}" on ${key}: ${reason}` } };
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
    this.counters.assignments++;
    this.changed('kernels');
    return existing ? { ok: true, device: key, previous: existing.device } : { ok: true, device: key };
  }

  /**
   * A migration finished: the kernel now runs on `to`. With `expectedFrom`, refuses when the
   * kernel is not where the migrator thinks it is (so a stale report cannot move it twice).
   */
  moveKernel(kernelId: string, to: DeviceKey, expectedFrom?: DeviceKey): AssignResult {
    const existing = this.assignments.get(kernelId);
    if (!existing) return { ok: false, error: { code: 'UNKNOWN_KERNEL', message: `cannot move kernel "${kernelId}": it is not placed on any device` } };
    if (expectedFrom !== undefined && existing.device !== expectedFrom) {
      return { ok: false, error: { code: 'UNKNOWN_KERNEL', message: `cannot move kernel "${kernelId}" from ${expectedFrom}: it is on ${existing.device}` } };
    }
    return this.assignKernel(kernelId, to, { force: true });
  }

  /** Forgets a kernel. false when it was not placed. */
  removeKernel(kernelId: string): boolean {
    if (!this.deleteAssignment(kernelId)) return false;
    this.counters.removals++;
    this.changed('kernels');
    return true;
  }

  /**
   * Removes a device and plans where its kernels go: most urgent first, each to the least loaded
   * device that can take it (its backend, its memory, the kernel limit, counting the plans made so
   * far), ties to the quickest transfer from the removed device over the topology. The plans take effect in the registry
   * at once; kernels with nowhere to go are orphans and are no longer assigned.
   */
  unregisterDevice(key: DeviceKey, options: UnregisterOptions = {}): DeviceUnregisterResult {
    if (!this.registry.has(key)) return { device: key, success: false, error: `${key} is not registered`, migrations: [], orphans: [] };
    const leaving = [...(this.byDevice.get(key)?.values() ?? [])]
      .sort((a, b) => (PRIORITY_RANK[b.priority] ?? 0) - (PRIORITY_RANK[a.priority] ?? 0) || b.stateBytes - a.stateBytes || a.kernelId.localeCompare(b.kernelId));
    this.registry.delete(key);
    this.changeVersion++;
    const aliases = (options.excludeSamePhysicalGpu ?? true) ? this.currentTopology.aliases(key) : [];
    const migrations: KernelMigrationPlan[] = [];
    const orphans: OrphanedKernel[] = [];
    for (const kernel of leaving) {
      const request: PlacementRequest = { exclude: aliases, memoryBytes: kernel.memoryBytes };
      if (kernel.backend !== undefined) request.backend = kernel.backend;
      const views = this.devices();
      const candidates = views.filter((v) => ineligibleReason(v, request, this.config.maxKernelsPerDevice) === undefined);
      const target = this.quickestAmongLeastLoaded(key, candidates, kernel.stateBytes);
      if (!target) {
        this.deleteAssignment(kernel.kernelId);
        this.changeVersion++;
        orphans.push({ kernelId: kernel.kernelId, from: key, reason: this.orphanReason(kernel, views, aliases) });
        continue;
      }
      const plan: KernelMigrationPlan = { kernelId: kernel.kernelId, from: key, to: target.key, priority: kernel.priority, stateBytes: kernel.stateBytes };
      const transfer = this.transferEstimate(key, target.key, kernel.stateBytes);
      if (transfer) plan.transfer = transfer;
      migrations.push(plan);
      this.setAssignment({ ...kernel, device: target.key, placedAt: this.now().toISOString(), memoryEpoch: this.registry.get(target.key)?.memoryEpoch ?? 0 });
      this.changeVersion++;
    }
    this.counters.unregisters++;
    this.counters.migrationsPlanned += migrations.length;
    this.counters.orphans += orphans.length;
    for (const orphan of orphans) this.logger?.warn(`kernel "${orphan.kernelId}" lost its device ${key}: ${orphan.reason}`);
    this.changed('devices');
    return { device: key, success: true, migrations, orphans };
  }

  /** Each other device as a migration target for a kernel: whether it can take it, and the route. */
  migrationOptions(kernelId: string): MigrationOption[] {
    const kernel = this.assignments.get(kernelId);
    if (!kernel) return [];
    const request: PlacementRequest = { memoryBytes: kernel.memoryBytes };
    if (kernel.backend !== undefined) request.backend = kernel.backend;
    return this.devices().filter((v) => v.key !== kernel.device).map((device) => {
      const reason = ineligibleReason(device, request, this.config.maxKernelsPerDevice);
      const option: MigrationOption = { device, eligible: reason === undefined };
      if (reason !== undefined) option.reason = reason;
      const transfer = this.transferEstimate(kernel.device, device.key, kernel.stateBytes);
      if (transfer) option.transfer = transfer;
      return option;
    });
  }

  /**
   * How long moving `bytes` from one device to another should take, over the topology's widest
   * route (host-staged only when enableP2P is off). undefined when the topology does not know a device.
   */
  transferEstimate(from: DeviceKey, to: DeviceKey, bytes: number): TransferEstimate | undefined {
    const path = this.currentTopology.bestPath(from, to, { allowPeer: this.config.enableP2P });
    if (!path) return undefined;
    const size = Math.max(0, bytes);
    const seconds = path.links.reduce((sum, link) => sum + size / (link.bandwidthGBps * 1e9) + link.latencyUs * 1e-6, 0);
    return {
      route: path.devices,
      hops: path.hops,
      interconnects: path.links.map((link) => interconnectLabel(link.interconnect)),
      bottleneckGBps: path.bottleneckGBps,
      latencyUs: path.latencyUs,
      basis: path.basis,
      bytes: size,
      seconds,
    };
  }

  stats(): CoordinatorStats {
    const views = this.devices();
    const stats: CoordinatorStats = {
      deviceCount: views.length,
      kernelCount: this.assignments.size,
      ...this.counters,
      placementsByDecider: { ...this.byDecider },
      memoryTotalBytes: views.reduce((sum, v) => sum + (v.memoryTotalBytes ?? 0), 0),
      memoryFreeBytes: views.reduce((sum, v) => sum + (v.memoryAvailableBytes ?? 0), 0),
    };
    if (this.lastSelectorFailure) stats.lastSelectorFailure = { ...this.lastSelectorFailure };
    return stats;
  }

  /**
   * The devices the custom selector would be shown for this request, in registration order;
   * undefined when it would not be asked (no device can take the kernel, or the request's own
   * preferred device takes it). For an asynchronous selector that must be asked beforehand.
   */
  selectorCandidates(request: Readonly<PlacementRequest> = {}): readonly DeviceView[] | undefined {
    const pool = this.poolFor(request);
    return 'pool' in pool ? Object.freeze([...pool.pool]) : undefined;
  }

  /** Where a strategy may choose from: an error, the request's own device, or the pool. */
  private poolFor(request: Readonly<PlacementRequest>): { error: PlacementError } | { requested: DeviceView } | { pool: DeviceView[]; preferredSkipped?: string } {
    const invalid = invalidRequest(request);
    if (invalid !== undefined) return { error: { code: 'INVALID_REQUEST', message: invalid } };
    const views = this.devices();
    if (views.length === 0) {
      return { error: { code: 'NO_DEVICES', message: 'no GPU device is registered: no backend found a device (see `ringkernel devices` for why)' } };
    }
    const max = this.config.maxKernelsPerDevice;
    const rejected: { device: DeviceKey; reason: string }[] = [];
    const eligible = views.filter((v) => {
      const reason = ineligibleReason(v, request, max);
      if (reason !== undefined) rejected.push({ device: v.key, reason });
      return reason === undefined;
    });
    if (eligible.length === 0) {
      const needs = [request.backend && `a ${request.backend} device`, request.memoryBytes !== undefined && `${request.memoryBytes} bytes free`].filter(Boolean).join(' with ');
      return { error: { code: 'NO_ELIGIBLE_DEVICE', message: `no device can take the kernel${needs ? ` (it needs ${needs})` : ''}: ${rejected.map((r) => `${r.device} ${r.reason}`).join('; ')}`, rejected } };
    }

    let preferredSkipped: string | undefined;
    if (request.preferredDevice !== undefined) {
      const wanted = eligible.find((v) => v.key === request.preferredDevice);
      if (wanted) return { requested: wanted };
      const why = rejected.find((r) => r.device === request.preferredDevice)?.reason ?? 'not registered';
      preferredSkipped = `requested device ${request.preferredDevice}: ${why}`;
    }
    let pool = eligible;
    if (this.config.preferredDevices.length > 0) {
      const preferred = eligible.filter((v) => v.preferred);
      if (preferred.length > 0) pool = preferred;
      else preferredSkipped = [preferredSkipped, `no preferred device (${this.config.preferredDevices.join(', ')}) can take it`].filter(Boolean).join('; ');
    }
    return preferredSkipped === undefined ? { pool } : { pool, preferredSkipped };
  }

  private decide(request: Readonly<PlacementRequest>, commit: boolean): Placement {
    const found = this.poolFor(request);
    if ('error' in found) return { ok: false, error: found.error };
    if ('requested' in found) return { ok: true, device: found.requested.key, decidedBy: 'requestedDevice' };
    const { pool, preferredSkipped } = found;

    const sequence = (view: DeviceView): number => this.registry.get(view.key)?.sequence ?? 0;
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
  private runSelector(candidates: readonly DeviceView[], request: Readonly<PlacementRequest>): { device: DeviceView } | { failure: SelectorFailure } {
    const fail = (code: SelectorFailureCode, message: string): { failure: SelectorFailure } => {
      const failure: SelectorFailure = { code, message: `${message}; LeastLoaded placed the kernel instead`, at: this.now().toISOString() };
      if (code === 'SELECTOR_DECLINED') this.counters.selectorDeclined++;
      else {
        this.counters.selectorFailures++;
        this.lastSelectorFailure = failure;
        this.logger?.warn(`device selector: ${failure.message}`);
      }
      return { failure };
    };
    const selector = this.selector;
    if (!selector) return fail('SELECTOR_NOT_SET', 'ringkernel.loadBalancing is "custom" but no extension has set a device selector');
    if (this.inSelector) return fail('SELECTOR_REENTERED', 'the device selector called the coordinator while choosing');
    this.counters.selectorCalls++;
    let returned: unknown;
    this.inSelector = true;
    try {
      returned = selector(Object.freeze([...candidates]), Object.freeze({ ...request }));
    } catch (error) {
      return fail('SELECTOR_THREW', `the device selector threw: ${errorMessage(error)}`);
    } finally {
      this.inSelector = false;
    }
    if (returned === undefined) return fail('SELECTOR_DECLINED', 'the device selector chose no device');
    if (typeof returned !== 'string') {
      return fail('SELECTOR_RETURNED_INVALID', `the device selector returned ${describeReturned(returned)}; it must return a candidate's key such as "${candidates[0]?.key ?? 'cuda:0'}" (synchronously)`);
    }
    const device = candidates.find((c) => c.key === returned);
    if (device) return { device };
    if (!this.registry.has(returned)) return fail('SELECTOR_RETURNED_MISSING', `the device selector returned "${returned}", which is not a registered device`);
    const view = this.device(returned);
    const why = (view && ineligibleReason(view, request, this.config.maxKernelsPerDevice)) ?? 'it is not among the candidates (not a preferred device)';
    return fail('SELECTOR_RETURNED_INELIGIBLE', `the device selector returned "${returned}", which cannot take this kernel: ${why}`);
  }

  private record(kernelId: string, key: DeviceKey, request: Readonly<PlacementRequest>): void {
    const record: KernelRecord = {
      kernelId,
      device: key,
      stateBytes: request.stateBytes ?? 0,
      memoryBytes: request.memoryBytes ?? 0,
      priority: request.priority ?? 'normal',
      placedAt: this.now().toISOString(),
      memoryEpoch: this.registry.get(key)?.memoryEpoch ?? 0,
    };
    if (request.backend !== undefined) record.backend = request.backend;
    this.setAssignment(record);
  }

  /** The least loaded candidate; among equals, the one the kernel's state reaches soonest from `from`. */
  private quickestAmongLeastLoaded(from: DeviceKey, candidates: readonly DeviceView[], stateBytes: number): DeviceView | undefined {
    let chosen: { view: DeviceView; seconds: number } | undefined;
    for (const view of candidates) {
      const seconds = this.transferEstimate(from, view.key, stateBytes)?.seconds ?? Number.POSITIVE_INFINITY;
      if (!chosen || view.kernelCount < chosen.view.kernelCount || (view.kernelCount === chosen.view.kernelCount && seconds < chosen.seconds)) chosen = { view, seconds };
    }
    return chosen?.view;
  }

  private orphanReason(kernel: KernelRecord, views: readonly DeviceView[], aliases: readonly DeviceKey[]): string {
    const kind = kernel.backend === undefined ? 'other' : `other ${kernel.backend}`;
    const fits = (v: DeviceView): boolean => kernel.backend === undefined || v.backend === kernel.backend;
    const sameKind = views.filter((v) => fits(v) && !aliases.includes(v.key));
    const excluded = views.filter((v) => fits(v) && aliases.includes(v.key)).map((v) => v.key);
    if (sameKind.length === 0) return `no ${kind} device is registered${excluded.length > 0 ? ` (the same GPU through ${excluded.join(', ')} is excluded)` : ''}`;
    return `no ${kind} device can take it: ${sameKind.map((v) => `${v.key} ${ineligibleReason(v, { memoryBytes: kernel.memoryBytes }, this.config.maxKernelsPerDevice) ?? 'busy'}`).join('; ')}`;
  }

  private setAssignment(record: KernelRecord): void {
    this.deleteAssignment(record.kernelId);
    this.assignments.set(record.kernelId, record);
    const onDevice = this.byDevice.get(record.device) ?? new Map<string, KernelRecord>();
    onDevice.set(record.kernelId, record);
    this.byDevice.set(record.device, onDevice);
  }

  private deleteAssignment(kernelId: string): boolean {
    const record = this.assignments.get(kernelId);
    if (!record) return false;
    this.assignments.delete(kernelId);
    const onDevice = this.byDevice.get(record.device);
    onDevice?.delete(kernelId);
    if (onDevice?.size === 0) this.byDevice.delete(record.device);
    return true;
  }

  private buildViews(): DeviceView[] {
    const preferred = new Set(this.config.preferredDevices);
    const max = this.config.maxKernelsPerDevice;
    return [...this.registry.entries()].sort(([, a], [, b]) => a.sequence - b.sequence).map(([key, device]) => {
      const kernels = [...(this.byDevice.get(key)?.values() ?? [])];
      const info = device.info;
      const pending = kernels.filter((k) => k.memoryEpoch === device.memoryEpoch).reduce((sum, k) => sum + k.memoryBytes, 0);
      const topo = this.currentTopology.device(key);
      const view: { -readonly [K in keyof DeviceView]: DeviceView[K] } = {
        key, backend: info.backend, index: info.index, name: info.name,
        memoryPendingBytes: pending,
        kernelCount: kernels.length,
        kernels: Object.freeze(kernels.map((k) => k.kernelId)),
        load: round(kernels.length / max, 4),
        available: true,
        preferred: preferred.has(key),
      };
      if (info.computeCapability) view.computeCapability = Object.freeze({ ...info.computeCapability });
      if (info.memoryTotalBytes !== undefined) view.memoryTotalBytes = info.memoryTotalBytes;
      if (info.memoryFreeBytes !== undefined) {
        view.memoryFreeBytes = info.memoryFreeBytes;
        view.memoryAvailableBytes = Math.max(0, info.memoryFreeBytes - pending);
      }
      if (topo?.numaNode !== undefined) view.numaNode = topo.numaNode;
      if (topo) view.physicalGpu = topo.physicalGpu;
      const reason = ineligibleReason(view, {}, max);
      if (reason !== undefined) { view.available = false; view.unavailableReason = reason; }
      return Object.freeze(view);
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

function publicAssignment(record: KernelRecord): KernelAssignment {
  const { memoryEpoch: _epoch, ...assignment } = record;
  return assignment;
}

function invalidRequest(request: Readonly<PlacementRequest>): string | undefined {
  if (request.memoryBytes !== undefined && !(Number.isFinite(request.memoryBytes) && request.memoryBytes >= 0)) {
    return `memoryBytes must be a non-negative number of bytes, not ${String(request.memoryBytes)}`;
  }
  if (request.stateBytes !== undefined && !(Number.isFinite(request.stateBytes) && request.stateBytes >= 0)) {
    return `stateBytes must be a non-negative number of bytes, not ${String(request.stateBytes)}`;
  }
  if (request.priority !== undefined && !MIGRATION_PRIORITIES.includes(request.priority)) return `priority must be one of ${MIGRATION_PRIORITIES.join(', ')}`;
  return undefined;
}

/** The settings' names and defaults, for the extension manifest and the CLI. */
export const COORDINATOR_SETTINGS = {
  loadBalancing: { key: 'ringkernel.loadBalancing', values: LOAD_BALANCING_STRATEGIES, default: DEFAULT_COORDINATOR_CONFIG.loadBalancing },
  maxKernelsPerDevice: { key: 'ringkernel.maxKernelsPerDevice', default: DEFAULT_COORDINATOR_CONFIG.maxKernelsPerDevice },
  preferredDevices: { key: 'ringkernel.preferredDevices', default: DEFAULT_COORDINATOR_CONFIG.preferredDevices },
  enableP2P: { key: 'ringkernel.enableP2P', default: DEFAULT_COORDINATOR_CONFIG.enableP2P },
} as const;
