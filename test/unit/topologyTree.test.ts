import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { topologyTree } from '../../client/src/topologyTree';
import type { TopologyInfo } from '../../server/src/lsp/protocol';
import { MultiGpuCoordinator } from '../../server/src/coordinator/multiGpuCoordinator';
import { DEFAULT_COORDINATOR_CONFIG } from '../../server/src/coordinator/coordinatorTypes';
import { deviceInfos, machine } from './topology/machines';

function info(name: Parameters<typeof machine>[0], kernels: Record<string, string> = {}, drained: string[] = []): TopologyInfo {
  const topology = machine(name);
  const coordinator = new MultiGpuCoordinator();
  for (const device of deviceInfos(name)) coordinator.registerDevice(device);
  coordinator.setTopology(topology);
  for (const [kernel, device] of Object.entries(kernels)) coordinator.assignKernel(kernel, device);
  return {
    topology: topology.toJSON(), devices: [...coordinator.devices()], config: { ...DEFAULT_COORDINATOR_CONFIG, preferredDevices: [] }, drained,
    customSelector: false, probing: false, measuring: false, cachePath: '/tmp/topology.json',
  };
}

describe('topology tree (what the GPU Topology view shows)', () => {
  test('a device per topology device, with backend, memory, compute capability, NUMA node and load', () => {
    const nodes = topologyTree(info('dgx-h100', { k1: 'cuda:0', k2: 'cuda:0' }));
    const devices = nodes.filter((n) => n.kind === 'device');
    assert.equal(devices.length, 8);
    const first = devices[0];
    assert.equal(first?.device, 'cuda:0');
    assert.equal(first?.icon, 'chip');
    assert.equal(first?.description, 'CUDA · 2 kernels', 'short, for the default side-bar width');
    assert.match(first?.tooltip ?? '', /Compute capability: 9\.0/);
    assert.match(first?.tooltip ?? '', /Memory: .*GiB/);
    assert.match(first?.tooltip ?? '', /NUMA node: 0/);
    const kinds = first?.children.map((c) => c.kind) ?? [];
    assert.equal(kinds[0], 'hostLink');
    assert.equal(kinds.filter((k) => k === 'link').length, 7);
    assert.deepEqual(first?.children.filter((c) => c.kind === 'kernel').map((c) => c.label), ['k1', 'k2']);
  });

  test('links carry their interconnect, bandwidth, latency and whether they were measured', () => {
    const nodes = topologyTree(info('dgx-h100'));
    const link = nodes[0]?.children.find((c) => c.kind === 'link');
    assert.equal(link?.description, 'NVSwitch · 450 GB/s');
    assert.match(link?.label ?? '', /^→ cuda:\d$/);
    assert.match(link?.tooltip ?? '', /NVSwitch \(NVLink4, 18 links\) \(estimated\)/);
    assert.match(link?.tooltip ?? '', /Latency: .*µs/);
    assert.equal(link?.basis, 'estimated');
    assert.equal(link?.icon, 'arrow-swap');
    const pcie = topologyTree(info('two-socket-pcie'));
    const words = pcie.flatMap((n) => n.children).filter((c) => c.kind === 'link').map((c) => c.description ?? '');
    assert.ok(words.some((w) => /PCIe (PIX|PXB|PHB|NODE|SYS)/.test(w)), words.join('\n'));
  });

  test('the same physical GPU through another backend is shown as such', () => {
    const nodes = topologyTree(info('mixed-cuda-webgpu'));
    const same = nodes.flatMap((n) => n.children).filter((c) => c.kind === 'link' && /same physical GPU/.test(c.description ?? ''));
    assert.ok(same.length >= 2);
    assert.equal(same[0]?.icon, 'link');
  });

  test('while probing, with no devices, and when the server cannot answer, one clear line', () => {
    assert.equal(topologyTree(undefined)[0]?.label, 'Waiting for the language server…');
    assert.equal(topologyTree({ ...info('dgx-h100'), probing: true })[0]?.label, 'Probing GPU devices…');
    assert.match(topologyTree(undefined, 'Could not read the topology: boom')[0]?.label ?? '', /boom/);
    const empty = info('dgx-h100');
    const none = topologyTree({ ...empty, topology: { ...empty.topology, devices: [], links: [], notes: ['cuda probe unavailable: no driver'] } });
    assert.deepEqual(none.map((n) => n.kind), ['message', 'notes']);
    assert.equal(none[1]?.children[0]?.label, 'cuda probe unavailable: no driver');
  });

  test('a drained device says so instead of its load', () => {
    const nodes = topologyTree(info('dgx-h100', {}, ['cuda:3']));
    const drained = nodes.find((n) => n.device === 'cuda:3');
    assert.match(drained?.description ?? '', /drained$/);
    assert.equal(drained?.icon, 'debug-disconnect');
    assert.equal(drained?.drained, true, 'the view offers Undrain on it');
    assert.match(drained?.tooltip ?? '', /until it is undrained/);
    assert.equal(nodes.find((n) => n.device === 'cuda:2')?.drained, undefined);
  });

  test('a kernel row shows its version, rate and state', () => {
    const view = {
      id: 'k1', source: '/ws/heat.wgsl', language: 'wgsl' as const, entryPoint: 'main', state: 'running' as const, version: 3, step: 1200,
      stepsPerSecond: 59.6, rateHz: 60, stateBytes: 4096, device: 'cuda:0',
    };
    const nodes = topologyTree(info('dgx-h100', { k1: 'cuda:0', k2: 'cuda:0' }), undefined, [view]);
    const rows = nodes[0]?.children.filter((c) => c.kind === 'kernel') ?? [];
    assert.equal(rows[0]?.description, 'v3 · 60/s · running');
    assert.match(rows[0]?.tooltip ?? '', /Step 1,200/);
    assert.equal(rows[1]?.description, 'placed', 'a kernel the runtime does not know (yet)');
  });
});
