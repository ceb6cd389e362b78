// Probe records of real machine shapes (test/fixtures/topology/*.json), as topologies and as the
// DeviceInfo the backends would report for them.
import { readFileSync } from 'node:fs';
import type { DeviceInfo } from '../../../server/src/backends/backend';
import { buildTopology } from '../../../server/src/topology/buildTopology';
import type { GpuTopology } from '../../../server/src/topology/gpuTopology';
import { parseTopologyProbesText } from '../../../server/src/topology/probeParser';
import type { DeviceProbe, TopologyProbes } from '../../../server/src/probe/probeRecords';
import { fixture } from '../../support/repo';

export type MachineName = 'dgx-h100' | 'v100-nvlink-ring' | 'two-socket-pcie' | 'mixed-cuda-webgpu';

export function machineProbes(name: MachineName): TopologyProbes {
  const file = fixture('topology', `${name}.json`);
  const parsed = parseTopologyProbesText(readFileSync(file, 'utf8'), file);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.probes;
}

export function machine(name: MachineName): GpuTopology {
  return buildTopology(machineProbes(name));
}

/** What the backend would report for a probed device. */
export function deviceInfo(probe: DeviceProbe): DeviceInfo {
  const info: DeviceInfo = {
    backend: probe.backend,
    index: probe.index,
    name: probe.name,
    vendor: probe.vendor ?? 'unknown',
    detail: probe.computeCapability
      ? `compute ${probe.computeCapability.major}.${probe.computeCapability.minor}`
      : 'Vulkan',
    peerCapable: probe.backend === 'cuda',
    limits: {
      maxBufferBytes: 2 ** 31,
      maxBindingBytes: 2 ** 31,
      maxWorkgroupsPerDimension: 65535,
      maxThreadsPerWorkgroup: 1024,
    },
  };
  if (probe.memoryTotalBytes !== undefined) info.memoryTotalBytes = probe.memoryTotalBytes;
  if (probe.memoryFreeBytes !== undefined) info.memoryFreeBytes = probe.memoryFreeBytes;
  if (probe.computeCapability) info.computeCapability = { ...probe.computeCapability };
  if (probe.pciBusId !== undefined) info.pciBusId = probe.pciBusId;
  if (probe.uuid !== undefined) info.uuid = probe.uuid;
  return info;
}

export function deviceInfos(name: MachineName): DeviceInfo[] {
  return machineProbes(name).devices.map(deviceInfo);
}

/** A copy of the probes to change in one test without touching another's. */
export function cloneProbes(probes: TopologyProbes): TopologyProbes {
  return JSON.parse(JSON.stringify(probes)) as TopologyProbes;
}
