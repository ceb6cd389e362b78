// The coordinator's vocabulary: its settings, the view of a device a strategy sees, placement
// requests and results, unregister plans, statistics and change events.
import type { BackendName } from '../backends/backendReport';
import type { Basis } from '../topology/topologyModel';
import type { DeviceKey } from '../probe/probeRecords';

export type LoadBalancingStrategy =
  'firstAvailable' | 'leastLoaded' | 'roundRobin' | 'memoryBased' | 'computeCapability' | 'custom';
export const LOAD_BALANCING_STRATEGIES: readonly LoadBalancingStrategy[] = [
  'firstAvailable',
  'leastLoaded',
  'roundRobin',
  'memoryBased',
  'computeCapability',
  'custom',
];

export interface CoordinatorConfig {
  /** `ringkernel.loadBalancing`. */
  loadBalancing: LoadBalancingStrategy;
  /** `ringkernel.maxKernelsPerDevice`: a device holding this many kernels takes no more. */
  maxKernelsPerDevice: number;
  /** `ringkernel.preferredDevices`: device keys tried first, in any order; others when none of them can take a kernel. */
  preferredDevices: readonly DeviceKey[];
  /** `ringkernel.enableP2P`: false makes every transfer estimate a host-staged route. */
  enableP2P: boolean;
}

export const DEFAULT_COORDINATOR_CONFIG: Readonly<CoordinatorConfig> = Object.freeze({
  loadBalancing: 'leastLoaded',
  maxKernelsPerDevice: 64,
  preferredDevices: Object.freeze<DeviceKey[]>([]),
  enableP2P: true,
});

export type MigrationPriority = 'low' | 'normal' | 'high' | 'critical';
export const MIGRATION_PRIORITIES: readonly MigrationPriority[] = ['low', 'normal', 'high', 'critical'];

/** What a device looks like to a strategy, a custom selector, the tree view. Frozen: a selector cannot change it. */
export interface DeviceView {
  readonly key: DeviceKey;
  readonly backend: BackendName;
  readonly index: number;
  readonly name: string;
  readonly computeCapability?: { readonly major: number; readonly minor: number };
  readonly memoryTotalBytes?: number;
  /** As the backend last reported it. */
  readonly memoryFreeBytes?: number;
  /** Declared by kernels placed here since that report (the report does not know them yet). */
  readonly memoryPendingBytes: number;
  /** memoryFreeBytes − memoryPendingBytes, never below 0; absent when the backend does not report free memory. */
  readonly memoryAvailableBytes?: number;
  readonly kernelCount: number;
  /** Kernel ids, in the order they were placed here. */
  readonly kernels: readonly string[];
  /** kernelCount / maxKernelsPerDevice: 1 is full (above 1 after the limit was lowered). */
  readonly load: number;
  /** Whether a kernel with no special needs can be placed here now. */
  readonly available: boolean;
  /** Why not, when not available. */
  readonly unavailableReason?: string;
  /** Listed in `ringkernel.preferredDevices`. */
  readonly preferred: boolean;
  readonly numaNode?: number;
  readonly physicalGpu?: string;
}

export interface PlacementRequest {
  /** A backend the kernel needs (a PTX kernel needs 'cuda', a WGSL kernel 'webgpu'). */
  backend?: BackendName;
  /** Device memory the kernel will allocate; devices that report less free are skipped. */
  memoryBytes?: number;
  /** Tried before every other device when it can take the kernel (the manifest's `device`). */
  preferredDevice?: DeviceKey;
  /** Devices not to use. */
  exclude?: readonly DeviceKey[];
  /** The kernel's checkpointed state, for migration estimates. */
  stateBytes?: number;
  priority?: MigrationPriority;
}

/**
 * A custom strategy: picks one of the candidates (all of which can take the kernel) by key, or
 * returns undefined to leave the choice to LeastLoaded. It must be synchronous and must not call
 * the coordinator. A selector that throws, or returns anything but a candidate's key, is recorded
 * as a failure in the statistics and LeastLoaded places the kernel instead.
 */
export type DeviceSelector = (
  candidates: readonly DeviceView[],
  request: Readonly<PlacementRequest>,
) => string | undefined;

