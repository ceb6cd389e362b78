// The machine's GPUs and the links between them, as probed (buildTopology) or measured. Links are
// directed: a→b and b→a are separate records, because measured bandwidth differs by direction and
// CUDA peer access can be granted one way only. buildTopology always emits both directions.
import type { BackendName } from '../backends/backendReport';
import { EXACT_BISECTION_LIMIT, FlowNetwork, maxFlow, minimumBisection, widestPath, type Edge } from './graphAlgorithms';
import {
  SELF_BANDWIDTH_GBPS, interconnectLabel, isPeerInterconnect, nvlinkGBpsPerLink, round,
  type Interconnect, type SameGpuMethod,
} from './interconnect';
import type { CudaP2PAttributes, DeviceKey } from '../probe/probeRecords';
import { topologyMatrixText } from './topologyMatrix';

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

const INFINITE_CAPACITY = 1e9;

export class GpuTopology {
  readonly devices: readonly TopologyDevice[];
  readonly links: readonly TopologyLink[];
  readonly notes: readonly string[];
  readonly machineKey: string;
  readonly description: string | undefined;
  readonly nvswitchPorts: readonly NvSwitchPort[];
  private readonly byKey = new Map<DeviceKey, TopologyDevice>();
  private readonly linkByPair = new Map<string, TopologyLink>();
  private readonly indexByKey = new Map<DeviceKey, number>();
  private defaultBisection: BisectionResult | undefined;

  private constructor(data: TopologyData) {
    this.devices = data.devices;
    this.links = data.links;
    this.notes = data.notes;
    this.machineKey = data.machineKey;
    this.description = data.description;
    this.nvswitchPorts = data.nvswitchPorts;
    data.devices.forEach((device, i) => { this.byKey.set(device.key, device); this.indexByKey.set(device.key, i); });
    for (const link of data.links) if (link.from !== link.to) this.linkByPair.set(pairKey(link.from, link.to), link);
  }

  static fromData(data: TopologyData): GpuTopology {
    return new GpuTopology(data);
  }

  /** A topology with no devices, for before discovery. */
  static empty(note?: string): GpuTopology {
    return new GpuTopology({ version: TOPOLOGY_DATA_VERSION, machineKey: 'none', devices: [], links: [], nvswitchPorts: [], notes: note ? [note] : [] });
  }

  device(key: DeviceKey): TopologyDevice | undefined {
    return this.byKey.get(key);
  }

  /** The link from a to b; a device with itself is a 'self' link. undefined for unknown devices. */
  link(a: DeviceKey, b: DeviceKey): TopologyLink | undefined {
    if (!this.byKey.has(a) || !this.byKey.has(b)) return undefined;
    if (a === b) return { from: a, to: a, interconnect: { kind: 'self' }, bandwidthGBps: SELF_BANDWIDTH_GBPS, latencyUs: 0, basis: 'estimated', source: 'identity' };
    return this.linkByPair.get(pairKey(a, b));
  }

  /**
   * The widest route from a to b over the whole graph (any number of hops): maximum bottleneck
   * bandwidth, then fewest hops, then lowest total latency (see widestPath). undefined for unknown
   * devices or when no route exists.
   */
  bestPath(a: DeviceKey, b: DeviceKey, options: PathOptions = {}): TopologyPath | undefined {
    const from = this.indexOf(a);
    const to = this.indexOf(b);
    if (from < 0 || to < 0) return undefined;
    if (a === b) return { devices: [a], links: [], hops: 0, bottleneckGBps: SELF_BANDWIDTH_GBPS, latencyUs: 0, basis: 'estimated' };
    const allowPeer = options.allowPeer ?? true;
    const avoid = new Set(options.avoid ?? []);
    avoid.delete(a);
    avoid.delete(b);
    const edges: (Edge & { link: TopologyLink })[] = [];
    for (const link of this.links) {
      if (!allowPeer && isPeerInterconnect(link.interconnect)) continue;
      if (avoid.has(link.from) || avoid.has(link.to)) continue;
      edges.push({ from: this.indexOf(link.from), to: this.indexOf(link.to), bandwidth: link.bandwidthGBps, latency: link.latencyUs, link });
    }
    const found = widestPath(this.devices.length, edges, from, to, options.tolerance ?? 0.05);
    if (!found) return undefined;
    const links = found.map((edge) => (edge as Edge & { link: TopologyLink }).link);
    return {
      devices: [a, ...links.map((link) => link.to)],
      links,
      hops: links.length,
      bottleneckGBps: Math.min(...links.map((link) => link.bandwidthGBps)),
      latencyUs: round(links.reduce((sum, link) => sum + link.latencyUs, 0), 3),
      basis: links.every((link) => link.basis === 'measured') ? 'measured' : 'estimated',
    };
  }

  /** Devices with a direct peer link from d (NVLink, NVSwitch, PCIe P2P); not host-mediated, not d's aliases. */
  neighbors(d: DeviceKey): DeviceKey[] {
    return this.links.filter((link) => link.from === d && isPeerInterconnect(link.interconnect)).map((link) => link.to);
  }

