// One machine's GPUs and the links between them, as probed (buildTopology) or measured, with the
// queries the coordinator and the views ask: links, best paths, neighbours, physical GPUs, the
// bisection. The data shapes are in topologyModel.ts, the algorithms in topologyRoutes.ts, the
// renderings in topologyJson.ts and topologyMatrix.ts.
import type { BackendName } from '../backends/backendReport';
import type { DeviceKey } from '../probe/probeRecords';
import { SELF_BANDWIDTH_GBPS, isPeerInterconnect } from './interconnect';
import { topologyJson, type TopologyJson } from './topologyJson';
import { topologyMatrixText } from './topologyMatrix';
import {
  TOPOLOGY_DATA_VERSION,
  type BisectionOptions,
  type BisectionResult,
  type NvSwitchPort,
  type PathOptions,
  type PhysicalGpu,
  type TopologyData,
  type TopologyDevice,
  type TopologyLink,
  type TopologyPath,
} from './topologyModel';
import { narrowestSplit, widestRoute } from './topologyRoutes';

export class GpuTopology {
  readonly devices: readonly TopologyDevice[];
  readonly links: readonly TopologyLink[];
  readonly notes: readonly string[];
  readonly machineKey: string;
  readonly description: string | undefined;
  readonly nvswitchPorts: readonly NvSwitchPort[];
  private readonly byKey = new Map<DeviceKey, TopologyDevice>();
  private readonly linkByPair = new Map<string, TopologyLink>();
  private defaultBisection: BisectionResult | undefined;

  private constructor(data: TopologyData) {
    this.devices = data.devices;
    this.links = data.links;
    this.notes = data.notes;
    this.machineKey = data.machineKey;
    this.description = data.description;
    this.nvswitchPorts = data.nvswitchPorts;
    for (const device of data.devices) this.byKey.set(device.key, device);
    for (const link of data.links) if (link.from !== link.to) this.linkByPair.set(pairKey(link.from, link.to), link);
  }

  static fromData(data: TopologyData): GpuTopology {
    return new GpuTopology(data);
  }

  /** A topology with no devices, for before discovery. */
  static empty(note?: string): GpuTopology {
    return new GpuTopology({
      version: TOPOLOGY_DATA_VERSION,
      machineKey: 'none',
      devices: [],
      links: [],
      nvswitchPorts: [],
      notes: note ? [note] : [],
    });
  }

  device(key: DeviceKey): TopologyDevice | undefined {
    return this.byKey.get(key);
  }

  /** The link from a to b; a device with itself is a 'self' link. undefined for unknown devices. */
  link(a: DeviceKey, b: DeviceKey): TopologyLink | undefined {
    if (!this.byKey.has(a) || !this.byKey.has(b)) return undefined;
    if (a === b)
      return {
        from: a,
        to: a,
        interconnect: { kind: 'self' },
        bandwidthGBps: SELF_BANDWIDTH_GBPS,
        latencyUs: 0,
        basis: 'estimated',
        source: 'identity',
      };
    return this.linkByPair.get(pairKey(a, b));
  }

  /**
   * The widest route from a to b over the whole graph (any number of hops): maximum bottleneck
   * bandwidth, then fewest hops, then lowest total latency (see widestPath). undefined for unknown
   * devices or when no route exists.
   */
  bestPath(a: DeviceKey, b: DeviceKey, options: PathOptions = {}): TopologyPath | undefined {
    return widestRoute(this, a, b, options);
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
      .filter(
        (other) => other.key !== d && other.physicalGpu !== device.physicalGpu && other.numaNode === device.numaNode,
      )
      .map((other) => other.key);
  }

  /** Other devices that are d's physical GPU through another backend. */
  aliases(d: DeviceKey): DeviceKey[] {
    const device = this.byKey.get(d);
    if (!device) return [];
    return this.devices
      .filter((other) => other.key !== d && other.physicalGpu === device.physicalGpu)
      .map((other) => other.key);
  }

  physicalGpus(): PhysicalGpu[] {
    const groups = new Map<string, TopologyDevice[]>();
    for (const device of this.devices)
      groups.set(device.physicalGpu, [...(groups.get(device.physicalGpu) ?? []), device]);
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
      .filter(
        (key): key is DeviceKey =>
          key !== undefined && (options.includeSoftware === true || this.byKey.get(key)?.software !== true),
      );
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
    if (isDefault && this.defaultBisection)
      return {
        ...this.defaultBisection,
        halves: [[...this.defaultBisection.halves[0]], [...this.defaultBisection.halves[1]]],
      };
    const result = this.computeBisection(options);
    if (isDefault) this.defaultBisection = result;
    return isDefault ? { ...result, halves: [[...result.halves[0]], [...result.halves[1]]] } : result;
  }

  private computeBisection(options: BisectionOptions): BisectionResult {
    const keys = (options.devices ?? this.physicalRepresentatives()).filter((key) => this.byKey.has(key));
    return narrowestSplit(this, keys, options.includeHost ?? false);
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

  /** What `ringkernel topology --json` prints and the UI receives (topologyJson.ts). */
  toJSON(): TopologyJson {
    return topologyJson(this);
  }
}

function pairKey(a: DeviceKey, b: DeviceKey): string {
  return `${a}\u0000${b}`;
}

function backendRank(backend: BackendName): number {
  return backend === 'cuda' ? 0 : 1;
}
