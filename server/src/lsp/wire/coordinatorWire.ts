// The coordinator as it travels to the client (ringkernel/topology, drainDevice, previewPlacement,
// selectDevice). Wire types: nothing of the engine is imported (see backendsWire.ts).
import type { BackendName } from './backendsWire';

/** A device key: backend and index, e.g. "cuda:0". */
export type DeviceKey = string;

export type LoadBalancingStrategy =
  'firstAvailable' | 'leastLoaded' | 'roundRobin' | 'memoryBased' | 'computeCapability' | 'custom';

export interface CoordinatorConfig {
  loadBalancing: LoadBalancingStrategy;
  maxKernelsPerDevice: number;
  preferredDevices: readonly DeviceKey[];
  enableP2P: boolean;
}

export type MigrationPriority = 'low' | 'normal' | 'high' | 'critical';

/** One device as the coordinator sees it. */
export interface DeviceView {
  readonly key: DeviceKey;
  readonly backend: BackendName;
  readonly index: number;
  readonly name: string;
  readonly computeCapability?: { readonly major: number; readonly minor: number };
  readonly memoryTotalBytes?: number;
  readonly memoryFreeBytes?: number;
  readonly memoryPendingBytes: number;
  readonly memoryAvailableBytes?: number;
  readonly kernelCount: number;
  readonly kernels: readonly string[];
  /** kernelCount / maxKernelsPerDevice: 1 is full. */
  readonly load: number;
  readonly available: boolean;
  readonly unavailableReason?: string;
  readonly preferred: boolean;
  readonly numaNode?: number;
  readonly physicalGpu?: string;
}

export interface PlacementRequest {
  /** A backend the kernel needs (a PTX kernel needs 'cuda', a WGSL kernel 'webgpu'). */
  backend?: BackendName;
  /** Device memory the kernel will allocate; devices that report less free are skipped. */
  memoryBytes?: number;
  /** Tried before every other device when it can take the kernel. */
  preferredDevice?: DeviceKey;
  /** Devices not to use. */
  exclude?: readonly DeviceKey[];
  /** The kernel's checkpointed state, for migration estimates. */
  stateBytes?: number;
  priority?: MigrationPriority;
}

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
  message: string;
  rejected?: { device: DeviceKey; reason: string }[];
}

export type Placement =
  | {
      ok: true;
      device: DeviceKey;
      decidedBy: PlacementDecider;
      selectorFallback?: SelectorFailure;
      preferredSkipped?: string;
    }
  | { ok: false; error: PlacementError };