  /** Other devices on d's NUMA node; d's aliases (the same physical GPU) are not neighbours. */
  numaNeighbors(d: DeviceKey): DeviceKey[] {
    const device = this.byKey.get(d);
    if (device?.numaNode === undefined) return [];
    return this.devices
      .filter((other) => other.key !== d && other.physicalGpu !== device.physicalGpu && other.numaNode === device.numaNode)
      .map((other) => other.key);
  }

  /** Other devices that are d's physical GPU through another backend. */
  aliases(d: DeviceKey): DeviceKey[] {
    const device = this.byKey.get(d);
    if (!device) return [];
    return this.devices.filter((other) => other.key !== d && other.physicalGpu === device.physicalGpu).map((other) => other.key);
  }

  physicalGpus(): PhysicalGpu[] {
    const groups = new Map<string, TopologyDevice[]>();
    for (const device of this.devices) groups.set(device.physicalGpu, [...(groups.get(device.physicalGpu) ?? []), device]);
    return [...groups.entries()].map(([id, members]) => {
      const ordered = [...members].sort((x, y) => backendRank(x.backend) - backendRank(y.backend) || x.index - y.index);
      const [first, second] = ordered;
      const gpu: PhysicalGpu = { id, name: first?.name ?? id, devices: ordered.map((d) => d.key) };
      if (first && second) {
        const link = this.link(first.key, second.key);
        if (link?.interconnect.kind === 'samePhysicalGpu') gpu.method = link.interconnect.method;
      }
      return gpu;
    });
  }

  /**
   * One device per physical GPU, CUDA preferred: the set whole-machine figures are about. Software
   * adapters (lavapipe) are CPUs and are left out unless asked for.
   */
  physicalRepresentatives(options: { includeSoftware?: boolean } = {}): DeviceKey[] {
    return this.physicalGpus()
      .map((gpu) => gpu.devices[0])
      .filter((key): key is DeviceKey => key !== undefined && (options.includeSoftware === true || this.byKey.get(key)?.software !== true));
  }

  /** Whether every pair of the devices (default: one per physical hardware GPU) has a direct peer link, both ways. */
  isFullyConnected(devices: readonly DeviceKey[] = this.physicalRepresentatives()): boolean {
    for (const a of devices) {
      for (const b of devices) {
        if (a === b) continue;
        const link = this.link(a, b);
        if (!link || !isPeerInterconnect(link.interconnect)) return false;
      }
    }
    return true;
  }

  /**
   * The narrowest balanced split of the devices: the minimum, over every way of cutting them into
   * halves, of the bandwidth one half can send to the other at once. Links that share a port are
   * counted once: it is a maximum flow in a network where NVSwitch chips are nodes (a GPU's links
   * to a switch carry all its traffic through it) and PCIe peer traffic and host staging share each
   * device's host link. Direct NVLinks count at their (measured or estimated) bandwidth; PCIe peer
   * traffic at host-link speed, whatever the level. Exact by enumeration for up to 16 devices
   * (C(16, 8) = 12,870 splits); beyond that a local search (exact: false). 0 means some balanced
   * split has no peer route between its halves.
   */
  bisectionBandwidth(options: BisectionOptions = {}): BisectionResult {
    // The topology never changes, so the default answer (up to 12,870 flows) is computed once.
    const isDefault = options.devices === undefined && options.includeHost !== true;
    if (isDefault && this.defaultBisection) return { ...this.defaultBisection, halves: [[...this.defaultBisection.halves[0]], [...this.defaultBisection.halves[1]]] };
    const result = this.computeBisection(options);
    if (isDefault) this.defaultBisection = result;
    return isDefault ? { ...result, halves: [[...result.halves[0]], [...result.halves[1]]] } : result;
  }

  private computeBisection(options: BisectionOptions): BisectionResult {
    const keys = (options.devices ?? this.physicalRepresentatives()).filter((key) => this.byKey.has(key));
    const network = this.flowNetwork(keys, options.includeHost ?? false);
    const numaSplit = keys.map((key, i) => ({ i, numa: this.byKey.get(key)?.numaNode ?? 0 })).sort((x, y) => x.numa - y.numa || x.i - y.i).map((x) => x.i);
    const result = minimumBisection(keys.length, (from, to) => maxFlow(network, from, to), [numaSplit.slice(0, Math.floor(keys.length / 2)).sort((x, y) => x - y)]);
    const name = (i: number): DeviceKey => keys[i] ?? '';
    return {
      bandwidthGBps: round(result.value),
      halves: [result.from.map(name), result.to.map(name)],
      exact: result.exact && keys.length <= EXACT_BISECTION_LIMIT,
    };
  }

  /** A matrix like `nvidia-smi topo -m`, then bandwidths, legend and notes. */
  toMatrixText(): string {
    return topologyMatrixText(this);
  }

