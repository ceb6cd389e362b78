import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildTopology } from '../../../server/src/topology/buildTopology';
import { GpuTopology } from '../../../server/src/topology/gpuTopology';
import { combinations, widestPath, type Edge } from '../../../server/src/topology/graphAlgorithms';
import { nvlinkGBpsPerLink, pcieGBps } from '../../../server/src/topology/interconnect';
import { machineKey } from '../../../server/src/topology/machineKey';
import {
  normalizePciBusId,
  normalizeUuid,
  nvlinkRemoteType,
  pcieLevel,
  type CudaPeerProbe,
  type DeviceProbe,
  type NvmlDeviceProbe,
  type TopologyProbes,
} from '../../../server/src/probe/probeRecords';
import { machine } from './machines';

/** GPUs on an NVLink chain 0-1-2-…-(n-1), `links` NVLinks per hop, peer access only along the chain. */
function chain(n: number, links: number): TopologyProbes {
  const bus = (i: number): string => `0000:${(0x10 + i).toString(16)}:00.0`;
  const devices: DeviceProbe[] = Array.from({ length: n }, (_, i) => ({
    key: `cuda:${i}`,
    backend: 'cuda',
    index: i,
    name: 'NVIDIA A100-SXM4-80GB',
    pciBusId: bus(i),
    computeCapability: { major: 8, minor: 0 },
    pcieLink: { generation: 4, width: 16 },
  }));
  const nvml: NvmlDeviceProbe[] = devices.map((_, i) => ({
    device: `cuda:${i}`,
    nvlinkSupported: true,
    links: [i - 1, i + 1]
      .filter((j) => j >= 0 && j < n)
      .flatMap((j) =>
        Array.from({ length: links }, (_, l) => ({
          link: l,
          active: true,
          version: 3,
          remotePciBusId: bus(j),
          remoteType: 'gpu' as const,
        })),
      ),
  }));
  const cudaPeers: CudaPeerProbe[] = [];
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++)
      if (i !== j) cudaPeers.push({ from: `cuda:${i}`, to: `cuda:${j}`, canAccessPeer: Math.abs(i - j) === 1 });
  return { devices, nvml, cudaPeers, pcie: [] };
}

describe('best path', () => {
  test('follows a chain of any length when every hop is wider than the host route', () => {
    const topology = buildTopology(chain(5, 4));
    const path = topology.bestPath('cuda:0', 'cuda:4');
    assert.deepEqual(path?.devices, ['cuda:0', 'cuda:1', 'cuda:2', 'cuda:3', 'cuda:4']);
    assert.equal(path?.bottleneckGBps, 100);
    assert.equal(path?.hops, 4);
    assert.equal(path?.latencyUs, 8);
  });

  test('a detour must be clearly wider: within 5% the fewer hops win', () => {
    const probes = chain(3, 4);
    probes.measured = [
      { from: 'cuda:0', to: 'cuda:2', bandwidthGBps: 98, latencyUs: 3, measured: true },
      { from: 'cuda:0', to: 'cuda:1', bandwidthGBps: 101, latencyUs: 2, measured: true },
      { from: 'cuda:1', to: 'cuda:2', bandwidthGBps: 101, latencyUs: 2, measured: true },
    ];
    assert.deepEqual(buildTopology(probes).bestPath('cuda:0', 'cuda:2')?.devices, ['cuda:0', 'cuda:2']);
    assert.deepEqual(buildTopology(probes).bestPath('cuda:0', 'cuda:2', { tolerance: 0 })?.devices, [
      'cuda:0',
      'cuda:1',
      'cuda:2',
    ]);
  });

  test('a device with itself is zero hops; unknown devices have no path', () => {
    const topology = machine('dgx-h100');
    assert.deepEqual(topology.bestPath('cuda:3', 'cuda:3')?.devices, ['cuda:3']);
    assert.equal(topology.bestPath('cuda:3', 'cuda:3')?.hops, 0);
    assert.equal(topology.bestPath('cuda:0', 'cuda:99'), undefined);
    assert.equal(topology.link('cuda:0', 'cuda:0')?.interconnect.kind, 'self');
    assert.equal(topology.link('cuda:0', 'nope'), undefined);
    assert.deepEqual(topology.neighbors('nope'), []);
    assert.deepEqual(topology.numaNeighbors('nope'), []);
  });

  test('widest-then-fewest-hops is exact where a greedy label search is not', () => {
    // 0→1 wide but long (0-2-3-1: 100,100,100), 0→1 direct narrow (50). Then 1→4 at 40.
    // Best to 1 is the 3-hop route, but to 4 both routes bottleneck at 40 and the 2-hop one must win.
    const edges: Edge[] = [
      { from: 0, to: 2, bandwidth: 100, latency: 1 },
      { from: 2, to: 3, bandwidth: 100, latency: 1 },
      { from: 3, to: 1, bandwidth: 100, latency: 1 },
      { from: 0, to: 1, bandwidth: 50, latency: 1 },
      { from: 1, to: 4, bandwidth: 40, latency: 1 },
    ];
    assert.deepEqual(
      widestPath(5, edges, 0, 1, 0)?.map((e) => e.to),
      [2, 3, 1],
    );
    assert.deepEqual(
      widestPath(5, edges, 0, 4, 0)?.map((e) => e.to),
      [1, 4],
    );
    assert.equal(widestPath(5, edges, 4, 0, 0), undefined);
  });
});

