// What hardware probes report about a machine, before any interpretation. The CUDA addon, NVML,
// sysfs and Dawn fill these records on a real machine; tests fill them from JSON fixtures of real
// machine shapes. buildTopology() turns them into a GpuTopology.
import type { BackendName } from '../backends/backendReport';

/** A device's name across the engine: backend and that backend's ordinal, e.g. 'cuda:0', 'webgpu:1'. */
export type DeviceKey = string;

export function deviceKey(backend: BackendName, index: number): DeviceKey {
  return `${backend}:${index}`;
}

/** What a backend reports about one of its devices. */
export interface DeviceProbe {
  key: DeviceKey;
  backend: BackendName;
  /** The backend's ordinal (CUDA ordinal, Dawn adapter index). */
  index: number;
  name: string;
  vendor?: string;
  /** dddd:bb:dd.f; NVML's 8-digit domain form is accepted and normalised. */
  pciBusId?: string;
  /** GPU-xxxxxxxx-... as nvidia-smi prints it, or a bare 32-hex-digit UUID (Vulkan deviceUUID). */
  uuid?: string;
  /** PCI vendor and device ids where the backend says them (Dawn's vendorID/deviceID). */
  pciVendorId?: number;
  pciDeviceId?: number;
  /** NUMA node of the device's PCIe attachment (sysfs numa_node; -1 there means unknown). */
  numaNode?: number;
  memoryTotalBytes?: number;
  memoryFreeBytes?: number;
  computeCapability?: { major: number; minor: number };
  /** Peak device memory bandwidth (CUDA: from the memory clock and bus width). */
  memoryBandwidthGBps?: number;
  /** The negotiated PCIe link to the host (sysfs current_link_speed / current_link_width). */
  pcieLink?: { generation: number; width: number };
  /** Dawn's adapter type; 'cpu' is a software rasteriser (lavapipe, SwiftShader). */
  adapterType?: 'discrete' | 'integrated' | 'cpu' | 'unknown';
  /** A further device instance of the adapter behind this key (probe/deviceInstances.ts): the same physical GPU. */
  instanceOf?: DeviceKey;
}

/** cuDeviceGetP2PAttribute for one ordered pair. */
export interface CudaP2PAttributes {
  /** Relative link quality; higher is better. Only comparable within one machine. */
  performanceRank: number;
  accessSupported: boolean;
  nativeAtomicSupported: boolean;
}

/** CUDA peer access for one ordered pair of CUDA devices. */
export interface CudaPeerProbe {
  from: DeviceKey;
  to: DeviceKey;
  canAccessPeer: boolean;
  attributes?: CudaP2PAttributes;
}

/** The far end of an NVLink, as nvmlDeviceGetNvLinkRemoteDeviceType names it (IBM NPU: a CPU). */
export type NvLinkRemoteType = 'gpu' | 'switch' | 'cpu' | 'unknown';

/** One NVLink of a GPU, from nvmlDeviceGetNvLinkState / RemotePciInfo / RemoteDeviceType / Version. */
export interface NvLinkProbe {
  link: number;
  active: boolean;
  /** NVLink version (1 for P100 … 4 for H100, 5 for B200). */
  version?: number;
  /** PCI bus id of the far end: another GPU, or an NVSwitch chip. */
  remotePciBusId?: string;
  remoteType: NvLinkRemoteType;
}

/** What NVML says about one device (matched to the backend device by PCI bus id). */
export interface NvmlDeviceProbe {
  device: DeviceKey;
  /** false when NVML answers NOT_SUPPORTED for every link: the GPU has no NVLink. */
  nvlinkSupported: boolean;
  links: NvLinkProbe[];
  numaNode?: number;
}

/** nvmlDeviceGetTopologyCommonAncestor's level, nearest first. */
export type PcieLevel = 'INTERNAL' | 'SINGLE' | 'MULTIPLE' | 'HOSTBRIDGE' | 'NODE' | 'SYSTEM' | 'UNKNOWN';
export const PCIE_LEVELS: readonly PcieLevel[] = [
  'INTERNAL',
  'SINGLE',
  'MULTIPLE',
  'HOSTBRIDGE',
  'NODE',
  'SYSTEM',
  'UNKNOWN',
];