  toData(): TopologyData {
    const data: TopologyData = {
      version: TOPOLOGY_DATA_VERSION,
      machineKey: this.machineKey,
      devices: [...this.devices],
      links: [...this.links],
      nvswitchPorts: [...this.nvswitchPorts],
      notes: [...this.notes],
    };
    if (this.description !== undefined) data.description = this.description;
    return data;
  }

  /** What `ringkernel topology --json` prints and the UI receives: the data plus derived facts. */
  toJSON(): TopologyJson {
    const paths: TopologyPathJson[] = [];
    for (const a of this.devices) {
      for (const b of this.devices) {
        if (a.key === b.key) continue;
        const path = this.bestPath(a.key, b.key);
        if (!path) continue;
        paths.push({ from: a.key, to: b.key, devices: path.devices, hops: path.hops, bottleneckGBps: path.bottleneckGBps, latencyUs: path.latencyUs, basis: path.basis });
      }
    }
    return {
      ...this.toData(),
      links: this.links.map((link) => ({ ...link, label: interconnectLabel(link.interconnect) })),
      physicalGpus: this.physicalGpus(),
      paths,
      bisection: this.bisectionBandwidth(),
      fullyConnected: this.isFullyConnected(),
    };
  }

  private indexOf(key: DeviceKey): number {
    return this.indexByKey.get(key) ?? -1;
  }

  private flowNetwork(keys: readonly DeviceKey[], includeHost: boolean): FlowNetwork {
    const inSet = new Map(keys.map((key, i) => [key, i]));
    const switches = [...new Set(this.nvswitchPorts.filter((p) => inSet.has(p.device)).map((p) => p.switchId))];
    const pcieComponents = this.pcieComponents(keys);
    const portCount = keys.length;
    // Nodes: devices, then one host port per device, then NVSwitch chips, then PCIe peer groups, then the host.
    const portOf = (i: number): number => keys.length + i;
    const switchNode = (id: string): number => keys.length + portCount + switches.indexOf(id);
    const groupNode = (g: number): number => keys.length + portCount + switches.length + g;
    const hostNode = keys.length + portCount + switches.length + pcieComponents.length;
    const network = new FlowNetwork(hostNode + 1);

    const usesSwitch = new Set(this.links.filter((l) => l.interconnect.kind === 'nvswitch').flatMap((l) => [l.from, l.to]));
    for (const port of this.nvswitchPorts) {
      const i = inSet.get(port.device);
      if (i === undefined || !usesSwitch.has(port.device)) continue;
      const capacity = port.links * nvlinkGBpsPerLink(port.generation);
      network.add(i, switchNode(port.switchId), capacity);
      network.add(switchNode(port.switchId), i, capacity);
    }
    for (const link of this.links) {
      const i = inSet.get(link.from);
      const j = inSet.get(link.to);
      if (i === undefined || j === undefined) continue;
      if (link.interconnect.kind === 'nvlink') network.add(i, j, link.bandwidthGBps);
    }
    const needsPort = new Set<number>();
    pcieComponents.forEach((members, g) => {
      for (const i of members) {
        needsPort.add(i);
        network.add(portOf(i), groupNode(g), INFINITE_CAPACITY);
        network.add(groupNode(g), portOf(i), INFINITE_CAPACITY);
      }
    });
    if (includeHost) {
      keys.forEach((_, i) => {
        needsPort.add(i);
        network.add(portOf(i), hostNode, INFINITE_CAPACITY);
        network.add(hostNode, portOf(i), INFINITE_CAPACITY);
      });
    }
    for (const i of needsPort) {
      const device = this.byKey.get(keys[i] ?? '');
      if (!device) continue;
      network.add(i, portOf(i), device.hostLink.toHostGBps);
      network.add(portOf(i), i, device.hostLink.toDeviceGBps);
    }
    return network;
  }

  /** Groups of devices joined by PCIe peer links (union-find), as indices into keys; singletons dropped. */
  private pcieComponents(keys: readonly DeviceKey[]): number[][] {
    const parent = keys.map((_, i) => i);
    const find = (i: number): number => {
      while (parent[i] !== i) i = parent[i] ?? i;
      return i;
    };
    for (const link of this.links) {
      if (link.interconnect.kind !== 'pcie') continue;
      const i = keys.indexOf(link.from);
      const j = keys.indexOf(link.to);
      if (i >= 0 && j >= 0) parent[find(i)] = find(j);
    }
    const groups = new Map<number, number[]>();
    keys.forEach((_, i) => groups.set(find(i), [...(groups.get(find(i)) ?? []), i]));
    return [...groups.values()].filter((members) => members.length > 1);
  }
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

export interface TopologyJson extends Omit<TopologyData, 'links'> {
  links: (TopologyLink & { label: string })[];
  physicalGpus: PhysicalGpu[];
  paths: TopologyPathJson[];
  bisection: BisectionResult;
  fullyConnected: boolean;
}

function pairKey(a: DeviceKey, b: DeviceKey): string {
  return `${a}\u0000${b}`;
}

function backendRank(backend: BackendName): number {
  return backend === 'cuda' ? 0 : 1;
}