describe('bisection', () => {
  test('enumerates every balanced split up to 16 devices', () => {
    assert.equal([...combinations(16, 8)].length, 12870);
    assert.deepEqual(
      [...combinations(4, 2)],
      [
        [0, 1],
        [0, 2],
        [0, 3],
        [1, 2],
        [1, 3],
        [2, 3],
      ],
    );
  });

  test('an odd count splits 2 | 3 and checks both directions', () => {
    const result = buildTopology(chain(5, 2)).bisectionBandwidth();
    assert.equal(result.exact, true);
    // Cutting a chain anywhere leaves one 2-link hop across: 50 GB/s.
    assert.equal(result.bandwidthGBps, 50);
  });

  test('beyond 16 devices it searches and says the answer is approximate', () => {
    const result = buildTopology(chain(18, 1)).bisectionBandwidth();
    assert.equal(result.exact, false);
    assert.equal(result.halves[0].length + result.halves[1].length, 18);
    assert.equal(result.bandwidthGBps, 25);
  });

  test('one device, or none, has nothing to cut', () => {
    assert.equal(GpuTopology.empty().bisectionBandwidth().bandwidthGBps, 0);
    assert.equal(machine('mixed-cuda-webgpu').bisectionBandwidth().bandwidthGBps, 0);
  });
});

describe('serialisation', () => {
  test("toJSON carries devices, labelled links, every pair's best path, physical GPUs, bisection and notes", () => {
    const topology = machine('v100-nvlink-ring');
    const json = JSON.parse(JSON.stringify(topology)) as ReturnType<GpuTopology['toJSON']>;
    assert.equal(json.version, 1);
    assert.equal(json.devices.length, 4);
    assert.equal(json.links.length, 12);
    assert.equal(json.links.find((l) => l.from === 'cuda:0' && l.to === 'cuda:1')?.label, 'NVLink2 ×2');
    const path = json.paths.find((p) => p.from === 'cuda:0' && p.to === 'cuda:2');
    assert.deepEqual(path, {
      from: 'cuda:0',
      to: 'cuda:2',
      devices: ['cuda:0', 'cuda:1', 'cuda:2'],
      hops: 2,
      bottleneckGBps: 50,
      latencyUs: 4,
      basis: 'estimated',
    });
    assert.equal(json.bisection.bandwidthGBps, 75);
    assert.equal(json.fullyConnected, false);
    assert.equal(json.physicalGpus.length, 4);
  });

  test('toData round-trips through JSON into an equal topology', () => {
    const topology = machine('mixed-cuda-webgpu');
    const again = GpuTopology.fromData(
      JSON.parse(JSON.stringify(topology.toData())) as ReturnType<GpuTopology['toData']>,
    );
    assert.equal(again.toMatrixText(), topology.toMatrixText());
    assert.equal(again.machineKey, topology.machineKey);
  });

  test('the machine key changes when a GPU is swapped, not when devices are listed in another order', () => {
    const devices = machine('two-socket-pcie').devices;
    assert.equal(machineKey([...devices].reverse()), machineKey(devices));
    const swapped = devices.map((d, i) => (i === 2 ? { ...d, uuid: 'GPU-00000000-0000-0000-0000-000000000001' } : d));
    assert.notEqual(machineKey(swapped), machineKey(devices));
  });
});

describe('probe record helpers and figures', () => {
  test('normalise PCI bus ids and UUIDs from NVML, CUDA and Vulkan forms', () => {
    assert.equal(normalizePciBusId('00000000:1B:00.0'), '0000:1b:00.0');
    assert.equal(normalizePciBusId('0000:1b:00.0'), '0000:1b:00.0');
    assert.equal(normalizePciBusId('1b:00.0'), '0000:1b:00.0');
    assert.equal(normalizePciBusId('not a bus'), undefined);
    assert.equal(normalizeUuid('GPU-7f3c2a91-5b8e-4d07-a1c6-9e2f4b8d3a15'), '7f3c2a915b8e4d07a1c69e2f4b8d3a15');
    assert.equal(normalizeUuid('7F3C2A915B8E4D07A1C69E2F4B8D3A15'), '7f3c2a915b8e4d07a1c69e2f4b8d3a15');
    assert.equal(normalizeUuid('GPU-123'), undefined);
    assert.equal(nvlinkRemoteType('SWITCH'), 'switch');
    assert.equal(nvlinkRemoteType('IBMNPU'), 'cpu');
    assert.equal(nvlinkRemoteType(null), 'unknown');
    assert.equal(pcieLevel('HOSTBRIDGE'), 'HOSTBRIDGE');
    assert.equal(pcieLevel('weird'), 'UNKNOWN');
  });

  test('published figures: NVLink4 ×18 is 450 GB/s, PCIe Gen4 x16 ~25 GB/s, Gen5 x16 ~50 GB/s', () => {
    assert.equal(18 * nvlinkGBpsPerLink(4), 450);
    assert.equal(12 * nvlinkGBpsPerLink(3), 300);
    assert.equal(18 * nvlinkGBpsPerLink(5), 900);
    assert.equal(pcieGBps(4, 16), 25.2);
    assert.equal(pcieGBps(5, 16), 50.41);
    assert.equal(pcieGBps(3, 16), 12.61);
  });
});
