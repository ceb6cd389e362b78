import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { topologyTree, type TopologyNode } from '../../client/src/topologyTree';
import type { KernelView, KernelsInfo, TopologyInfo } from '../../server/src/lsp/protocol';
import { MultiGpuCoordinator } from '../../server/src/coordinator/multiGpuCoordinator';
import { DEFAULT_COORDINATOR_CONFIG } from '../../server/src/coordinator/coordinatorTypes';
import { deviceInfos, machine } from './topology/machines';

function info(
  name: Parameters<typeof machine>[0],
  kernels: Record<string, string> = {},
  drained: string[] = [],
): TopologyInfo {
  const topology = machine(name);
  const coordinator = new MultiGpuCoordinator();
  for (const device of deviceInfos(name)) coordinator.registerDevice(device);
  coordinator.setTopology(topology);
  for (const [kernel, device] of Object.entries(kernels)) coordinator.assignKernel(kernel, device);
  return {
    topology: topology.toJSON(),
    devices: [...coordinator.devices()],
    config: { ...DEFAULT_COORDINATOR_CONFIG, preferredDevices: [] },
    drained,
    customSelector: false,
    probing: false,
    measuring: false,
    cachePath: '/tmp/topology.json',
  };
}

function kernelView(change: { [K in keyof KernelView]?: KernelView[K] | undefined }): KernelView {
  const merged: Record<string, unknown> = {
    id: 'k',
    source: '/ws/k.ptx',
    language: 'ptx',
    entryPoint: 'main',
    state: 'running',
    backend: 'cuda',
    device: 'cuda:0',
    version: 1,
    step: 10,
    stepsPerSecond: 60,
    rateHz: 60,
    stateBytes: 1024,
    ...change,
  };
  // An undefined value removes that optional field.
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
  return merged as unknown as KernelView;
}

