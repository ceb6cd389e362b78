// The topology as data: devices, their host links, the directed links between them, NVSwitch
// ports, and the shapes of paths and splits the queries return. GpuTopology (gpuTopology.ts) holds
// one machine's; topologyRoutes.ts computes on it; topologyJson.ts and topologyMatrix.ts render it.
// Links are directed: a→b and b→a are separate records, because measured bandwidth differs by
// direction and CUDA peer access can be granted one way only. buildTopology emits both directions.
import type { BackendName } from '../backends/backendReport';
import type { CudaP2PAttributes, DeviceKey } from '../probe/probeRecords';
import type { Interconnect, SameGpuMethod } from './interconnect';

export type Basis = 'measured' | 'estimated';

/**
 * How a link's kind was determined: NVML's per-link state and remote ends; CUDA's peer access
 * (with NVML's PCIe level where known); no peer path, so through the host; the identity of a
 * physical GPU behind two backends; or a fallback guess because a probe was unavailable (the
 * topology's notes say which).
 */
export type LinkSource = 'nvml' | 'cuda-p2p' | 'host' | 'identity' | 'fallback';

/** A device's own link to system memory, per direction. */
export interface HostLink {
  toDeviceGBps: number;
  toHostGBps: number;
  /** One transfer's latency, µs. */
  latencyUs: number;
  basis: Basis;
  /** Where the figure comes from, e.g. "PCIe Gen5 x16 (sysfs)" or "measured". */
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
  /** Shared by every device that is this physical GPU ("gpu0", "gpu1", …). */
  physicalGpu: string;
  /** A software rasteriser: its "device memory" is system memory. */
  software: boolean;
  hostLink: HostLink;
}

export interface TopologyLink {
  from: DeviceKey;
  to: DeviceKey;
  interconnect: Interconnect;
  /** Per direction, from → to. */
  bandwidthGBps: number;
  latencyUs: number;
  basis: Basis;
  source: LinkSource;
  /** What CUDA said about peer access from → to, where it was asked. */
  peer?: CudaP2PAttributes;
}

/** NVLinks from one GPU to one NVSwitch chip; bisection needs them, as switch ports are shared. */
export interface NvSwitchPort {
  switchId: string;
  device: DeviceKey;
  links: number;
  generation: number;
}

export const TOPOLOGY_DATA_VERSION = 1;

/** The topology as plain data: what buildTopology produces and GpuTopology.fromData takes back. */
export interface TopologyData {
  version: typeof TOPOLOGY_DATA_VERSION;
  /** Identifies the machine's set of devices (see machineKey). */
  machineKey: string;
  description?: string;
  devices: TopologyDevice[];
  links: TopologyLink[];
  nvswitchPorts: NvSwitchPort[];
  /** What was estimated because a probe was unavailable, what was ambiguous, what was ignored. */
  notes: string[];
}

export interface TopologyPath {
  /** Source first, target last. */
  devices: DeviceKey[];
  links: TopologyLink[];
  hops: number;
  /** The narrowest link's bandwidth, GB/s. */
  bottleneckGBps: number;
  /** Sum of the links' latencies, µs. */
  latencyUs: number;
  /** measured only when every link on the path was. */
  basis: Basis;
}

export interface PathOptions {
  /** false: only host-mediated routes (RingKernel's enableP2P off). Default true. */
  allowPeer?: boolean;
  /** Bandwidths within this fraction count as equal, so a detour must be clearly wider. Default 0.05. */
  tolerance?: number;
  /** Devices a path must not pass through (a device being drained). */
  avoid?: readonly DeviceKey[];
}

export interface PhysicalGpu {
  id: string;
  name: string;
  /** The devices that are this GPU, CUDA first. */
  devices: DeviceKey[];
  /** How the devices were recognised as one GPU, when there are several. */
  method?: SameGpuMethod;
}

export interface BisectionOptions {
  /** The devices to split; default one device per physical hardware GPU (CUDA preferred). */
  devices?: readonly DeviceKey[];
  /** Also count transfers staged through system memory. Default false: peer links only. */
  includeHost?: boolean;
}

export interface BisectionResult {
  /** Per direction, GB/s, across the narrowest balanced split. */
  bandwidthGBps: number;
  /** The split that achieves it: traffic from halves[0] to halves[1]. */
  halves: [DeviceKey[], DeviceKey[]];
  /** true when every balanced split was tried (at most EXACT_BISECTION_LIMIT devices). */
  exact: boolean;
}
