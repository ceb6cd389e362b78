import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BackendReport } from '../../../server/src/backends/backendReport';
import type { CoordinatorConfig, CoordinatorStats } from '../../../server/src/coordinator/coordinatorTypes';
import { MultiGpuCoordinator } from '../../../server/src/coordinator/multiGpuCoordinator';
import { deviceInfos, machine, type MachineName } from '../topology/machines';

function coordinatorFor(name: MachineName, config: Partial<CoordinatorConfig> = {}): MultiGpuCoordinator {
  const coordinator = new MultiGpuCoordinator(config);
  for (const info of deviceInfos(name)) coordinator.registerDevice(info);
  coordinator.setTopology(machine(name));
  return coordinator;
}

const MiB = 2 ** 20;

describe('unregistering a device', () => {
  test('spreads its kernels over the least loaded devices (the seed sent them all to one)', () => {
    const coordinator = coordinatorFor('dgx-h100');
    for (let i = 0; i < 6; i++) assert.ok(coordinator.assignKernel(`k${i}`, 'cuda:0', { stateBytes: 64 * MiB }).ok);
    coordinator.assignKernel('busy1', 'cuda:1');
    const result = coordinator.unregisterDevice('cuda:0');
    assert.ok(result.success);
    assert.equal(result.migrations.length, 6);
    assert.deepEqual(result.orphans, []);
    const targets = result.migrations.map((m) => m.to);
    assert.equal(new Set(targets).size, 6);
    assert.ok(!targets.includes('cuda:1'), 'the busy device is passed over');
    for (const plan of result.migrations) {
      assert.equal(plan.from, 'cuda:0');
      assert.equal(coordinator.kernelDevice(plan.kernelId), plan.to);
      assert.equal(plan.transfer?.hops, 1);
      assert.equal(plan.transfer?.bottleneckGBps, 450);
      assert.deepEqual(plan.transfer?.interconnects, ['NVSwitch (NVLink4, 18 links)']);
      // 64 MiB over 450 GB/s plus 2.5 µs.
      assert.ok(Math.abs((plan.transfer?.seconds ?? 0) - ((64 * MiB) / 450e9 + 2.5e-6)) < 1e-12);
    }
    assert.equal(coordinator.device('cuda:0'), undefined);
    assert.equal(coordinator.stats().kernelCount, 7);
  });

  test('plans the most urgent kernels first, so they get the room there is', () => {
    const coordinator = coordinatorFor('two-socket-pcie', { maxKernelsPerDevice: 2 });
    coordinator.assignKernel('low', 'cuda:0', { priority: 'low' });
    coordinator.assignKernel('critical', 'cuda:0', { priority: 'critical' });
    coordinator.assignKernel('x1', 'cuda:1');
    coordinator.assignKernel('x2', 'cuda:2');
    coordinator.assignKernel('x3', 'cuda:2');
    coordinator.assignKernel('x4', 'cuda:3');
    coordinator.assignKernel('x5', 'cuda:3');
    // Room for one more kernel, on cuda:1.
    const result = coordinator.unregisterDevice('cuda:0');
    assert.deepEqual(
      result.migrations.map((m) => [m.kernelId, m.to, m.priority]),
      [['critical', 'cuda:1', 'critical']],
    );
    assert.deepEqual(
      result.orphans.map((o) => o.kernelId),
      ['low'],
    );
    assert.match(
      result.orphans[0]?.reason ?? '',
      /no other device can take it: cuda:1 full \(2 of 2 kernels\); cuda:2 full/,
    );
    assert.equal(coordinator.kernelDevice('low'), undefined);
  });

  test('ties go to the quickest transfer: within a socket over PCIe P2P rather than across through the host', () => {
    const coordinator = coordinatorFor('two-socket-pcie');
    coordinator.assignKernel('k', 'cuda:3', { stateBytes: 256 * MiB });
    const result = coordinator.unregisterDevice('cuda:3');
    assert.equal(result.migrations[0]?.to, 'cuda:2');
    assert.equal(result.migrations[0]?.transfer?.interconnects[0], 'PCIe PXB (peer-to-peer)');
  });

  test('estimates transfers over the multi-hop route; with P2P off, over the host', () => {
    const coordinator = coordinatorFor('v100-nvlink-ring', { maxKernelsPerDevice: 1 });
    coordinator.assignKernel('moving', 'cuda:0', { stateBytes: 100 * MiB });
    coordinator.assignKernel('b1', 'cuda:1');
    coordinator.assignKernel('b3', 'cuda:3');
    const result = coordinator.unregisterDevice('cuda:0');
    const plan = result.migrations[0];
    assert.equal(plan?.to, 'cuda:2');
    assert.deepEqual(plan?.transfer?.route, ['cuda:0', 'cuda:1', 'cuda:2']);
    assert.equal(plan?.transfer?.bottleneckGBps, 50);

    const hostOnly = coordinatorFor('v100-nvlink-ring', { maxKernelsPerDevice: 1, enableP2P: false });
    assert.deepEqual(hostOnly.transferEstimate('cuda:0', 'cuda:2', 100 * MiB)?.route, ['cuda:0', 'cuda:2']);
    assert.equal(hostOnly.transferEstimate('cuda:0', 'cuda:2', 100 * MiB)?.bottleneckGBps, 12.61);
  });

  test('a single device leaves its kernels orphaned', () => {
    const coordinator = new MultiGpuCoordinator();
    const [only] = deviceInfos('two-socket-pcie');
    assert.ok(only);
    coordinator.registerDevice(only);
    coordinator.place('k1');
    const result = coordinator.unregisterDevice('cuda:0');
    assert.ok(result.success);
    assert.deepEqual(result.migrations, []);
    assert.deepEqual(result.orphans, [{ kernelId: 'k1', from: 'cuda:0', reason: 'no other device is registered' }]);
    assert.equal(coordinator.kernelDevice('k1'), undefined);
    assert.equal(result.migrations.length + result.orphans.length, 1);
  });

  test('kernels keep to their backend and off the same physical GPU', () => {
    const coordinator = coordinatorFor('mixed-cuda-webgpu');
    coordinator.place('ptx', { backend: 'cuda' });
    coordinator.place('any');
    coordinator.assignKernel('any', 'cuda:0');
    const result = coordinator.unregisterDevice('cuda:0');
    assert.deepEqual(result.orphans, [
      { kernelId: 'ptx', from: 'cuda:0', reason: 'no other cuda device is registered' },
    ]);
    // webgpu:0 is the same H100: draining the GPU must not put the kernel back on it.
    assert.deepEqual(
      result.migrations.map((m) => [m.kernelId, m.to]),
      [['any', 'webgpu:1']],
    );

    const keepAliases = coordinatorFor('mixed-cuda-webgpu');
    // Both WebGPU adapters are empty: 64 MiB reach the H100's own adapter (12.6 GB/s) sooner than lavapipe (10 GB/s).
    keepAliases.assignKernel('any', 'cuda:0', { stateBytes: 64 * MiB });
    assert.equal(
      keepAliases.unregisterDevice('cuda:0', { excludeSamePhysicalGpu: false }).migrations[0]?.to,
      'webgpu:0',
    );
  });

  test('an unknown or already removed device is a failed result, not a second removal', () => {
    const coordinator = coordinatorFor('two-socket-pcie');
    assert.deepEqual(coordinator.unregisterDevice('cuda:99'), {
      device: 'cuda:99',
      success: false,
      error: 'cuda:99 is not registered',
      migrations: [],
      orphans: [],
    });
    assert.ok(coordinator.unregisterDevice('cuda:1').success);
    assert.equal(coordinator.unregisterDevice('cuda:1').success, false);
    assert.equal(coordinator.stats().unregisters, 1);
    assert.equal(coordinator.stats().deviceCount, 3);
  });

  test('a backend report without a device (it vanished) unregisters it; an unavailable backend removes all of its devices', () => {
    const coordinator = coordinatorFor('mixed-cuda-webgpu');
    coordinator.place('w', { backend: 'webgpu' });
    const infos = deviceInfos('mixed-cuda-webgpu');
    const webgpu: BackendReport = {
      backend: 'webgpu',
      available: true,
      devices: infos.filter((d) => d.backend === 'webgpu' && d.index === 1),
      probeMs: 5,
    };
    const first = coordinator.syncDevices([webgpu]);
    assert.deepEqual(first.added, []);
    assert.deepEqual(first.updated, ['webgpu:1']);
    assert.deepEqual(
      first.removed.map((r) => r.device),
      ['webgpu:0'],
    );
    assert.deepEqual(
      first.removed[0]?.migrations.map((m) => [m.kernelId, m.to]),
      [['w', 'webgpu:1']],
    );
    assert.equal(coordinator.device('cuda:0')?.key, 'cuda:0', 'a backend without a report is untouched');
    const second = coordinator.syncDevices([
      { backend: 'cuda', available: false, reason: 'the CUDA device host crashed', devices: [], probeMs: 1 },
    ]);
    assert.deepEqual(
      second.removed.map((r) => r.device),
      ['cuda:0'],
    );
    assert.deepEqual(
      coordinator.devices().map((d) => d.key),
      ['webgpu:1'],
    );
  });
});

