import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildTopology } from '../../../server/src/topology/buildTopology';
import { GpuTopology } from '../../../server/src/topology/gpuTopology';
import type {
  CudaPeerProbe,
  DeviceProbe,
  NvmlDeviceProbe,
  TopologyProbes,
} from '../../../server/src/probe/probeRecords';
import { decideRoute } from '../../../server/src/router/routingDecision';
import { RoutingTable } from '../../../server/src/router/routingTable';
import { machine } from '../topology/machines';

const on = { enableP2P: true };
const off = { enableP2P: false };

/** n CUDA GPUs on an NVLink chain 0-1-…-(n-1), peer access only along the chain. */
function chain(n: number): GpuTopology {
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
        [0, 1, 2, 3].map((l) => ({
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
  const probes: TopologyProbes = { devices, nvml, cudaPeers, pcie: [] };
  return buildTopology(probes);
}

describe('routing decisions', () => {
  test('two kernels on one device: sameDevice, zero hops', () => {
    const decision = decideRoute(machine('dgx-h100'), 'cuda:3', 'cuda:3', on);
    assert.equal(decision.kind, 'sameDevice');
    assert.equal(decision.hops, 0);
    assert.deepEqual(decision.path, ['cuda:3']);
    assert.match(decision.reason, /both kernels on cuda:3/);
  });

  test('CUDA devices with peer access and enableP2P on: a direct peer copy over the link', () => {
    const decision = decideRoute(machine('dgx-h100'), 'cuda:0', 'cuda:5', on);
    assert.equal(decision.kind, 'directP2P');
    assert.equal(decision.bandwidthGBps, 450);
    assert.deepEqual(decision.path, ['cuda:0', 'cuda:5']);
    assert.match(decision.reason, /NVSwitch .* from cuda:0 to cuda:5 with CUDA peer access/);
    assert.equal(decideRoute(machine('two-socket-pcie'), 'cuda:2', 'cuda:3', on).kind, 'directP2P');
  });

  test('enableP2P off: through the host, and the reason says so', () => {
    const decision = decideRoute(machine('dgx-h100'), 'cuda:0', 'cuda:5', off);
    assert.equal(decision.kind, 'hostMediated');
    assert.match(decision.reason, /ringkernel\.enableP2P is off/);
    assert.equal(decideRoute(machine('v100-nvlink-ring'), 'cuda:0', 'cuda:2', off).kind, 'hostMediated');
  });

  test('no direct peer link: multi-hop along the widest path, when it beats the host', () => {
    const ring = decideRoute(machine('v100-nvlink-ring'), 'cuda:0', 'cuda:2', on);
    assert.equal(ring.kind, 'multiHop');
    assert.deepEqual(ring.path, ['cuda:0', 'cuda:1', 'cuda:2']);
    assert.equal(ring.hops, 2);
    assert.equal(ring.bandwidthGBps, 50);
    assert.match(
      ring.reason,
      /no direct peer link from cuda:0 to cuda:2; the widest path cuda:0 → cuda:1 → cuda:2 \(50 GB\/s\) beats the host route's 12\.61 GB\/s/,
    );
    const long = decideRoute(chain(5), 'cuda:0', 'cuda:4', on);
    assert.deepEqual(long.path, ['cuda:0', 'cuda:1', 'cuda:2', 'cuda:3', 'cuda:4']);
    assert.equal(long.interconnects.length, 4);
  });

  test('a peer detour no wider than the host route: through the host', () => {
    // two-socket-pcie: cuda:0 ↔ cuda:1 is PCIe P2P at host-link speed, cuda:1 → cuda:2 only through the host.
    const decision = decideRoute(machine('two-socket-pcie'), 'cuda:0', 'cuda:2', on);
    assert.equal(decision.kind, 'hostMediated');
    assert.match(decision.reason, /no CUDA peer access from cuda:0 to cuda:2 and no wider peer path/);
  });

  test('WebGPU devices and one GPU seen through two backends go through the host, each with its reason', () => {
    const mixed = machine('mixed-cuda-webgpu');
    const same = decideRoute(mixed, 'cuda:0', 'webgpu:0', on);
    assert.equal(same.kind, 'hostMediated');
    assert.match(same.reason, /one physical GPU through two backends/);
    const web = decideRoute(mixed, 'webgpu:0', 'webgpu:1', on);
    assert.equal(web.kind, 'hostMediated');
    assert.match(web.reason, /webgpu:0 is a webgpu device, which has no peer copies/);
    assert.equal(web.bandwidthGBps, 10);
  });

  test('a device the topology does not know is still reachable through the host', () => {
    const decision = decideRoute(GpuTopology.empty(), 'webgpu:0', 'webgpu:1', on);
    assert.equal(decision.kind, 'hostMediated');
    assert.match(decision.reason, /webgpu:0 is not in the topology/);
  });
});

describe('routing table', () => {
  test("caches each device pair's decision until the topology or enableP2P changes", () => {
    const table = new RoutingTable(machine('dgx-h100'), on);
    const first = table.decideDevices('cuda:0', 'cuda:1');
    assert.equal(table.decideDevices('cuda:0', 'cuda:1'), first, 'the same object: no recomputation');
    table.setPolicy({ enableP2P: true });
    assert.equal(table.decideDevices('cuda:0', 'cuda:1'), first, 'an unchanged setting keeps the cache');
    table.setPolicy(off);
    assert.equal(table.decideDevices('cuda:0', 'cuda:1').kind, 'hostMediated');
    table.setPolicy(on);
    table.setTopology(machine('v100-nvlink-ring'));
    assert.equal(table.decideDevices('cuda:0', 'cuda:2').kind, 'multiHop');
  });

  test('more devices than the first table size keep every decision right', () => {
    const table = new RoutingTable(chain(12), on);
    const early = table.decideDevices('cuda:0', 'cuda:1');
    for (let i = 0; i < 12; i++) table.slotOf(`cuda:${i}`);
    assert.equal(table.decideDevices('cuda:0', 'cuda:1'), early, 'cached decisions survive the table growing');
    assert.equal(table.decideDevices('cuda:10', 'cuda:11').kind, 'directP2P');
    assert.deepEqual(table.decideDevices('cuda:9', 'cuda:11').path, ['cuda:9', 'cuda:10', 'cuda:11']);
    assert.equal(table.decideDevices('cuda:11', 'cuda:11').kind, 'sameDevice');
    assert.throws(() => table.deviceOf(99), /no device has slot 99/);
  });
});
