// CUDA device instances (probe/cudaInstances.ts) and the migration routes between CUDA devices
// (migration/migrationRoute.ts): pure, on the recorded probes of real machine shapes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  MAX_CUDA_INSTANCES_PER_DEVICE,
  cudaInstanceIndex,
  cudaInstancesSetting,
  cudaOrdinalOf,
  withCudaInstances,
} from '../../server/src/probe/cudaInstances';
import type { MachineProbe } from '../../server/src/probe/machineProbe';
import { buildTopology } from '../../server/src/topology/buildTopology';
import { copiesDeviceToDevice, migrationRoute, routeLabel } from '../../server/src/migration/migrationRoute';
import { SETTING_DECLARATIONS } from '../../server/src/settings/settingDeclarations';
import { deviceInfo, machineProbes, type MachineName } from './topology/machines';

function machineProbe(name: MachineName): MachineProbe {
  const topology = machineProbes(name);
  const cuda = topology.devices.filter((d) => d.backend === 'cuda').map(deviceInfo);
  return { reports: [{ backend: 'cuda', available: true, devices: cuda, probeMs: 1 }], topology };
}

/** One H100, as the probe records it on the GPU machine (CUDA only). */
function oneGpu(): MachineProbe {
  const device = {
    key: 'cuda:0',
    backend: 'cuda' as const,
    index: 0,
    name: 'NVIDIA H100 80GB HBM3',
    pciBusId: '0000:1b:00.0',
    uuid: 'GPU-8a4f0c12-3b5e-4d6f-9a1b-2c3d4e5f6a7b',
    computeCapability: { major: 9, minor: 0 },
    // HBM3 at 2,619 MHz on a 5,120-bit bus, as the driver reports an H100 SXM's.
    memoryBandwidthGBps: 3352.32,
  };
  return {
    reports: [{ backend: 'cuda', available: true, devices: [deviceInfo(device)], probeMs: 1 }],
    topology: {
      devices: [device],
      cudaPeers: [],
      hostLinks: [
        { device: 'cuda:0', direction: 'hostToDevice', bandwidthGBps: 53, latencyUs: 10, measured: true },
        { device: 'cuda:0', direction: 'deviceToHost', bandwidthGBps: 55, latencyUs: 10, measured: true },
      ],
    },
  };
}

describe('ringkernel.cuda.instancesPerDevice', () => {
  test('takes whole numbers from 1 to 8; anything else is 1 with the reason', () => {
    assert.deepEqual(cudaInstancesSetting(undefined), { instances: 1 });
    assert.deepEqual(cudaInstancesSetting(2), { instances: 2 });
    assert.deepEqual(cudaInstancesSetting(MAX_CUDA_INSTANCES_PER_DEVICE), { instances: 8 });
    for (const bad of [0, 9, 1.5, '2', -1]) {
      const read = cudaInstancesSetting(bad);
      assert.equal(read.instances, 1);
      assert.match(read.issue ?? '', /ringkernel\.cuda\.instancesPerDevice must be a whole number from 1 to 8/);
    }
  });

  test('is declared like the WebGPU instances: an integer from 1 to 8, default 1', () => {
    assert.deepEqual(SETTING_DECLARATIONS['cuda.instancesPerDevice'], {
      type: 'integer',
      default: 1,
      minimum: 1,
      maximum: 8,
    });
  });
});

