// The graph algorithms (graphAlgorithms.ts) applied to a topology: the widest route between two
// devices, and the narrowest balanced split of a set of devices as a maximum flow in a network
// where NVSwitch chips, host ports and PCIe peer groups are nodes.
import type { DeviceKey } from '../probe/probeRecords';
import {
  EXACT_BISECTION_LIMIT,
  FlowNetwork,
  maxFlow,
  minimumBisection,
  widestPath,
  type Edge,
} from './graphAlgorithms';
import { SELF_BANDWIDTH_GBPS, isPeerInterconnect, nvlinkGBpsPerLink, round } from './interconnect';
import type {
  BisectionResult,
  NvSwitchPort,
  PathOptions,
  TopologyDevice,
  TopologyLink,
  TopologyPath,
} from './topologyModel';

/** What the algorithms read of a topology. */
export interface TopologyGraph {
  readonly devices: readonly TopologyDevice[];
  readonly links: readonly TopologyLink[];
  readonly nvswitchPorts: readonly NvSwitchPort[];
}

const INFINITE_CAPACITY = 1e9;

/**
 * The widest route from a to b over the whole graph (any number of hops): maximum bottleneck
 * bandwidth, then fewest hops, then lowest total latency (see widestPath). undefined for unknown
 * devices or when no route exists.
 */
export function widestRoute(
  graph: TopologyGraph,
  a: DeviceKey,
  b: DeviceKey,
  options: PathOptions = {},
): TopologyPath | undefined {
  const index = new Map(graph.devices.map((device, i) => [device.key, i]));
  const from = index.get(a);
  const to = index.get(b);
  if (from === undefined || to === undefined) return undefined;
  if (a === b)
    return { devices: [a], links: [], hops: 0, bottleneckGBps: SELF_BANDWIDTH_GBPS, latencyUs: 0, basis: 'estimated' };
  const allowPeer = options.allowPeer ?? true;
  const avoid = new Set(options.avoid ?? []);
  avoid.delete(a);
  avoid.delete(b);
  const edges: (Edge & { link: TopologyLink })[] = [];
  for (const link of graph.links) {
    if (!allowPeer && isPeerInterconnect(link.interconnect)) continue;
    if (avoid.has(link.from) || avoid.has(link.to)) continue;
    edges.push({
      from: index.get(link.from) ?? -1,
      to: index.get(link.to) ?? -1,
      bandwidth: link.bandwidthGBps,
      latency: link.latencyUs,
      link,
    });
  }
  const found = widestPath(graph.devices.length, edges, from, to, options.tolerance ?? 0.05);
  if (!found) return undefined;
  const links = found.map((edge) => (edge as Edge & { link: TopologyLink }).link);
  return {
    devices: [a, ...links.map((link) => link.to)],
    links,
    hops: links.length,
    bottleneckGBps: Math.min(...links.map((link) => link.bandwidthGBps)),
    latencyUs: round(
      links.reduce((sum, link) => sum + link.latencyUs, 0),
      3,
    ),
    basis: links.every((link) => link.basis === 'measured') ? 'measured' : 'estimated',
  };
}

/**
 * The narrowest balanced split of `keys` (see GpuTopology.bisectionBandwidth): exact by
 * enumeration up to EXACT_BISECTION_LIMIT devices, a local search from the NUMA split beyond.
 */
export function narrowestSplit(
  graph: TopologyGraph,
  keys: readonly DeviceKey[],
  includeHost: boolean,
): BisectionResult {
  const byKey = new Map(graph.devices.map((device) => [device.key, device]));
  const network = flowNetwork(graph, keys, includeHost);
  const numaSplit = keys
    .map((key, i) => ({ i, numa: byKey.get(key)?.numaNode ?? 0 }))
    .sort((x, y) => x.numa - y.numa || x.i - y.i)
    .map((x) => x.i);
  const result = minimumBisection(keys.length, (from, to) => maxFlow(network, from, to), [
    numaSplit.slice(0, Math.floor(keys.length / 2)).sort((x, y) => x - y),
  ]);
  const name = (i: number): DeviceKey => keys[i] ?? '';
  return {
    bandwidthGBps: round(result.value),
    halves: [result.from.map(name), result.to.map(name)],
    exact: result.exact && keys.length <= EXACT_BISECTION_LIMIT,
  };
}

function flowNetwork(graph: TopologyGraph, keys: readonly DeviceKey[], includeHost: boolean): FlowNetwork {
  const byKey = new Map(graph.devices.map((device) => [device.key, device]));
  const inSet = new Map(keys.map((key, i) => [key, i]));
  const switches = [...new Set(graph.nvswitchPorts.filter((p) => inSet.has(p.device)).map((p) => p.switchId))];
  const groups = pcieComponents(graph.links, keys);
  const portCount = keys.length;
  // Nodes: devices, then one host port per device, then NVSwitch chips, then PCIe peer groups, then the host.
  const portOf = (i: number): number => keys.length + i;
  const switchNode = (id: string): number => keys.length + portCount + switches.indexOf(id);
  const groupNode = (g: number): number => keys.length + portCount + switches.length + g;
  const hostNode = keys.length + portCount + switches.length + groups.length;
  const network = new FlowNetwork(hostNode + 1);

  const usesSwitch = new Set(
    graph.links.filter((l) => l.interconnect.kind === 'nvswitch').flatMap((l) => [l.from, l.to]),
  );
  for (const port of graph.nvswitchPorts) {
    const i = inSet.get(port.device);
    if (i === undefined || !usesSwitch.has(port.device)) continue;
    const capacity = port.links * nvlinkGBpsPerLink(port.generation);
    network.add(i, switchNode(port.switchId), capacity);
    network.add(switchNode(port.switchId), i, capacity);
  }
  for (const link of graph.links) {
    const i = inSet.get(link.from);
    const j = inSet.get(link.to);
    if (i === undefined || j === undefined) continue;
    if (link.interconnect.kind === 'nvlink') network.add(i, j, link.bandwidthGBps);
  }
  const needsPort = new Set<number>();
  groups.forEach((members, g) => {
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
    const device = byKey.get(keys[i] ?? '');
    if (!device) continue;
    network.add(i, portOf(i), device.hostLink.toHostGBps);
    network.add(portOf(i), i, device.hostLink.toDeviceGBps);
  }
  return network;
}

/** Groups of devices joined by PCIe peer links (union-find), as indices into keys; singletons dropped. */
function pcieComponents(links: readonly TopologyLink[], keys: readonly DeviceKey[]): number[][] {
  const parent = keys.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] ?? i;
    return i;
  };
  for (const link of links) {
    if (link.interconnect.kind !== 'pcie') continue;
    const i = keys.indexOf(link.from);
    const j = keys.indexOf(link.to);
    if (i >= 0 && j >= 0) parent[find(i)] = find(j);
  }
  const groups = new Map<number, number[]>();
  keys.forEach((_, i) => groups.set(find(i), [...(groups.get(find(i)) ?? []), i]));
  return [...groups.values()].filter((members) => members.length > 1);
}
