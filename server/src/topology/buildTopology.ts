// From probe records to a GpuTopology. Each link comes from the best evidence there is:
//   1. NVML's NVLinks: per active link, its far end. A far end that is a GPU is a direct NVLink
//      (the count per pair is nvidia-smi's NV#); a far end that is an NVSwitch joins the GPU to that
//      switch chip, and two GPUs on common switches are joined through them.
//   2. CUDA peer access without NVLink: PCIe peer-to-peer, with NVML's common-ancestor level.
//   3. Otherwise host-mediated: staged through pinned system memory. WebGPU adapters always are.
//   4. One physical GPU behind two backends (see samePhysicalGpu): the 'samePhysicalGpu' link.
// Where a probe did not run, the link is an estimate with source 'fallback' and a note says why.
// Measurements then replace the estimated bandwidth and latency of the pairs they cover.
import {
  DEFAULT_PCIE_LINK,
  HOST_TRANSFER_LATENCY_US,
  NVLINK_LATENCY_US,
  NVSWITCH_LATENCY_US,
  SOFTWARE_ADAPTER_GBPS,
  WEBGPU_HOST_SHARE,
  nvlinkGBpsPerLink,
  nvlinkGenerationForComputeCapability,
  pcieGBps,
  pcieGenerationForComputeCapability,
  pcieP2PLatencyUs,
  pcieP2PShare,
  round,
  type Interconnect,
  type SameGpuMethod,
} from './interconnect';
import { GpuTopology } from './gpuTopology';
import {
  TOPOLOGY_DATA_VERSION,
  type HostLink,
  type LinkSource,
  type NvSwitchPort,
  type TopologyData,
  type TopologyDevice,
  type TopologyLink,
} from './topologyModel';
import { machineKey } from './machineKey';
import {
  normalizePciBusId,
  normalizeUuid,
  type CudaPeerProbe,
  type DeviceKey,
  type DeviceProbe,
  type MeasuredHostLinkProbe,
  type PcieLevel,
  type TopologyProbes,
} from '../probe/probeRecords';
import { findSamePhysicalGpus, isSoftwareAdapter } from './samePhysicalGpu';

/** Collects notes, each once, with device lists gathered under one message. */
class Notes {
  private readonly lines: string[] = [];
  private readonly grouped = new Map<string, { devices: string[]; suffix: string }>();

  add(line: string): void {
    if (!this.lines.includes(line)) this.lines.push(line);
  }

  /** `${devices}: ${suffix}` once, listing every device added under the same suffix. */
  addFor(device: string, suffix: string): void {
    const group = this.grouped.get(suffix);
    if (group) {
      if (!group.devices.includes(device)) group.devices.push(device);
    } else this.grouped.set(suffix, { devices: [device], suffix });
  }

  all(): string[] {
    return [...this.lines, ...[...this.grouped.values()].map((g) => `${g.devices.join(', ')}: ${g.suffix}`)];
  }
}

const pair = (a: string, b: string): string => `${a}\u0000${b}`;
const unordered = (a: string, b: string): string => (a < b ? pair(a, b) : pair(b, a));

