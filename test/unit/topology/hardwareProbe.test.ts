import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DeviceInfo } from '../../../server/src/backends/backend';
import type { BackendReport } from '../../../server/src/backends/backendReport';
import type {
  NvLinkInfo,
  NvmlDeviceInfo,
  NvmlStatus,
  P2PAttributes,
  TopologyLevel,
} from '../../../server/src/backends/cuda/cudaAddon';
import { buildTopology } from '../../../server/src/topology/buildTopology';
import { probeTopology, type CudaTopologyAddon } from '../../../server/src/probe/child/hardwareProbe';
import type { PciSysfsInfo } from '../../../server/src/probe/child/sysfs';

const limits = {
  maxBufferBytes: 2 ** 34,
  maxBindingBytes: 2 ** 34,
  maxWorkgroupsPerDimension: 65535,
  maxThreadsPerWorkgroup: 1024,
};
const BUS = ['0000:18:00.0', '0000:2a:00.0', '0000:9a:00.0', '0000:ab:00.0'];
const SWITCH = '0000:05:00.0';

function h100(index: number): DeviceInfo {
  return {
    backend: 'cuda',
    index,
    name: 'NVIDIA H100 80GB HBM3',
    vendor: 'NVIDIA',
    detail: 'compute 9.0',
    memoryTotalBytes: 85e9,
    memoryFreeBytes: 84e9,
    computeCapability: { major: 9, minor: 0 },
    pciBusId: BUS[index] ?? '',
    uuid: `GPU-0000000${index}-1111-2222-3333-444444444444`,
    peerCapable: true,
    limits,
  };
}

const lavapipe: DeviceInfo = {
  backend: 'webgpu',
  index: 0,
  name: 'llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)',
  vendor: 'mesa',
  detail: 'software Vulkan (llvmpipe)',
  peerCapable: false,
  limits,
};

function reports(cuda: DeviceInfo[] | string, webgpu: DeviceInfo[] | string = [lavapipe]): BackendReport[] {
  const report = (backend: 'cuda' | 'webgpu', value: DeviceInfo[] | string): BackendReport =>
    typeof value === 'string'
      ? { backend, available: false, reason: value, devices: [], probeMs: 1 }
      : { backend, available: true, devices: value, probeMs: 1 };
  return [report('webgpu', webgpu), report('cuda', cuda)];
}

/** The subset of the CUDA addon the probe uses, answering like a 4-GPU NVSwitch (HGX) board. */
class FakeAddon implements CudaTopologyAddon {
  calls: string[] = [];
  nvml: NvmlStatus = { available: true, library: 'libnvidia-ml.so.1', missingEntryPoints: [] };
  canAccess = (a: number, b: number): boolean => a !== b;
  failNvmlFor = new Set<string>();

  canAccessPeer(device: number, peer: number): boolean {
    this.calls.push(`canAccessPeer ${device} ${peer}`);
    return this.canAccess(device, peer);
  }

  p2pAttributes(device: number, peer: number): P2PAttributes {
    return {
      performanceRank: device === peer ? 0 : 1,
      accessSupported: this.canAccess(device, peer),
      nativeAtomicSupported: true,
      cudaArrayAccessSupported: true,
    };
  }

  nvmlStatus(): NvmlStatus {
    return this.nvml;
  }

  nvmlDeviceInfo(device: string | number): NvmlDeviceInfo {
    const bus = String(device);
    if (this.failNvmlFor.has(bus)) throw new Error('NVML_ERROR_GPU_IS_LOST');
    const links: NvLinkInfo[] = Array.from({ length: 18 }, (_, link) => ({
      link,
      active: link < 16,
      version: link < 16 ? 4 : null,
      remotePciBusId: link < 16 ? SWITCH : null,
      remoteDeviceType: link < 16 ? 'SWITCH' : null,
    }));
    return {
      index: BUS.indexOf(bus),
      name: 'NVIDIA H100 80GB HBM3',
      uuid: 'GPU-x',
      pciBusId: bus,
      pci: { domain: 0, bus: 0, device: 0, pciDeviceId: 0x233010de },
      memory: null,
      numaNode: BUS.indexOf(bus) < 2 ? 0 : 1,
      nvlink: { supported: true, links },
      unavailable: [],
    };
  }

