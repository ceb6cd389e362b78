// The machine's topology probes from the real hardware: the backends' devices, CUDA peer access and
// P2P attributes per ordered pair, NVML's NVLinks and PCIe common ancestors, and sysfs's NUMA nodes
// and PCIe links. Runs in the probe child (drivers print to stdout). Each probe that cannot run is
// recorded in `unavailable` with the reason, and buildTopology falls back to estimates.
import type { DeviceInfo } from '../../backends/backend';
import type { BackendReport } from '../../backends/backendReport';
import type { CudaAddon } from '../../backends/cuda/cudaAddon';
import { errorMessage } from '../../logger';
import {
  deviceKey,
  nvlinkRemoteType,
  pcieLevel,
  type CudaPeerProbe,
  type DeviceProbe,
  type NvLinkProbe,
  type NvmlDeviceProbe,
  type PcieAncestorProbe,
  type ProbeName,
  type ProbeUnavailable,
  type TopologyProbes,
} from '../probeRecords';
import { SYSFS_ROOT, hasPciSysfs, readPciSysfs, type PciSysfsInfo } from './sysfs';

/** The part of the CUDA addon the topology probe uses. */
export type CudaTopologyAddon = Pick<
  CudaAddon,
  'canAccessPeer' | 'p2pAttributes' | 'nvmlStatus' | 'nvmlDeviceInfo' | 'nvmlTopologyCommonAncestor'
>;

/** Where the facts come from; tests pass fakes. */
export interface HardwareProbeSources {
  /** The CUDA addon, when the CUDA backend found devices. */
  cuda?: CudaTopologyAddon;
  /** Reads a PCI device's sysfs facts; undefined when there is no sysfs (not Linux). */
  sysfs?: (busId: string) => PciSysfsInfo;
  /** Why sysfs is missing, when `sysfs` is undefined. */
  sysfsMissingReason?: string;
}

/** The sysfs reader for this machine (or a test tree under `root`). */
export function sysfsSource(root: string = SYSFS_ROOT): Pick<HardwareProbeSources, 'sysfs' | 'sysfsMissingReason'> {
  if (!hasPciSysfs(root)) return { sysfsMissingReason: `${root}/bus/pci/devices does not exist (sysfs is Linux-only)` };
  return { sysfs: (busId) => readPciSysfs(busId, root) };
}

/** A backend's device as a probe record: key `cuda:N` / `webgpu:N`. */
export function deviceProbeOf(info: DeviceInfo): DeviceProbe {
  const probe: DeviceProbe = {
    key: deviceKey(info.backend, info.index),
    backend: info.backend,
    index: info.index,
    name: info.name,
  };
  if (info.vendor) probe.vendor = info.vendor;
  if (info.pciBusId !== undefined) probe.pciBusId = info.pciBusId;
  if (info.uuid !== undefined) probe.uuid = info.uuid;
  if (info.memoryTotalBytes !== undefined) probe.memoryTotalBytes = info.memoryTotalBytes;
  if (info.memoryFreeBytes !== undefined) probe.memoryFreeBytes = info.memoryFreeBytes;
  if (info.computeCapability) probe.computeCapability = { ...info.computeCapability };
  if (info.memoryBandwidthGBps !== undefined) probe.memoryBandwidthGBps = info.memoryBandwidthGBps;
  // The WebGPU backend describes software adapters as "software Vulkan (llvmpipe)".
  if (info.backend === 'webgpu' && /^software\b/i.test(info.detail)) probe.adapterType = 'cpu';
  return probe;
}

/** Every device of every available backend, CUDA first. */
export function devicesFromReports(reports: readonly BackendReport[]): DeviceProbe[] {
  const order = (backend: string): number => (backend === 'cuda' ? 0 : 1);
  return [...reports]
    .sort((a, b) => order(a.backend) - order(b.backend))
    .filter((report) => report.available)
    .flatMap((report) => report.devices.map(deviceProbeOf));
}

class Unavailable {
  readonly list: ProbeUnavailable[] = [];

  add(probe: ProbeName, reason: string): void {
    const existing = this.list.find((u) => u.probe === probe);
    if (!existing) this.list.push({ probe, reason });
    else if (!existing.reason.includes(reason)) existing.reason = `${existing.reason}; ${reason}`;
  }
}