export function buildTopology(probes: TopologyProbes): GpuTopology {
  const notes = new Notes();
  for (const missing of probes.unavailable ?? []) notes.add(`${missing.probe} probe unavailable: ${missing.reason}`);

  const devices = acceptDevices(probes.devices, notes);
  const byKey = new Map(devices.map((d) => [d.key, d]));
  const unknown = (key: string, what: string): boolean => {
    if (byKey.has(key)) return false;
    notes.add(
      `${what} names ${key}, which is not among the devices (it vanished during discovery, or is hidden); ignored`,
    );
    return true;
  };

  // One physical GPU behind several backends: union the matches, then number the groups.
  const same = findSamePhysicalGpus(devices);
  for (const note of same.notes) notes.add(note);
  const group = new Map<DeviceKey, DeviceKey>(devices.map((d) => [d.key, d.key]));
  const root = (k: DeviceKey): DeviceKey => {
    let r = k;
    while (group.get(r) !== r) r = group.get(r) ?? r;
    return r;
  };
  const sameMethod = new Map<string, SameGpuMethod>();
  for (const match of same.matches) {
    group.set(root(match.b), root(match.a));
    sameMethod.set(unordered(match.a, match.b), match.method);
  }
  // Device instances of one adapter (probe/deviceInstances.ts) are one physical GPU by construction.
  for (const d of devices) {
    if (d.instanceOf === undefined || !byKey.has(d.instanceOf)) continue;
    group.set(root(d.key), root(d.instanceOf));
    sameMethod.set(unordered(d.key, d.instanceOf), 'instance');
  }
  const physicalIds = new Map<DeviceKey, string>();
  for (const d of devices) if (!physicalIds.has(root(d.key))) physicalIds.set(root(d.key), `gpu${physicalIds.size}`);
  const physicalOf = (k: DeviceKey): string => physicalIds.get(root(k)) ?? k;
  const twins = (k: DeviceKey): DeviceProbe[] => devices.filter((d) => d.key !== k && root(d.key) === root(k));
  // Each device pairs with at most one device of each other backend, so a group's members matched pairwise.
  const methodBetween = (a: DeviceKey, b: DeviceKey): SameGpuMethod =>
    sameMethod.get(unordered(a, b)) ??
    (byKey.get(a)?.instanceOf !== undefined || byKey.get(b)?.instanceOf !== undefined ? 'instance' : 'name');

  // NVML: direct NVLink counts per ordered pair (as each end reports them), switch ports, CPU links.
  const byPci = new Map<string, DeviceProbe>();
  // A CUDA device instance (probe/cudaInstances.ts) shares its GPU's bus id: the far end of a link is the GPU itself.
  for (const d of devices)
    if (d.pciBusId !== undefined && d.backend === 'cuda' && d.instanceOf === undefined) byPci.set(d.pciBusId, d);
  /** The GPU whose NVML records a device instance shares; a device's own key otherwise. */
  const gpuOf = (k: DeviceKey): DeviceKey => {
    const of = byKey.get(k)?.instanceOf;
    return of !== undefined && byKey.has(of) ? of : k;
  };
  const nvmlRan = probes.nvml !== undefined;
  const nvmlByDevice = new Map<DeviceKey, NonNullable<TopologyProbes['nvml']>[number]>();
  const direct = new Map<string, number>();
  const switchPorts = new Map<string, Map<DeviceKey, number>>();
  const cpuLinks = new Map<DeviceKey, number>();
  const generation = new Map<DeviceKey, number>();
  for (const record of probes.nvml ?? []) {
    if (unknown(record.device, 'an NVML record')) continue;
    nvmlByDevice.set(record.device, record);
    let version = 0;
    for (const link of record.links) {
      if (!link.active) continue;
      version = Math.max(version, link.version ?? 0);
      const remote = link.remotePciBusId === undefined ? undefined : normalizePciBusId(link.remotePciBusId);
      if (link.remoteType === 'gpu') {
        const peer = remote === undefined ? undefined : byPci.get(remote);
        if (!peer) {
          notes.add(
            `${record.device} NVLink ${link.link} goes to a GPU at ${link.remotePciBusId ?? 'an unknown PCI bus id'} that is not among the devices (hidden or vanished); the link is ignored`,
          );
          continue;
        }
        direct.set(pair(record.device, peer.key), (direct.get(pair(record.device, peer.key)) ?? 0) + 1);
      } else if (link.remoteType === 'switch') {
        const switchId = remote ?? 'nvswitch';
        if (remote === undefined)
          notes.add(
            "NVSwitch links without the switch's PCI bus id: every switch-attached GPU is assumed to share one fabric",
          );
        const ports = switchPorts.get(switchId) ?? new Map<DeviceKey, number>();
        ports.set(record.device, (ports.get(record.device) ?? 0) + 1);
        switchPorts.set(switchId, ports);
      } else if (link.remoteType === 'cpu') {
        cpuLinks.set(record.device, (cpuLinks.get(record.device) ?? 0) + 1);
      } else {
        notes.add(
          `${record.device} NVLink ${link.link} is active but NVML does not say what is at the other end; ignored`,
        );
      }
    }
    if (version > 0) generation.set(record.device, version);
  }
  const generationOf = (k: DeviceKey): number => {
    const known = generation.get(k);
    if (known !== undefined) return known;
    const fromCc = nvlinkGenerationForComputeCapability(byKey.get(k)?.computeCapability);
    notes.addFor(
      k,
      fromCc === undefined
        ? 'NVLink version unknown; 25 GB/s per link assumed'
        : `NVLink version not reported; NVLink${fromCc} assumed from the compute capability`,
    );
    return fromCc ?? 3;
  };
  if (nvmlRan) {
    for (const d of devices)
      if (d.backend === 'cuda' && !nvmlByDevice.has(d.key))
        notes.addFor(d.key, 'no NVML record (its NVLinks are unknown)');
  }

  // NUMA node: the device's own, else NVML's, else its twin's through another backend.
  const numaOf = (d: DeviceProbe): number | undefined => {
    const own = [
      d.numaNode,
      nvmlByDevice.get(d.key)?.numaNode,
      ...twins(d.key).flatMap((t) => [t.numaNode, nvmlByDevice.get(t.key)?.numaNode]),
    ];
    return own.find((n): n is number => n !== undefined && n >= 0);
  };

  const hostLinks = new Map(
    devices.map((d) => [
      d.key,
      hostLinkOf(d, twins(d.key), cpuLinks.get(d.key) ?? 0, generation.get(d.key), probes.hostLinks ?? [], notes),
    ]),
  );

  // PCIe levels (unordered) and CUDA peer records (ordered).
  const levels = new Map<string, PcieLevel>();
  for (const record of probes.pcie ?? []) {
    if (unknown(record.a, 'a PCIe record') || unknown(record.b, 'a PCIe record')) continue;
    levels.set(unordered(record.a, record.b), record.level);
  }
  const peers = new Map<string, CudaPeerProbe>();
  for (const record of probes.cudaPeers ?? []) {
    if (unknown(record.from, 'a CUDA peer record') || unknown(record.to, 'a CUDA peer record')) continue;
    peers.set(pair(record.from, record.to), record);
  }
  const cudaCount = devices.filter((d) => d.backend === 'cuda').length;
  if (cudaCount >= 2 && !nvmlRan)
    notes.add(
      'NVML unavailable: NVLink cannot be told from PCIe, so peer links are estimated as PCIe; measure the topology for real figures',
    );
  if (cudaCount >= 2 && probes.cudaPeers === undefined)
    notes.add('CUDA peer access not probed: CUDA pairs without a known NVLink are assumed host-mediated');

  const links: TopologyLink[] = [];
  let atomicsWithoutNvml = 0;
  for (const a of devices) {
    for (const b of devices) {
      if (a.key === b.key) continue;
      const link = linkBetween(a, b);
      links.push(link);
    }
  }

  function linkBetween(a: DeviceProbe, b: DeviceProbe): TopologyLink {
    const hostA = hostLinks.get(a.key);
    const hostB = hostLinks.get(b.key);
    const hostGBps = round(Math.min(hostA?.toHostGBps ?? 0, hostB?.toDeviceGBps ?? 0));
    const hostLatency = round((hostA?.latencyUs ?? 0) + (hostB?.latencyUs ?? 0), 3);
    const level = levels.get(unordered(a.key, b.key));
    const make = (
      interconnect: Interconnect,
      bandwidthGBps: number,
      latencyUs: number,
      source: LinkSource,
      peer?: CudaPeerProbe,
    ): TopologyLink => {
      const link: TopologyLink = {
        from: a.key,
        to: b.key,
        interconnect,
        bandwidthGBps: round(bandwidthGBps),
        latencyUs,
        basis: 'estimated',
        source,
      };
      if (peer?.attributes) link.peer = { ...peer.attributes };
      return link;
    };
    const viaHost = (source: LinkSource, peer?: CudaPeerProbe): TopologyLink =>
      make(level === undefined ? { kind: 'host' } : { kind: 'host', level }, hostGBps, hostLatency, source, peer);

    if (root(a.key) === root(b.key)) {
      // Two CUDA devices of one GPU copy device to device (CUDA IPC): a copy reads and writes each
      // byte, so half the memory's peak. Any other pair of one GPU stages through host memory.
      const memoryGBps = Math.min(a.memoryBandwidthGBps ?? 0, b.memoryBandwidthGBps ?? 0);
      const onDevice = a.backend === 'cuda' && b.backend === 'cuda' && memoryGBps > 0;
      return make(
        { kind: 'samePhysicalGpu', method: methodBetween(a.key, b.key) },
        onDevice ? memoryGBps / 2 : hostGBps,
        hostLatency,
        'identity',
      );
    }
    if (a.backend !== 'cuda' || b.backend !== 'cuda') return viaHost('host');

    const peer = peers.get(pair(a.key, b.key));
    const peerKnown = peer !== undefined;
    const peerDenied = peerKnown && !peer.canAccessPeer;
    const nvlinks = nvlinkCount(gpuOf(a.key), gpuOf(b.key));
    const switched = switchLinks(gpuOf(a.key), gpuOf(b.key));
    if (nvlinks > 0 || switched > 0) {
      if (peerDenied) {
        notes.add(
          `${a.key}→${b.key}: NVLink is present but CUDA denies peer access (P2P disabled?); copies go through the host`,
        );
        return viaHost('cuda-p2p', peer);
      }
      const gen = Math.min(generationOf(gpuOf(a.key)), generationOf(gpuOf(b.key)));
      if (nvlinks > 0)
        return make(
          { kind: 'nvlink', links: nvlinks, generation: gen },
          nvlinks * nvlinkGBpsPerLink(gen),
          NVLINK_LATENCY_US,
          'nvml',
          peer,
        );
      return make(
        { kind: 'nvswitch', links: switched, generation: gen },
        switched * nvlinkGBpsPerLink(gen),
        NVSWITCH_LATENCY_US,
        'nvml',
        peer,
      );
    }
    if (peer?.canAccessPeer) {
      const pcieLevel = level ?? 'UNKNOWN';
      if (level === undefined && probes.pcie !== undefined)
        notes.add(`no PCIe common ancestor for ${a.key} and ${b.key}; peer-to-peer estimated at an unknown level`);
      if (!nvmlRan && peer.attributes?.nativeAtomicSupported) atomicsWithoutNvml++;
      return make(
        { kind: 'pcie', level: pcieLevel },
        Math.min(hostA?.toHostGBps ?? 0, hostB?.toDeviceGBps ?? 0) * pcieP2PShare(pcieLevel),
        pcieP2PLatencyUs(pcieLevel),
        !nvmlRan || level === undefined ? 'fallback' : 'cuda-p2p',
        peer,
      );
    }
    if (!peerKnown && probes.cudaPeers !== undefined)
      notes.add(`no CUDA peer record for ${a.key}→${b.key} (device vanished during discovery?); assumed host-mediated`);
    return viaHost(peerKnown ? 'cuda-p2p' : 'fallback', peer);
  }

  function nvlinkCount(a: DeviceKey, b: DeviceKey): number {
    const fromA = nvmlByDevice.has(a) ? (direct.get(pair(a, b)) ?? 0) : undefined;
    const fromB = nvmlByDevice.has(b) ? (direct.get(pair(b, a)) ?? 0) : undefined;
    if (fromA !== undefined && fromB !== undefined && fromA !== fromB) {
      notes.add(`${a} reports ${fromA} NVLinks to ${b} but ${b} reports ${fromB}; the smaller count is used`);
      return Math.min(fromA, fromB);
    }
    return fromA ?? fromB ?? 0;
  }

  /** Links a and b can both use through common switches: per switch, the fewer of their two port counts. */
  function switchLinks(a: DeviceKey, b: DeviceKey): number {
    let total = 0;
    for (const ports of switchPorts.values()) total += Math.min(ports.get(a) ?? 0, ports.get(b) ?? 0);
    return total;
  }

  if (atomicsWithoutNvml > 0)
    notes.add(`${atomicsWithoutNvml} peer pair(s) support native atomics, which usually means NVLink rather than PCIe`);

  for (const m of probes.measured ?? []) {
    if (unknown(m.from, 'a measurement') || unknown(m.to, 'a measurement')) continue;
    const link = links.find((l) => l.from === m.from && l.to === m.to);
    if (!link) continue;
    if (
      !(m.bandwidthGBps > 0) ||
      !(m.latencyUs >= 0) ||
      !Number.isFinite(m.bandwidthGBps) ||
      !Number.isFinite(m.latencyUs)
    ) {
      notes.add(`measurement ${m.from}→${m.to} is not a positive bandwidth and latency; ignored`);
      continue;
    }
    link.bandwidthGBps = round(m.bandwidthGBps, 3);
    link.latencyUs = round(m.latencyUs, 3);
    link.basis = 'measured';
  }

  const nvswitchPorts: NvSwitchPort[] = [];
  for (const [switchId, ports] of switchPorts) {
    for (const [device, count] of ports)
      nvswitchPorts.push({
        switchId,
        device,
        links: count,
        generation:
          generation.get(device) ?? nvlinkGenerationForComputeCapability(byKey.get(device)?.computeCapability) ?? 3,
      });
  }

  const topologyDevices: TopologyDevice[] = devices.map((d) => {
    const device: TopologyDevice = {
      key: d.key,
      backend: d.backend,
      index: d.index,
      name: d.name,
      physicalGpu: physicalOf(d.key),
      software: isSoftwareAdapter(d),
      hostLink: hostLinks.get(d.key) ?? fallbackHostLink(),
    };
    if (d.vendor !== undefined) device.vendor = d.vendor;
    if (d.pciBusId !== undefined) device.pciBusId = d.pciBusId;
    if (d.uuid !== undefined) device.uuid = d.uuid;
    const numa = numaOf(d);
    if (numa !== undefined) device.numaNode = numa;
    if (d.memoryTotalBytes !== undefined) device.memoryTotalBytes = d.memoryTotalBytes;
    if (d.memoryFreeBytes !== undefined) device.memoryFreeBytes = d.memoryFreeBytes;
    if (d.computeCapability !== undefined) device.computeCapability = { ...d.computeCapability };
    return device;
  });

  const data: TopologyData = {
    version: TOPOLOGY_DATA_VERSION,
    machineKey: machineKey(devices),
    devices: topologyDevices,
    links,
    nvswitchPorts,
    notes: notes.all(),
  };
  if (probes.description !== undefined) data.description = probes.description;
  return GpuTopology.fromData(data);
}