  nvmlTopologyCommonAncestor(a: string | number, b: string | number): TopologyLevel {
    const socket = (bus: string | number): number => (BUS.indexOf(String(bus)) < 2 ? 0 : 1);
    return socket(a) === socket(b) ? 'NODE' : 'SYSTEM';
  }
}

const sysfs = (busId: string): PciSysfsInfo => ({
  numaNode: BUS.indexOf(busId) < 2 ? 0 : 1,
  link: { generation: 5, width: 16 },
  problems: [],
});

describe('hardware topology probe', () => {
  test('maps each backend device to a probe record keyed cuda:N / webgpu:N, with a software adapter marked as a CPU', () => {
    const probes = probeTopology(reports([h100(0)]), { cuda: new FakeAddon(), sysfs });
    assert.deepEqual(
      probes.devices.map((d) => d.key),
      ['cuda:0', 'webgpu:0'],
    );
    const [cuda, webgpu] = probes.devices;
    assert.equal(cuda?.pciBusId, '0000:18:00.0');
    assert.equal(cuda?.uuid, 'GPU-00000000-1111-2222-3333-444444444444');
    assert.deepEqual(cuda?.computeCapability, { major: 9, minor: 0 });
    assert.equal(cuda?.memoryTotalBytes, 85e9);
    assert.equal(cuda?.numaNode, 0);
    assert.deepEqual(cuda?.pcieLink, { generation: 5, width: 16 });
    assert.equal(webgpu?.adapterType, 'cpu');
    assert.equal(webgpu?.pciBusId, undefined);
  });

  test('asks CUDA about every ordered pair and NVML about every device and unordered pair', () => {
    const addon = new FakeAddon();
    addon.canAccess = (a, b) => !(a === 3 && b === 0);
    const probes = probeTopology(reports([0, 1, 2, 3].map(h100), []), { cuda: addon, sysfs });
    assert.equal(probes.cudaPeers?.length, 12);
    assert.deepEqual(
      probes.cudaPeers?.find((p) => p.from === 'cuda:3' && p.to === 'cuda:0'),
      {
        from: 'cuda:3',
        to: 'cuda:0',
        canAccessPeer: false,
        attributes: { performanceRank: 1, accessSupported: false, nativeAtomicSupported: true },
      },
    );
    assert.equal(probes.nvml?.length, 4);
    const links = probes.nvml?.[0]?.links ?? [];
    assert.equal(links.length, 18);
    assert.deepEqual(links[0], { link: 0, active: true, version: 4, remotePciBusId: SWITCH, remoteType: 'switch' });
    assert.deepEqual(links[17], { link: 17, active: false, remoteType: 'unknown' });
    assert.deepEqual(
      probes.pcie?.map((p) => `${p.a}-${p.b}:${p.level}`),
      [
        'cuda:0-cuda:1:NODE',
        'cuda:0-cuda:2:SYSTEM',
        'cuda:0-cuda:3:SYSTEM',
        'cuda:1-cuda:2:SYSTEM',
        'cuda:1-cuda:3:SYSTEM',
        'cuda:2-cuda:3:NODE',
      ],
    );
    assert.equal(probes.unavailable, undefined);

    const topology = buildTopology(probes);
    assert.equal(topology.link('cuda:0', 'cuda:1')?.interconnect.kind, 'nvswitch');
    assert.equal(
      topology.link('cuda:3', 'cuda:0')?.interconnect.kind,
      'host',
      'CUDA denies 3→0 peer access, so that direction is host-staged',
    );
    assert.deepEqual(topology.numaNeighbors('cuda:0'), ['cuda:1']);
  });

  test('the same H100 through CUDA and WebGPU becomes one physical GPU with two backends', () => {
    const vulkanH100: DeviceInfo = {
      ...lavapipe,
      name: 'NVIDIA H100 80GB HBM3',
      vendor: 'nvidia',
      detail: 'Vulkan, driver NVIDIA: 580.159.04',
    };
    const topology = buildTopology(probeTopology(reports([h100(0)], [vulkanH100]), { cuda: new FakeAddon(), sysfs }));
    const gpus = topology.physicalGpus();
    assert.equal(gpus.length, 1);
    assert.deepEqual(gpus[0]?.devices, ['cuda:0', 'webgpu:0']);
    assert.equal(topology.device('webgpu:0')?.numaNode, 0, 'the WebGPU face takes the NUMA node of its CUDA twin');
  });

  test('records every probe that could not run, with the reason, and the topology says it estimated', () => {
    const addon = new FakeAddon();
    addon.nvml = {
      available: false,
      library: 'libnvidia-ml.so.1',
      reason: 'libnvidia-ml.so.1 not found\nsecond line',
      missingEntryPoints: [],
    };
    const probes = probeTopology(reports([h100(0), h100(1)], 'Dawn found no Vulkan adapter'), {
      cuda: addon,
      sysfsMissingReason: '/sys/bus/pci/devices does not exist',
    });
    const byProbe = Object.fromEntries((probes.unavailable ?? []).map((u) => [u.probe, u.reason]));
    assert.equal(byProbe['webgpu'], 'Dawn found no Vulkan adapter');
    assert.equal(byProbe['nvml'], 'libnvidia-ml.so.1 not found');
    assert.match(byProbe['pcie'] ?? '', /comes from NVML/);
    assert.match(byProbe['numa'] ?? '', /does not exist/);
    assert.equal(probes.nvml, undefined, 'NVML did not run: no list at all, not an empty one');
    assert.equal(probes.cudaPeers?.length, 2);
    const topology = buildTopology(probes);
    assert.ok(topology.notes.some((n) => /nvml probe unavailable/.test(n)));
    assert.equal(topology.link('cuda:0', 'cuda:1')?.source, 'fallback');
    assert.equal(topology.link('cuda:0', 'cuda:1')?.basis, 'estimated');
  });

  test('CUDA unavailable: only the WebGPU device, with CUDA named as unavailable', () => {
    const probes = probeTopology(reports('libcuda.so.1 could not be loaded'), {});
    assert.deepEqual(
      probes.devices.map((d) => d.key),
      ['webgpu:0'],
    );
    assert.deepEqual(probes.unavailable, [{ probe: 'cuda', reason: 'libcuda.so.1 could not be loaded' }]);
    assert.equal(probes.cudaPeers, undefined);
  });

  test('a device NVML cannot answer for is named, and the others are still probed', () => {
    const addon = new FakeAddon();
    addon.failNvmlFor.add(BUS[1] ?? '');
    const probes = probeTopology(reports([h100(0), h100(1)], []), { cuda: addon, sysfs });
    assert.deepEqual(
      probes.nvml?.map((n) => n.device),
      ['cuda:0'],
    );
    assert.match(probes.unavailable?.find((u) => u.probe === 'nvml')?.reason ?? '', /cuda:1 .*GPU_IS_LOST/);
  });

  test('sysfs problems are recorded per probe, and numa_node -1 everywhere is reported as unknown', () => {
    const missingLink = (): PciSysfsInfo => ({
      problems: [{ what: 'link', message: 'the PCIe link is not reported' }],
    });
    const probes = probeTopology(reports([h100(0)], []), { cuda: new FakeAddon(), sysfs: missingLink });
    assert.match(
      probes.unavailable?.find((u) => u.probe === 'pcie')?.reason ?? '',
      /cuda:0: the PCIe link is not reported/,
    );
    assert.match(probes.unavailable?.find((u) => u.probe === 'numa')?.reason ?? '', /numa_node is -1/);
    assert.equal(probes.devices[0]?.numaNode, undefined);
  });
});