export type SelectorFailureCode =
  | 'SELECTOR_NOT_SET'
  | 'SELECTOR_THREW'
  | 'SELECTOR_RETURNED_INVALID'
  | 'SELECTOR_RETURNED_MISSING'
  | 'SELECTOR_RETURNED_INELIGIBLE'
  | 'SELECTOR_REENTERED'
  | 'SELECTOR_DECLINED';

export interface SelectorFailure {
  code: SelectorFailureCode;
  message: string;
  /** ISO time. */
  at: string;
}

/** Which rule chose the device: a strategy, or the request's own preferred device. */
export type PlacementDecider = LoadBalancingStrategy | 'requestedDevice';

export type PlacementErrorCode =
  | 'NO_DEVICES'
  | 'NO_ELIGIBLE_DEVICE'
  | 'KERNEL_ALREADY_PLACED'
  | 'INVALID_REQUEST'
  | 'UNKNOWN_DEVICE'
  | 'DEVICE_FULL'
  | 'UNKNOWN_KERNEL';

export interface PlacementError {
  code: PlacementErrorCode;
  /** What happened, to what, and what to do next. */
  message: string;
  /** Each registered device and why it could not take the kernel. */
  rejected?: { device: DeviceKey; reason: string }[];
}

export type Placement =
  | {
      ok: true;
      device: DeviceKey;
      decidedBy: PlacementDecider;
      /** The custom selector's failure or decline, when LeastLoaded decided instead. */
      selectorFallback?: SelectorFailure;
      /** Why the requested or configured preferred devices were passed over. */
      preferredSkipped?: string;
    }
  | { ok: false; error: PlacementError };

export interface KernelAssignment {
  kernelId: string;
  device: DeviceKey;
  stateBytes: number;
  memoryBytes: number;
  backend?: BackendName;
  priority: MigrationPriority;
  /** ISO time of placement on this device. */
  placedAt: string;
}

export interface KernelOptions {
  stateBytes?: number;
  memoryBytes?: number;
  /** The backend the kernel needs; migration plans respect it. */
  backend?: BackendName;
  priority?: MigrationPriority;
}

export interface TransferEstimate {
  /** Source first, target last. */
  route: DeviceKey[];
  hops: number;
  /** Labels of the links, e.g. ["NVLink4 ×18"]. */
  interconnects: string[];
  bottleneckGBps: number;
  latencyUs: number;
  basis: Basis;
  bytes: number;
  /** Store-and-forward: per hop, bytes over that link's bandwidth plus its latency. */
  seconds: number;
}

export interface KernelMigrationPlan {
  kernelId: string;
  from: DeviceKey;
  to: DeviceKey;
  priority: MigrationPriority;
  stateBytes: number;
  /** undefined when the topology does not know one of the devices. */
  transfer?: TransferEstimate;
}

export interface OrphanedKernel {
  kernelId: string;
  from: DeviceKey;
  /** Why no device can take it, e.g. "no other cuda device has room". */
  reason: string;
}

export interface DeviceUnregisterResult {
  device: DeviceKey;
  success: boolean;
  error?: string;
  /** Kernels planned onto other devices, most urgent first; they are already counted there. */
  migrations: KernelMigrationPlan[];
  /** Kernels with nowhere to go; no longer assigned to any device. */
  orphans: OrphanedKernel[];
}

export interface CoordinatorStats {
  deviceCount: number;
  kernelCount: number;
  /** Successful place() calls. */
  placements: number;
  placementFailures: number;
  /** Successful placements by the rule that decided them. */
  placementsByDecider: Record<PlacementDecider, number>;
  /** Placements that skipped the requested or configured preferred devices. */
  preferredFallbacks: number;
  selectorCalls: number;
  /** The selector threw or returned something other than a candidate's key (LeastLoaded decided). */
  selectorFailures: number;
  /** The selector returned undefined (LeastLoaded decided, by the selector's choice). */
  selectorDeclined: number;
  lastSelectorFailure?: SelectorFailure;
  /** Explicit assignKernel calls that succeeded. */
  assignments: number;
  removals: number;
  unregisters: number;
  migrationsPlanned: number;
  orphans: number;
  memoryTotalBytes: number;
  memoryFreeBytes: number;
}

export type CoordinatorChangeKind = 'devices' | 'kernels' | 'config' | 'topology' | 'selector';

export interface CoordinatorChange {
  kind: CoordinatorChangeKind;
  /** The coordinator's change counter after this change. */
  version: number;
}

export interface Disposable {
  dispose(): void;
}