describe('statistics', () => {
  function assertSane(coordinator: MultiGpuCoordinator, step: string): void {
    const stats: CoordinatorStats = coordinator.stats();
    for (const [name, value] of Object.entries(stats)) {
      if (typeof value === 'number') assert.ok(value >= 0 && Number.isFinite(value), `${step}: ${name} = ${value}`);
    }
    for (const [name, value] of Object.entries(stats.placementsByDecider))
      assert.ok(value >= 0, `${step}: ${name} = ${value}`);
    const views = coordinator.devices();
    assert.equal(
      stats.kernelCount,
      coordinator.kernels().filter((k) => views.some((v) => v.key === k.device)).length,
      step,
    );
    assert.equal(
      views.reduce((sum, v) => sum + v.kernelCount, 0),
      stats.kernelCount,
      `${step}: per-device counts add up`,
    );
    for (const view of views) {
      assert.ok(view.kernelCount >= 0 && view.load >= 0, step);
      assert.deepEqual([...view.kernels].sort(), coordinator.kernelsOn(view.key).sort(), step);
    }
  }

  test('never go negative and always add up, whatever the order of operations', () => {
    // A fixed-seed generator: the same sequence on every run.
    let seed = 12345;
    const next = (n: number): number => {
      // mulberry32
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    const coordinator = coordinatorFor('dgx-h100', { maxKernelsPerDevice: 4, loadBalancing: 'roundRobin' });
    const infos = deviceInfos('dgx-h100');
    for (let step = 0; step < 600; step++) {
      const kernel = `k${next(40)}`;
      const device = `cuda:${next(9)}`;
      switch (next(8)) {
        case 0:
        case 1:
          coordinator.place(kernel);
          break;
        case 2:
          coordinator.removeKernel(kernel);
          break;
        case 3:
          coordinator.removeKernel(`missing${step}`);
          break;
        case 4:
          coordinator.assignKernel(kernel, device, { force: true });
          break;
        case 5:
          coordinator.unregisterDevice(device);
          break;
        case 6: {
          const info = infos[next(8)];
          if (info) coordinator.registerDevice(info);
          break;
        }
        default:
          coordinator.assignKernel(kernel, device);
          break;
      }
      assertSane(coordinator, `step ${step}`);
    }
    const stats = coordinator.stats();
    assert.ok(stats.unregisters > 0 && stats.removals > 0 && stats.placements > 0 && stats.migrationsPlanned > 0);
  });

  test('removing a kernel twice, or one never placed, changes nothing', () => {
    const coordinator = coordinatorFor('two-socket-pcie');
    coordinator.place('k');
    assert.equal(coordinator.removeKernel('k'), true);
    assert.equal(coordinator.removeKernel('k'), false);
    assert.equal(coordinator.removeKernel('never'), false);
    assert.equal(coordinator.stats().removals, 1);
    assert.equal(coordinator.device('cuda:0')?.kernelCount, 0);
  });
});
