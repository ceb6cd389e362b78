// What `ringkernel topology --json` prints and the UI receives: the topology's data with every
// link labelled, plus the derived facts (physical GPUs, every pair's best path, the bisection).
import type { DeviceKey } from '../probe/probeRecords';
import type { GpuTopology } from './gpuTopology';
import { interconnectLabel } from './interconnect';
import type { Basis, BisectionResult, PhysicalGpu, TopologyData, TopologyLink } from './topologyModel';

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

export function topologyJson(topology: GpuTopology): TopologyJson {
  const paths: TopologyPathJson[] = [];
  for (const a of topology.devices) {
    for (const b of topology.devices) {
      if (a.key === b.key) continue;
      const path = topology.bestPath(a.key, b.key);
      if (!path) continue;
      paths.push({
        from: a.key,
        to: b.key,
        devices: path.devices,
        hops: path.hops,
        bottleneckGBps: path.bottleneckGBps,
        latencyUs: path.latencyUs,
        basis: path.basis,
      });
    }
  }
  return {
    ...topology.toData(),
    links: topology.links.map((link) => ({ ...link, label: interconnectLabel(link.interconnect) })),
    physicalGpus: topology.physicalGpus(),
    paths,
    bisection: topology.bisectionBandwidth(),
    fullyConnected: topology.isFullyConnected(),
  };
}
