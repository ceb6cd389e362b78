// The machine's topology as it travels to the client (ringkernel/topology) and as
// `ringkernel topology --json` prints it. Wire types: nothing of the engine is imported.
import type { BackendName } from './backendsWire';

type DeviceKey = string;

export type Basis = 'measured' | 'estimated';
export type LinkSource = 'nvml' | 'cuda-p2p' | 'host' | 'identity' | 'fallback';
export type PcieLevel = 'INTERNAL' | 'SINGLE' | 'MULTIPLE' | 'HOSTBRIDGE' | 'NODE' | 'SYSTEM' | 'UNKNOWN';
export type SameGpuMethod = 'uuid' | 'pciBusId' | 'pciDeviceId' | 'name' | 'instance';

export type Interconnect =
  | { kind: 'self' }
  | { kind: 'nvlink'; links: number; generation: number }
  | { kind: 'nvswitch'; links: number; generation: number }
  | { kind: 'pcie'; level: PcieLevel }
  | { kind: 'host'; level?: PcieLevel }
  | { kind: 'samePhysicalGpu'; method: SameGpuMethod };

export interface HostLink {
  toDeviceGBps: number;
  toHostGBps: number;
  latencyUs: number;
  basis: Basis;
  source: string;
}

export interface TopologyDevice {
  key: DeviceKey;
  backend: BackendName;
  index: number;
  name: string;
  vendor?: string;
  pciBusId?: string;
  uuid?: string;
  numaNode?: number;
  memoryTotalBytes?: number;
  memoryFreeBytes?: number;
  computeCapability?: { major: number; minor: number };
  physicalGpu: string;
  software: boolean;
  hostLink: HostLink;
}

export interface CudaP2PAttributes {
  performanceRank: number;
  accessSupported: boolean;
  nativeAtomicSupported: boolean;
}

export interface TopologyLink {
  from: DeviceKey;
  to: DeviceKey;
  interconnect: Interconnect;
  bandwidthGBps: number;
  latencyUs: number;
  basis: Basis;
  source: LinkSource;
  peer?: CudaP2PAttributes;
}

export interface NvSwitchPort {
  switchId: string;
  device: DeviceKey;
  links: number;
  generation: number;
}

export interface PhysicalGpu {
  id: string;
  name: string;
  devices: DeviceKey[];
  method?: SameGpuMethod;
}

export interface BisectionResult {
  bandwidthGBps: number;
  halves: [DeviceKey[], DeviceKey[]];
  exact: boolean;
}

export interface TopologyPathJson {
  from: DeviceKey;
  to: DeviceKey;
  devices: DeviceKey[];
  hops: number;
  bottleneckGBps: number;
  latencyUs: number;
  basis: Basis;
}

export interface TopologyJson {
  version: 1;
  machineKey: string;
  description?: string;
  devices: TopologyDevice[];
  /** Every directed link, with its interconnect in words ("NVLink4 ×18"). */
  links: (TopologyLink & { label: string })[];
  nvswitchPorts: NvSwitchPort[];
  notes: string[];
  physicalGpus: PhysicalGpu[];
  paths: TopologyPathJson[];
  bisection: BisectionResult;
  fullyConnected: boolean;
}