function kernelsInfo(kernels: KernelView[]): KernelsInfo {
  return {
    manifest: '/ws/ringkernel.json',
    trusted: true,
    started: true,
    manifestErrors: 0,
    kernels,
    stats: {
      successfulReloads: 0,
      failedReloads: 0,
      validationFailures: 0,
      rollbacks: 0,
      automaticRollbacks: 0,
      recoveries: 0,
      superseded: 0,
      retries: 0,
      statePreservedCount: 0,
      avgDrainMs: 0,
      avgCompileMs: 0,
      avgSwapMs: 0,
      avgTotalMs: 0,
    },
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
    assert.deepEqual(
      first?.children.filter((c) => c.kind === 'kernel').map((c) => c.label),
      ['k1', 'k2'],
    );
  });

  test('a link shows its current kernel message rate; traffic within a device shows on the device', () => {
    const base = info('dgx-h100');
    const withTraffic: TopologyInfo = {
      ...base,
      messageRates: [
        {
          from: 'cuda:0',
          to: 'cuda:1',
          route: 'directP2P',
          messagesPerSecond: 1234.4,
          bytesPerSecond: 64 * 1234,
          pending: 3,
        },
        { from: 'cuda:0', to: 'cuda:0', route: 'sameDevice', messagesPerSecond: 12.5, bytesPerSecond: 800, pending: 0 },
        { from: 'cuda:0', to: 'cuda:2', route: 'directP2P', messagesPerSecond: 0, bytesPerSecond: 0, pending: 0 },
      ],
    };
    const [device] = topologyTree(withTraffic);
    const links = device?.children.filter((c) => c.kind === 'link') ?? [];
    const toOne = links.find((l) => l.device === 'cuda:1');
    assert.match(toOne?.description ?? '', / · 1234 msg\/s$/);
    assert.match(toOne?.tooltip ?? '', /Kernel messages: 1234 msg\/s \(77\.1 KiB\/s\), route directP2P, 3 pending/);
    assert.doesNotMatch(
      links.find((l) => l.device === 'cuda:2')?.description ?? '',
      /msg\/s/,
      'an idle pair shows no rate',
    );
    assert.match(device?.description ?? '', / · 12\.5 msg\/s within$/);
    assert.doesNotMatch(topologyTree(base)[0]?.children.find((c) => c.kind === 'link')?.description ?? '', /msg/);
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
    const words = pcie
      .flatMap((n) => n.children)
      .filter((c) => c.kind === 'link')
      .map((c) => c.description ?? '');
    assert.ok(
      words.some((w) => /PCIe (PIX|PXB|PHB|NODE|SYS)/.test(w)),
      words.join('\n'),
    );
  });

  test('the same physical GPU through another backend is shown as such', () => {
    const nodes = topologyTree(info('mixed-cuda-webgpu'));
    const same = nodes
      .flatMap((n) => n.children)
      .filter((c) => c.kind === 'link' && /same physical GPU/.test(c.description ?? ''));
    assert.ok(same.length >= 2);
    assert.equal(same[0]?.icon, 'link');
  });

  test('while probing, with no devices, and when the server cannot answer, one clear line', () => {
    assert.equal(topologyTree(undefined)[0]?.label, 'Waiting for the language server…');
    assert.equal(topologyTree({ ...info('dgx-h100'), probing: true })[0]?.label, 'Probing GPU devices…');
    assert.match(topologyTree(undefined, 'Could not read the topology: boom')[0]?.label ?? '', /boom/);
    const empty = info('dgx-h100');
    const none = topologyTree({
      ...empty,
      topology: { ...empty.topology, devices: [], links: [], notes: ['cuda probe unavailable: no driver'] },
    });
    assert.deepEqual(
      none.map((n) => n.kind),
      ['message', 'notes'],
    );
    assert.equal(none[1]?.children[0]?.label, 'cuda probe unavailable: no driver');
  });

  test('a drained device says so instead of its load', () => {
    const nodes = topologyTree(info('dgx-h100', {}, ['cuda:3']));
    const drained = nodes.find((n) => n.device === 'cuda:3');
    assert.match(drained?.description ?? '', /drained$/);
    assert.equal(drained?.icon, 'debug-disconnect');
    assert.equal(drained?.drained, true, 'the view offers Undrain on it');
    assert.match(drained?.tooltip ?? '', /until Undrain Device/);
    assert.equal(nodes.find((n) => n.device === 'cuda:2')?.drained, undefined);
  });

  test("kernels are shown where the kernels' own info says they run, not where the coordinator last put them", () => {
    // The coordinator still records k1 on cuda:0; the kernel runs on cuda:1 after a migration.
    const topology = info('dgx-h100', { k1: 'cuda:0' });
    const kernels = kernelsInfo([
      kernelView({ id: 'k1', device: 'cuda:1', version: 2 }),
      kernelView({ id: 'k2', device: 'cuda:0', state: 'stopped' }),
      kernelView({ id: 'k3', device: undefined, state: 'failed' }),
    ]);
    const nodes = topologyTree(topology, undefined, kernels);
    const kernelRows = (key: string): TopologyNode[] =>
      nodes.find((n) => n.device === key)?.children.filter((c) => c.kind === 'kernel') ?? [];
    assert.deepEqual(kernelRows('cuda:0'), [], 'a stopped kernel is not shown on a device');
    const [k1] = kernelRows('cuda:1');
    assert.deepEqual(
      { id: k1?.id, label: k1?.label, kernel: k1?.kernel, device: k1?.device, description: k1?.description },
      { id: 'cuda:1/kernel/k1', label: 'k1', kernel: 'k1', device: 'cuda:1', description: 'v2 · 60/s · running' },
    );
    assert.match(nodes.find((n) => n.device === 'cuda:1')?.description ?? '', / 1 kernel$/);
    assert.match(nodes.find((n) => n.device === 'cuda:0')?.description ?? '', / 0 kernels$/);
    // Without the kernels' info the coordinator's record is all there is.
    assert.deepEqual(
      topologyTree(topology)
        .find((n) => n.device === 'cuda:0')
        ?.children.filter((c) => c.kind === 'kernel')
        .map((c) => c.kernel),
      ['k1'],
    );
  });

  test('a drained device that kept kernels no other device could take says they still run there', () => {
    const nodes = topologyTree(
      info('dgx-h100', {}, ['cuda:3']),
      undefined,
      kernelsInfo([kernelView({ id: 'k1', device: 'cuda:3' })]),
    );
    const drained = nodes.find((n) => n.device === 'cuda:3');
    assert.match(drained?.description ?? '', /drained · 1 kernel still running$/);
    assert.match(drained?.tooltip ?? '', /1 kernel no other device could take still run here/);
    assert.deepEqual(
      drained?.children.filter((c) => c.kind === 'kernel').map((c) => c.kernel),
      ['k1'],
    );
  });

  test('a kernel row shows its version, rate and state', () => {
    const nodes = topologyTree(
      info('dgx-h100', { k1: 'cuda:0', k2: 'cuda:0' }),
      undefined,
      kernelsInfo([
        kernelView({
          id: 'k1',
          source: '/ws/heat.wgsl',
          version: 3,
          step: 1200,
          stepsPerSecond: 59.6,
          stateBytes: 4096,
        }),
        kernelView({ id: 'k2', state: 'reloading', version: 2 }),
      ]),
    );
    const rows = nodes[0]?.children.filter((c) => c.kind === 'kernel') ?? [];
    assert.equal(rows[0]?.description, 'v3 · 60/s · running');
    assert.match(rows[0]?.tooltip ?? '', /Step 1,200/);
    assert.equal(rows[1]?.description, 'v2 · reloading', 'a rate only while running');
    const placed = topologyTree(info('dgx-h100', { k1: 'cuda:0' }))[0]?.children.find((c) => c.kind === 'kernel');
    assert.equal(placed?.description, 'placed', "without the kernels' info, only where the coordinator placed it");
  });
});