/** The PCIe common ancestor of an (unordered) pair of devices. */
export interface PcieAncestorProbe {
  a: DeviceKey;
  b: DeviceKey;
  level: PcieLevel;
}

/** A bandwidth and latency measured on this machine for one ordered pair. */
export interface MeasuredLinkProbe {
  from: DeviceKey;
  to: DeviceKey;
  bandwidthGBps: number;
  latencyUs: number;
  measured: true;
  /** ISO time of the measurement. */
  measuredAt?: string;
  /** Transfer size the bandwidth was measured with. */
  bytes?: number;
}

/** A host-device bandwidth and latency measured on this machine. */
export interface MeasuredHostLinkProbe {
  device: DeviceKey;
  direction: 'hostToDevice' | 'deviceToHost';
  bandwidthGBps: number;
  latencyUs: number;
  measured: true;
  measuredAt?: string;
  bytes?: number;
}

export type ProbeName = 'cuda' | 'cuda-p2p' | 'nvml' | 'pcie' | 'numa' | 'webgpu' | 'measure';
export const PROBE_NAMES: readonly ProbeName[] = ['cuda', 'cuda-p2p', 'nvml', 'pcie', 'numa', 'webgpu', 'measure'];

/** A probe that could not run, and why; the topology falls back to estimates and says so. */
export interface ProbeUnavailable {
  probe: ProbeName;
  reason: string;
}

/**
 * Everything the probes found. An absent list means that probe did not run (its facts become
 * estimates, with a note); an empty list means it ran and found nothing.
 */
export interface TopologyProbes {
  /** Free text for fixtures and logs, e.g. "DGX H100". */
  description?: string;
  devices: DeviceProbe[];
  cudaPeers?: CudaPeerProbe[];
  nvml?: NvmlDeviceProbe[];
  pcie?: PcieAncestorProbe[];
  measured?: MeasuredLinkProbe[];
  hostLinks?: MeasuredHostLinkProbe[];
  unavailable?: ProbeUnavailable[];
}

/** Lower-case dddd:bb:dd.f; NVML's 00000000:1B:00.0 becomes 0000:1b:00.0. undefined when malformed. */
export function normalizePciBusId(id: string): string | undefined {
  const match = /^(?:([0-9a-f]{1,8}):)?([0-9a-f]{1,2}):([0-9a-f]{1,2})\.([0-7])$/i.exec(id.trim());
  if (!match) return undefined;
  const [, domain = '0', bus = '0', device = '0', fn = '0'] = match;
  const domainValue = Number.parseInt(domain, 16);
  return `${domainValue.toString(16).padStart(4, '0')}:${bus.toLowerCase().padStart(2, '0')}:${device.toLowerCase().padStart(2, '0')}.${fn}`;
}

/** 32 lower-case hex digits; 'GPU-' prefixes and dashes dropped. undefined when malformed. */
export function normalizeUuid(uuid: string): string | undefined {
  const hex = uuid
    .trim()
    .replace(/^(GPU|MIG)-/i, '')
    .replace(/-/g, '')
    .toLowerCase();
  return /^[0-9a-f]{32}$/.test(hex) ? hex : undefined;
}

/** The addon's NVML remote type ('GPU', 'SWITCH', 'IBMNPU', 'UNKNOWN', null) as a probe record's. */
export function nvlinkRemoteType(raw: string | null | undefined): NvLinkRemoteType {
  switch (raw?.toUpperCase()) {
    case 'GPU':
      return 'gpu';
    case 'SWITCH':
      return 'switch';
    case 'IBMNPU':
      return 'cpu';
    default:
      return 'unknown';
  }
}

/** The addon's common-ancestor level as a probe record's (anything unexpected is UNKNOWN). */
export function pcieLevel(raw: string | null | undefined): PcieLevel {
  const upper = raw?.toUpperCase();
  return PCIE_LEVELS.find((level) => level === upper) ?? 'UNKNOWN';
}