/** Devices with unique keys, normalised ids, ordered CUDA first then by index. */
function acceptDevices(devices: readonly DeviceProbe[], notes: Notes): DeviceProbe[] {
  const seen = new Set<DeviceKey>();
  const accepted: DeviceProbe[] = [];
  for (const original of devices) {
    if (seen.has(original.key)) {
      notes.add(`device ${original.key} is reported twice; the second report is ignored`);
      continue;
    }
    seen.add(original.key);
    const d: DeviceProbe = { ...original };
    if (d.pciBusId !== undefined) {
      const normal = normalizePciBusId(d.pciBusId);
      if (normal === undefined) {
        notes.add(`${d.key}: PCI bus id "${d.pciBusId}" is malformed; ignored`);
        delete d.pciBusId;
      } else d.pciBusId = normal;
    }
    if (d.uuid !== undefined && normalizeUuid(d.uuid) === undefined) {
      notes.add(`${d.key}: UUID "${d.uuid}" is malformed; ignored`);
      delete d.uuid;
    }
    accepted.push(d);
  }
  const rank = (d: DeviceProbe): number => (d.backend === 'cuda' ? 0 : 1);
  return accepted.sort((x, y) => rank(x) - rank(y) || x.index - y.index);
}

function fallbackHostLink(): HostLink {
  const gbps = pcieGBps(DEFAULT_PCIE_LINK.generation, DEFAULT_PCIE_LINK.width);
  return {
    toDeviceGBps: gbps,
    toHostGBps: gbps,
    latencyUs: HOST_TRANSFER_LATENCY_US.cuda,
    basis: 'estimated',
    source: 'assumed PCIe Gen4 x16',
  };
}