export function probeTopology(reports: readonly BackendReport[], sources: HardwareProbeSources): TopologyProbes {
  const unavailable = new Unavailable();
  for (const report of reports) {
    if (!report.available) unavailable.add(report.backend, firstLine(report.reason ?? 'no reason given'));
  }
  const devices = devicesFromReports(reports);
  const probes: TopologyProbes = { devices };
  const cudaDevices = devices.filter((d) => d.backend === 'cuda');

  if (cudaDevices.length > 0) {
    if (!sources.cuda) {
      unavailable.add('cuda-p2p', 'the CUDA addon is not loaded in the probe');
      unavailable.add('nvml', 'the CUDA addon is not loaded in the probe');
    } else {
      const peers = probeCudaPeers(sources.cuda, cudaDevices, unavailable);
      if (peers) probes.cudaPeers = peers;
      const nvml = probeNvml(sources.cuda, cudaDevices, unavailable);
      if (nvml) {
        probes.nvml = nvml.devices;
        if (nvml.pcie) probes.pcie = nvml.pcie;
      }
    }
  }

  const withBus = devices.filter((d) => d.pciBusId !== undefined);
  if (withBus.length > 0) {
    if (!sources.sysfs) {
      const reason = sources.sysfsMissingReason ?? 'no sysfs reader';
      unavailable.add('numa', reason);
    } else {
      let numaFound = 0;
      for (const device of withBus) {
        let info: PciSysfsInfo;
        try {
          info = sources.sysfs(device.pciBusId ?? '');
        } catch (error) {
          unavailable.add('numa', `${device.key}: ${errorMessage(error)}`);
          continue;
        }
        if (info.numaNode !== undefined) {
          device.numaNode = info.numaNode;
          numaFound++;
        }
        if (info.link) device.pcieLink = { ...info.link };
        for (const problem of info.problems)
          unavailable.add(problem.what === 'numa' ? 'numa' : 'pcie', `${device.key}: ${problem.message}`);
      }
      // numa_node -1 everywhere is a one-socket machine, or firmware that does not say: both mean "unknown".
      if (numaFound === 0 && !unavailable.list.some((u) => u.probe === 'numa'))
        unavailable.add('numa', 'sysfs reports no NUMA node for any device (numa_node is -1)');
    }
  }

  if (unavailable.list.length > 0) probes.unavailable = unavailable.list;
  return probes;
}

function probeCudaPeers(
  addon: CudaTopologyAddon,
  cuda: readonly DeviceProbe[],
  unavailable: Unavailable,
): CudaPeerProbe[] | undefined {
  const peers: CudaPeerProbe[] = [];
  for (const a of cuda) {
    for (const b of cuda) {
      if (a.key === b.key) continue;
      let canAccessPeer: boolean;
      try {
        canAccessPeer = addon.canAccessPeer(a.index, b.index);
      } catch (error) {
        unavailable.add('cuda-p2p', `cuDeviceCanAccessPeer(${a.index}, ${b.index}) failed: ${errorMessage(error)}`);
        return undefined;
      }
      const record: CudaPeerProbe = { from: a.key, to: b.key, canAccessPeer };
      try {
        const attributes = addon.p2pAttributes(a.index, b.index);
        record.attributes = {
          performanceRank: attributes.performanceRank,
          accessSupported: attributes.accessSupported,
          nativeAtomicSupported: attributes.nativeAtomicSupported,
        };
      } catch (error) {
        unavailable.add('cuda-p2p', `P2P attributes ${a.key}→${b.key}: ${errorMessage(error)}`);
      }
      peers.push(record);
    }
  }
  return peers;
}

function probeNvml(
  addon: CudaTopologyAddon,
  cuda: readonly DeviceProbe[],
  unavailable: Unavailable,
): { devices: NvmlDeviceProbe[]; pcie?: PcieAncestorProbe[] } | undefined {
  let status: ReturnType<CudaTopologyAddon['nvmlStatus']>;
  try {
    status = addon.nvmlStatus();
  } catch (error) {
    status = { available: false, library: 'libnvidia-ml.so.1', reason: errorMessage(error), missingEntryPoints: [] };
  }
  if (!status.available) {
    const reason = firstLine(status.reason ?? 'NVML did not initialise');
    unavailable.add('nvml', reason);
    if (cuda.length > 1) unavailable.add('pcie', `the PCIe common ancestor comes from NVML: ${reason}`);
    return undefined;
  }
  const devices: NvmlDeviceProbe[] = [];
  for (const device of cuda) {
    if (device.pciBusId === undefined) {
      unavailable.add('nvml', `${device.key} has no PCI bus id to find it in NVML by`);
      continue;
    }
    try {
      const info = addon.nvmlDeviceInfo(device.pciBusId);
      const record: NvmlDeviceProbe = {
        device: device.key,
        nvlinkSupported: info.nvlink.supported,
        links: info.nvlink.links.map((link) => {
          const probe: NvLinkProbe = {
            link: link.link,
            active: link.active,
            remoteType: nvlinkRemoteType(link.remoteDeviceType),
          };
          if (link.version !== null) probe.version = link.version;
          if (link.remotePciBusId !== null) probe.remotePciBusId = link.remotePciBusId;
          return probe;
        }),
      };
      if (info.numaNode !== null && info.numaNode >= 0) record.numaNode = info.numaNode;
      devices.push(record);
    } catch (error) {
      unavailable.add('nvml', `${device.key} (${device.pciBusId}): ${errorMessage(error)}`);
    }
  }
  const pcie: PcieAncestorProbe[] = [];
  for (let i = 0; i < cuda.length; i++) {
    for (let j = i + 1; j < cuda.length; j++) {
      const a = cuda[i];
      const b = cuda[j];
      if (!a || !b || a.pciBusId === undefined || b.pciBusId === undefined) continue;
      try {
        pcie.push({ a: a.key, b: b.key, level: pcieLevel(addon.nvmlTopologyCommonAncestor(a.pciBusId, b.pciBusId)) });
      } catch (error) {
        unavailable.add('pcie', `common ancestor of ${a.key} and ${b.key}: ${errorMessage(error)}`);
      }
    }
  }
  return { devices, pcie };
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