describe('CUDA device instance numbering', () => {
  test('the GPUs keep their ordinals; further instances follow GPU by GPU', () => {
    // 2 GPUs, 3 instances each: cuda:0 cuda:1 are the GPUs, cuda:2 cuda:3 GPU 0's, cuda:4 cuda:5 GPU 1's.
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((index) => cudaOrdinalOf(index, 2, 3)),
      [0, 1, 0, 0, 1, 1],
    );
    assert.deepEqual(
      [0, 1, 2].map((k) => cudaInstanceIndex(1, k, 2, 3)),
      [1, 4, 5],
    );
    for (let index = 0; index < 6; index++) {
      const ordinal = cudaOrdinalOf(index, 2, 3);
      const k = [0, 1, 2].find((candidate) => cudaInstanceIndex(ordinal, candidate, 2, 3) === index);
      assert.notEqual(k, undefined, `cuda:${index} is an instance of GPU ${ordinal}`);
    }
    assert.equal(cudaOrdinalOf(3, 4, 1), 3, 'one instance per GPU: the ordinal itself');
  });

  test('one GPU opened twice: cuda:0 and cuda:1, one physical GPU, staged figures from the GPU', () => {
    const probe = withCudaInstances(oneGpu(), 2);
    assert.deepEqual(
      probe.topology.devices.map((d) => [d.key, d.index, d.instanceOf]),
      [
        ['cuda:0', 0, undefined],
        ['cuda:1', 1, 'cuda:0'],
      ],
    );
    assert.equal(probe.topology.devices[1]?.name, 'NVIDIA H100 80GB HBM3 (instance 1)');
    assert.deepEqual(
      probe.reports[0]?.devices.map((d) => [d.index, d.name]),
      [
        [0, 'NVIDIA H100 80GB HBM3'],
        [1, 'NVIDIA H100 80GB HBM3 (instance 1)'],
      ],
    );
    const topology = buildTopology(probe.topology);
    assert.deepEqual(topology.link('cuda:0', 'cuda:1')?.interconnect, { kind: 'samePhysicalGpu', method: 'instance' });
    assert.equal(topology.device('cuda:1')?.hostLink.toDeviceGBps, 53, "the instance has its GPU's host links");
    // The state moves device to device: the link is a copy in device memory (half the peak), not the host's 53 GB/s.
    assert.equal(topology.link('cuda:1', 'cuda:0')?.bandwidthGBps, 1676.16);
    assert.equal(topology.link('cuda:0', 'cuda:1')?.basis, 'estimated');
    assert.equal(migrationRoute(topology, 'cuda:0', 'cuda:1'), 'samePhysicalGpu');
    assert.equal(copiesDeviceToDevice('samePhysicalGpu', 'cuda:0', 'cuda:1'), true);
    assert.equal(routeLabel('samePhysicalGpu', 'cuda:0', 'cuda:1'), 'same physical GPU, device to device');
  });

  test('a driver that reports no memory clock leaves the instances at the host figures', () => {
    const probe = withCudaInstances(oneGpu(), 2);
    for (const device of probe.topology.devices) delete device.memoryBandwidthGBps;
    assert.equal(buildTopology(probe.topology).link('cuda:0', 'cuda:1')?.bandwidthGBps, 53);
  });

  test('a CUDA device and the WebGPU adapter of the same GPU stage through the host whatever the memory', () => {
    const probe = oneGpu();
    const webgpu = {
      key: 'webgpu:0',
      backend: 'webgpu' as const,
      index: 0,
      name: 'NVIDIA H100 80GB HBM3',
      uuid: probe.topology.devices[0]?.uuid ?? '',
    };
    probe.topology.devices.push(webgpu);
    const topology = buildTopology(probe.topology);
    assert.equal(topology.link('cuda:0', 'webgpu:0')?.interconnect.kind, 'samePhysicalGpu');
    assert.ok((topology.link('cuda:0', 'webgpu:0')?.bandwidthGBps ?? Infinity) < 100);
  });

  test('one instance (the default) changes nothing', () => {
    const probe = oneGpu();
    assert.equal(withCudaInstances(probe, 1), probe);
  });

  test('a machine without CUDA is left as it is', () => {
    const probe: MachineProbe = { reports: [], topology: { devices: [] } };
    assert.equal(withCudaInstances(probe, 4), probe);
  });

  test("on an NVSwitch box, an instance's links to the other GPUs are its GPU's: NVLink peers", () => {
    const probe = withCudaInstances(machineProbe('dgx-h100'), 2);
    assert.equal(probe.topology.devices.length, 16);
    const topology = buildTopology(probe.topology);
    // cuda:8 is GPU 0's second instance, cuda:9 GPU 1's.
    assert.equal(probe.topology.devices.find((d) => d.key === 'cuda:8')?.instanceOf, 'cuda:0');
    assert.equal(probe.topology.devices.find((d) => d.key === 'cuda:9')?.instanceOf, 'cuda:1');
    assert.deepEqual(topology.link('cuda:8', 'cuda:1')?.interconnect, { kind: 'nvswitch', links: 18, generation: 4 });
    assert.deepEqual(topology.link('cuda:8', 'cuda:9')?.interconnect, { kind: 'nvswitch', links: 18, generation: 4 });
    assert.equal(topology.link('cuda:0', 'cuda:1')?.interconnect.kind, 'nvswitch', 'the GPUs keep their own links');
    assert.equal(topology.link('cuda:0', 'cuda:8')?.interconnect.kind, 'samePhysicalGpu');
    assert.equal(migrationRoute(topology, 'cuda:8', 'cuda:1'), 'nvlinkPeer');
    assert.equal(migrationRoute(topology, 'cuda:8', 'cuda:1', { enableP2P: false }), 'hostStaged');
    assert.equal(migrationRoute(topology, 'cuda:0', 'cuda:8', { enableP2P: false }), 'samePhysicalGpu');
  });
});

describe('migration routes between CUDA devices', () => {
  test('PCIe peers copy peer to peer with ringkernel.enableP2P on, and stage through the host with it off', () => {
    const topology = buildTopology(machineProbes('two-socket-pcie'));
    const pair = topology.links.find((l) => l.interconnect.kind === 'pcie');
    assert.ok(pair, 'the machine has a PCIe peer pair');
    assert.equal(migrationRoute(topology, pair.from, pair.to), 'pciePeer');
    assert.equal(migrationRoute(topology, pair.from, pair.to, { enableP2P: false }), 'hostStaged');
    assert.equal(copiesDeviceToDevice('pciePeer', pair.from, pair.to), true);
    assert.equal(routeLabel('pciePeer', pair.from, pair.to), 'PCIe peer');
  });

  test('a pair without peer access stages through the host', () => {
    const topology = buildTopology(machineProbes('two-socket-pcie'));
    const staged = topology.links.find((l) => l.interconnect.kind === 'host');
    if (staged) assert.equal(migrationRoute(topology, staged.from, staged.to), 'hostStaged');
    assert.equal(copiesDeviceToDevice('hostStaged', 'cuda:0', 'cuda:1'), false);
  });

  test('WebGPU instances of one adapter are one GPU too, but their bytes are staged through host memory', () => {
    assert.equal(copiesDeviceToDevice('samePhysicalGpu', 'webgpu:0', 'webgpu:1'), false);
    assert.equal(copiesDeviceToDevice('samePhysicalGpu', 'cuda:0', 'webgpu:0'), false);
    assert.equal(
      routeLabel('samePhysicalGpu', 'webgpu:0', 'webgpu:1'),
      'same physical GPU, staged through host memory',
    );
    assert.equal(routeLabel('samePhysicalGpu'), 'same physical GPU, staged through host memory');
    assert.equal(routeLabel('nvlinkPeer', 'cuda:0', 'cuda:1'), 'NVLink peer');
    assert.equal(routeLabel('hostStaged', 'cuda:0', 'cuda:1'), 'staged through the host');
  });
});