/**
 * A device's link to system memory: measured where measured; else its PCIe link (its own, or its
 * twin's through another backend), or the usual generation for its architecture, or Gen4 x16;
 * NVLink to the CPU (POWER9, Grace) where NVML reports it. A WebGPU adapter reaches the host at
 * about half the link rate (a staging copy); a software adapter at memcpy speed.
 */
function hostLinkOf(
  d: DeviceProbe,
  twins: DeviceProbe[],
  cpuNvlinks: number,
  nvlinkVersion: number | undefined,
  measured: readonly MeasuredHostLinkProbe[],
  notes: Notes,
): HostLink {
  const latency = isSoftwareAdapter(d)
    ? HOST_TRANSFER_LATENCY_US.software
    : d.backend === 'webgpu'
      ? HOST_TRANSFER_LATENCY_US.webgpu
      : HOST_TRANSFER_LATENCY_US.cuda;
  let link: HostLink;
  if (isSoftwareAdapter(d)) {
    link = {
      toDeviceGBps: SOFTWARE_ADAPTER_GBPS,
      toHostGBps: SOFTWARE_ADAPTER_GBPS,
      latencyUs: latency,
      basis: 'estimated',
      source: 'software adapter: memcpy in system memory',
    };
  } else {
    const known = d.pcieLink ?? twins.find((t) => t.pcieLink)?.pcieLink;
    const cc = d.computeCapability ?? twins.find((t) => t.computeCapability)?.computeCapability;
    let gbps: number;
    let source: string;
    if (known) {
      gbps = pcieGBps(known.generation, known.width);
      source = `PCIe Gen${known.generation} x${known.width}`;
    } else {
      const generation = pcieGenerationForComputeCapability(cc);
      if (generation !== undefined) {
        gbps = pcieGBps(generation, 16);
        source = `PCIe Gen${generation} x16 (assumed from the architecture)`;
        notes.addFor(d.key, `PCIe link not reported; Gen${generation} x16 assumed from the architecture`);
      } else {
        gbps = pcieGBps(DEFAULT_PCIE_LINK.generation, DEFAULT_PCIE_LINK.width);
        source = 'PCIe Gen4 x16 (assumed)';
        notes.addFor(d.key, 'PCIe link and architecture unknown; Gen4 x16 assumed');
      }
    }
    if (cpuNvlinks > 0) {
      const nvlink = cpuNvlinks * nvlinkGBpsPerLink(nvlinkVersion ?? nvlinkGenerationForComputeCapability(cc) ?? 3);
      if (nvlink > gbps) {
        gbps = nvlink;
        source = `NVLink to the CPU ×${cpuNvlinks}`;
      }
    }
    if (d.backend === 'webgpu') {
      gbps *= WEBGPU_HOST_SHARE;
      source += ', through a WebGPU staging buffer';
    }
    link = { toDeviceGBps: round(gbps), toHostGBps: round(gbps), latencyUs: latency, basis: 'estimated', source };
  }
  const toDevice = measured.find((m) => m.device === d.key && m.direction === 'hostToDevice');
  const toHost = measured.find((m) => m.device === d.key && m.direction === 'deviceToHost');
  if (toDevice) link.toDeviceGBps = round(toDevice.bandwidthGBps, 3);
  if (toHost) link.toHostGBps = round(toHost.bandwidthGBps, 3);
  if (toDevice || toHost) {
    link.latencyUs = round(Math.max(toDevice?.latencyUs ?? 0, toHost?.latencyUs ?? 0, 0), 3);
    link.basis = toDevice && toHost ? 'measured' : 'estimated';
    link.source =
      toDevice && toHost ? 'measured' : `${link.source}; ${toDevice ? 'host to device' : 'device to host'} measured`;
  }
  return link;
}
