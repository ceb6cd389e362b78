// How a message gets from the sender's device to the receiver's: the seed's RoutingDecision
// (SameDevice, DirectP2P, MultiHop, HostMediated), decided from the measured or probed topology,
// each with the reason a person reading the stats needs ("why is this pair slow?").
import type { BackendName } from '../backends/backendReport';
import type { GpuTopology } from '../topology/gpuTopology';
import type { TopologyLink, TopologyPath } from '../topology/topologyModel';
import { interconnectLabel, isPeerInterconnect } from '../topology/interconnect';
import type { DeviceKey } from '../probe/probeRecords';

export type RouteKind = 'sameDevice' | 'directP2P' | 'multiHop' | 'hostMediated';
export const ROUTE_KINDS: readonly RouteKind[] = ['sameDevice', 'directP2P', 'multiHop', 'hostMediated'];

export interface RoutingDecision {
  kind: RouteKind;
  from: DeviceKey;
  to: DeviceKey;
  /**
   * Devices the bytes cross, sender's first: [from] on one device, [from, to] for a direct or a
   * host-mediated copy (the host is not a device), every device of the route for multi-hop.
   */
  path: DeviceKey[];
  /** Copies between devices: 0 on one device, 1 direct or through the host, path length - 1 for multi-hop. */
  hops: number;
  /** The route's narrowest link, GB/s, when the topology knows it. */
  bandwidthGBps?: number;
  /** Sum of the links' latencies, µs, when the topology knows them. */
  latencyUs?: number;
  /** The links' interconnects ("NVLink4 ×18", "host-mediated (PCIe SYS)"), one per hop. */
  interconnects: string[];
  reason: string;
}

export interface RoutingPolicy {
  /** ringkernel.enableP2P: false stages every copy between devices through the host. */
  enableP2P: boolean;
}

/** Only CUDA devices copy to each other directly; WebGPU has no peer copies. */
function backendOf(topology: GpuTopology, key: DeviceKey): BackendName | undefined {
  return topology.device(key)?.backend;
}

function figures(
  decision: RoutingDecision,
  bandwidthGBps: number | undefined,
  latencyUs: number | undefined,
): RoutingDecision {
  if (bandwidthGBps !== undefined && Number.isFinite(bandwidthGBps)) decision.bandwidthGBps = bandwidthGBps;
  if (latencyUs !== undefined) decision.latencyUs = latencyUs;
  return decision;
}

function viaHost(from: DeviceKey, to: DeviceKey, link: TopologyLink | undefined, reason: string): RoutingDecision {
  return figures(
    { kind: 'hostMediated', from, to, path: [from, to], hops: 1, interconnects: ['host-mediated'], reason },
    link?.bandwidthGBps,
    link?.latencyUs,
  );
}

function isPeerPath(topology: GpuTopology, path: TopologyPath): boolean {
  return (
    path.links.every((link) => isPeerInterconnect(link.interconnect)) &&
    path.devices.every((key) => backendOf(topology, key) === 'cuda')
  );
}

/**
 * The route from one device to another:
 * - the same device: sameDevice (a copy within the device);
 * - CUDA to CUDA with a peer link (NVLink, NVSwitch, PCIe P2P: buildTopology makes one only where
 *   CUDA grants peer access) and enableP2P on: directP2P;
 * - no direct peer link, enableP2P on, and the widest path over the whole graph is a chain of peer
 *   links: multiHop along it (it is wider than the host route, or the search would have taken that);
 * - otherwise hostMediated: staged through pinned system memory.
 * A device the topology does not know (not discovered yet) can still be reached through the host.
 */
export function decideRoute(
  topology: GpuTopology,
  from: DeviceKey,
  to: DeviceKey,
  policy: RoutingPolicy,
): RoutingDecision {
  if (from === to)
    return {
      kind: 'sameDevice',
      from,
      to,
      path: [from],
      hops: 0,
      interconnects: ['self'],
      latencyUs: 0,
      reason: `both kernels on ${from}: a copy within the device`,
    };
  for (const key of [from, to]) {
    if (!topology.device(key))
      return viaHost(
        from,
        to,
        undefined,
        `${key} is not in the topology (not discovered yet, or drained): staged through the host`,
      );
  }
  const link = topology.link(from, to);
  const bothCuda = backendOf(topology, from) === 'cuda' && backendOf(topology, to) === 'cuda';
  if (link && isPeerInterconnect(link.interconnect) && bothCuda) {
    const label = interconnectLabel(link.interconnect);
    if (!policy.enableP2P)
      return viaHost(
        from,
        to,
        undefined,
        `ringkernel.enableP2P is off: staged through the host, although ${label} connects ${from} and ${to}`,
      );
    return figures(
      {
        kind: 'directP2P',
        from,
        to,
        path: [from, to],
        hops: 1,
        interconnects: [label],
        reason: `${label} from ${from} to ${to} with CUDA peer access: a direct peer copy`,
      },
      link.bandwidthGBps,
      link.latencyUs,
    );
  }
  if (!policy.enableP2P) return viaHost(from, to, link, `ringkernel.enableP2P is off: staged through the host`);
  const widest = topology.bestPath(from, to, { allowPeer: true });
  if (widest && widest.hops > 1 && isPeerPath(topology, widest)) {
    const host = link ? `the host route's ${link.bandwidthGBps} GB/s` : 'no host route in the topology';
    return figures(
      {
        kind: 'multiHop',
        from,
        to,
        path: widest.devices,
        hops: widest.hops,
        interconnects: widest.links.map((l) => interconnectLabel(l.interconnect)),
        reason: `no direct peer link from ${from} to ${to}; the widest path ${widest.devices.join(' → ')} (${widest.bottleneckGBps} GB/s) beats ${host}`,
      },
      widest.bottleneckGBps,
      widest.latencyUs,
    );
  }
  return viaHost(from, to, link, hostReason(topology, from, to, link));
}

function hostReason(topology: GpuTopology, from: DeviceKey, to: DeviceKey, link: TopologyLink | undefined): string {
  if (link?.interconnect.kind === 'samePhysicalGpu')
    return `${from} and ${to} are one physical GPU through two backends: staged through the host`;
  const other = [from, to].find((key) => backendOf(topology, key) !== 'cuda');
  if (other !== undefined)
    return `${other} is a ${backendOf(topology, other) ?? 'non-CUDA'} device, which has no peer copies: staged through the host`;
  if (!link) return `the topology has no link from ${from} to ${to} and no peer path: staged through the host`;
  return `no CUDA peer access from ${from} to ${to} and no wider peer path: staged through the host (${interconnectLabel(link.interconnect)})`;
}
