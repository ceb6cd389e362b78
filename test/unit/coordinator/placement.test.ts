import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CoordinatorChange, CoordinatorConfig } from '../../../server/src/coordinator/coordinatorTypes';
import { MultiGpuCoordinator } from '../../../server/src/coordinator/multiGpuCoordinator';
import type { Logger } from '../../../server/src/logger';
import { deviceInfos, machine, type MachineName } from '../topology/machines';
import { coordinatorConfigOf, readSettings } from '../../../server/src/settings';

function coordinatorFor(
  name: MachineName,
  config: Partial<CoordinatorConfig> = {},
  logger?: Logger,
): MultiGpuCoordinator {
  const coordinator = new MultiGpuCoordinator(config, logger ? { logger } : {});
  for (const info of deviceInfos(name)) coordinator.registerDevice(info);
  coordinator.setTopology(machine(name));
  return coordinator;
}

function placeMany(coordinator: MultiGpuCoordinator, count: number, prefix = 'k'): string[] {
  const devices: string[] = [];
  for (let i = 0; i < count; i++) {
    const placement = coordinator.place(`${prefix}${i}`);
    assert.ok(placement.ok, placement.ok ? '' : placement.error.message);
    devices.push(placement.device);
  }
  return devices;
}

const GiB = 2 ** 30;

describe('placement strategies', () => {
  test('firstAvailable fills the first device up to the kernel limit, then moves on', () => {
    const coordinator = coordinatorFor('v100-nvlink-ring', { loadBalancing: 'firstAvailable', maxKernelsPerDevice: 2 });
    assert.deepEqual(placeMany(coordinator, 5), ['cuda:0', 'cuda:0', 'cuda:1', 'cuda:1', 'cuda:2']);
    assert.equal(coordinator.stats().placementsByDecider.firstAvailable, 5);
  });

  test('leastLoaded spreads kernels evenly', () => {
    const coordinator = coordinatorFor('dgx-h100');
    placeMany(coordinator, 20);
    const counts = coordinator.devices().map((d) => d.kernelCount);
    assert.deepEqual(counts, [3, 3, 3, 3, 2, 2, 2, 2]);
  });

  test('roundRobin cycles, skips a full device, and stays in order after a device leaves', () => {
    const coordinator = coordinatorFor('two-socket-pcie', { loadBalancing: 'roundRobin' });
    assert.deepEqual(placeMany(coordinator, 5, 'a'), ['cuda:0', 'cuda:1', 'cuda:2', 'cuda:3', 'cuda:0']);
    coordinator.configure({ maxKernelsPerDevice: 2 });
    // cuda:0 holds 2 now: full.
    assert.deepEqual(placeMany(coordinator, 3, 'b'), ['cuda:1', 'cuda:2', 'cuda:3']);
    coordinator.configure({ maxKernelsPerDevice: 64 });
    coordinator.unregisterDevice('cuda:1');
    assert.deepEqual(placeMany(coordinator, 3, 'c'), ['cuda:0', 'cuda:2', 'cuda:3']);
  });

  test('a preview does not advance round robin', () => {
    const coordinator = coordinatorFor('two-socket-pcie', { loadBalancing: 'roundRobin' });
    const first = coordinator.selectDevice();
    const again = coordinator.selectDevice();
    assert.deepEqual(first, again);
    assert.equal(coordinator.stats().placements, 0);
  });

  test('memoryBased picks the most free memory and counts what it already placed there', () => {
    const coordinator = coordinatorFor('two-socket-pcie', { loadBalancing: 'memoryBased' });
    coordinator.updateDeviceMemory('cuda:2', 40 * GiB);
    coordinator.updateDeviceMemory('cuda:0', 30 * GiB);
    coordinator.updateDeviceMemory('cuda:1', 30 * GiB);
    coordinator.updateDeviceMemory('cuda:3', 20 * GiB);
    const placed: string[] = [];
    for (let i = 0; i < 3; i++) {
      const placement = coordinator.place(`big${i}`, { memoryBytes: 8 * GiB });
      assert.ok(placement.ok);
      placed.push(placement.device);
    }
    // 40 → 32 free on cuda:2, still the most; then 24 < 30 so cuda:0 (tie with cuda:1, fewer kernels first, then order).
    assert.deepEqual(placed, ['cuda:2', 'cuda:2', 'cuda:0']);
    assert.equal(coordinator.device('cuda:2')?.memoryAvailableBytes, 24 * GiB);
    assert.equal(coordinator.device('cuda:2')?.memoryPendingBytes, 16 * GiB);
    // A fresh report includes those kernels: nothing is pending any more.
    coordinator.updateDeviceMemory('cuda:2', 24 * GiB);
    assert.equal(coordinator.device('cuda:2')?.memoryPendingBytes, 0);
    assert.equal(coordinator.device('cuda:2')?.memoryAvailableBytes, 24 * GiB);
  });

  test('computeCapability prefers the newest architecture; WebGPU devices without one come last', () => {
    const coordinator = coordinatorFor('mixed-cuda-webgpu', {
      loadBalancing: 'computeCapability',
      maxKernelsPerDevice: 1,
    });
    assert.deepEqual(placeMany(coordinator, 3), ['cuda:0', 'webgpu:0', 'webgpu:1']);
  });

  test('a kernel that needs a backend or memory only goes where it fits', () => {
    const coordinator = coordinatorFor('mixed-cuda-webgpu');
    const wgsl = coordinator.place('wgsl', { backend: 'webgpu' });
    assert.ok(wgsl.ok);
    assert.match(wgsl.device, /^webgpu:/);
    const ptx = coordinator.place('ptx', { backend: 'cuda' });
    assert.deepEqual(ptx.ok && ptx.device, 'cuda:0');
    const huge = coordinator.place('huge', { backend: 'cuda', memoryBytes: 100 * GiB });
    assert.equal(huge.ok, false);
    assert.equal(huge.ok ? '' : huge.error.code, 'NO_ELIGIBLE_DEVICE');
    assert.match(huge.ok ? '' : huge.error.message, /cuda:0 needs 100 GiB, 79\.2 GiB free/);
    assert.deepEqual(huge.ok ? [] : huge.error.rejected?.map((r) => r.device), ['cuda:0', 'webgpu:0', 'webgpu:1']);
  });
});

describe('kernel limit and availability', () => {
  test('a full device is not available and never chosen; when all are full, placement fails and says why', () => {
    const coordinator = coordinatorFor('two-socket-pcie', { maxKernelsPerDevice: 1 });
    placeMany(coordinator, 4);
    const views = coordinator.devices();
    assert.ok(views.every((v) => !v.available && v.unavailableReason === 'full (1 of 1 kernels)' && v.load === 1));
    const placement = coordinator.place('one-too-many');
    assert.equal(placement.ok, false);
    assert.equal(placement.ok ? '' : placement.error.code, 'NO_ELIGIBLE_DEVICE');
    assert.match(placement.ok ? '' : placement.error.message, /cuda:0 full \(1 of 1 kernels\)/);
    assert.equal(coordinator.stats().placementFailures, 1);
    assert.equal(coordinator.kernelDevice('one-too-many'), undefined);
  });

  test('a device whose reported free memory is gone is not available', () => {
    const coordinator = coordinatorFor('two-socket-pcie');
    coordinator.updateDeviceMemory('cuda:0', 0);
    assert.equal(coordinator.device('cuda:0')?.available, false);
    assert.equal(coordinator.device('cuda:0')?.unavailableReason, 'no free memory');
    assert.ok(placeMany(coordinator, 6).every((d) => d !== 'cuda:0'));
  });

  test("lowering the limit below a device's count keeps its kernels and shows load above 1", () => {
    const coordinator = coordinatorFor('two-socket-pcie', { loadBalancing: 'firstAvailable' });
    placeMany(coordinator, 4);
    coordinator.configure({ maxKernelsPerDevice: 2 });
    assert.equal(coordinator.device('cuda:0')?.kernelCount, 4);
    assert.equal(coordinator.device('cuda:0')?.load, 2);
    assert.equal(coordinator.device('cuda:0')?.available, false);
  });

  test('explicit assignment refuses a full device unless forced, and moves a kernel without double counting', () => {
    const coordinator = coordinatorFor('two-socket-pcie', { maxKernelsPerDevice: 1 });
    assert.deepEqual(coordinator.assignKernel('a', 'cuda:0'), { ok: true, device: 'cuda:0' });
    const refused = coordinator.assignKernel('b', 'cuda:0');
    assert.equal(refused.ok ? '' : refused.error.code, 'DEVICE_FULL');
    assert.ok(coordinator.assignKernel('b', 'cuda:0', { force: true }).ok);
    assert.deepEqual(coordinator.assignKernel('a', 'cuda:1'), { ok: true, device: 'cuda:1', previous: 'cuda:0' });
    assert.deepEqual(
      coordinator.devices().map((d) => d.kernelCount),
      [1, 1, 0, 0],
    );
    const missing = coordinator.assignKernel('c', 'cuda:9');
    assert.equal(missing.ok ? '' : missing.error.code, 'UNKNOWN_DEVICE');
  });
});

describe('preferred devices', () => {
  test('configured preferred devices are used first, the strategy choosing among them', () => {
    const coordinator = coordinatorFor('dgx-h100', { preferredDevices: ['cuda:6', 'cuda:7'] });
    assert.deepEqual(placeMany(coordinator, 4), ['cuda:6', 'cuda:7', 'cuda:6', 'cuda:7']);
    assert.ok(coordinator.device('cuda:6')?.preferred);
    assert.equal(coordinator.stats().preferredFallbacks, 0);
  });

  test('when no preferred device can take a kernel, others do, and the placement says why', () => {
    const coordinator = coordinatorFor('dgx-h100', { preferredDevices: ['cuda:6', 'cuda:99'], maxKernelsPerDevice: 1 });
    assert.deepEqual(placeMany(coordinator, 2), ['cuda:6', 'cuda:0']);
    const third = coordinator.place('third');
    assert.ok(third.ok);
    assert.equal(third.preferredSkipped, 'no preferred device (cuda:6, cuda:99) can take it');
    assert.equal(coordinator.stats().preferredFallbacks, 2);
  });

  test("a request's own preferred device wins when it can take the kernel", () => {
    const coordinator = coordinatorFor('dgx-h100', { preferredDevices: ['cuda:6'] });
    const placement = coordinator.place('pinned', { preferredDevice: 'cuda:3' });
    assert.deepEqual(placement, { ok: true, device: 'cuda:3', decidedBy: 'requestedDevice' });
    const missing = coordinator.place('pinned-missing', { preferredDevice: 'cuda:42' });
    assert.ok(missing.ok);
    assert.equal(missing.device, 'cuda:6');
    assert.equal(missing.preferredSkipped, 'requested device cuda:42: not registered');
  });
});

describe('requests, settings and events', () => {
  test('no devices, a kernel placed twice, and a bad request are clear errors', () => {
    const empty = new MultiGpuCoordinator();
    const none = empty.place('k');
    assert.equal(none.ok ? '' : none.error.code, 'NO_DEVICES');
    const coordinator = coordinatorFor('two-socket-pcie');
    assert.ok(coordinator.place('k').ok);
    const twice = coordinator.place('k');
    assert.equal(twice.ok ? '' : twice.error.code, 'KERNEL_ALREADY_PLACED');
    assert.match(twice.ok ? '' : twice.error.message, /kernel "k" is already on cuda:0/);
    const bad = coordinator.place('bad', { memoryBytes: Number.NaN });
    assert.equal(bad.ok ? '' : bad.error.code, 'INVALID_REQUEST');
    assert.equal(coordinator.kernels().length, 1);
  });

  test('settings from the editor, as server/src/settings reads them: bad values fall back, the rest applies', () => {
    const coordinator = coordinatorFor('two-socket-pcie');
    const read = readSettings({
      loadBalancing: 'Fastest',
      maxKernelsPerDevice: 0,
      preferredDevices: ['cuda:1', 7, 'gpu zero'],
      enableP2P: 'yes',
    });
    assert.equal(read.problems.length, 4);
    coordinator.configure(coordinatorConfigOf(read.settings));
    assert.deepEqual(coordinator.getConfig(), {
      loadBalancing: 'leastLoaded',
      maxKernelsPerDevice: 1,
      preferredDevices: ['cuda:1'],
      enableP2P: true,
    });
    coordinator.configure(coordinatorConfigOf(readSettings({ loadBalancing: 'RoundRobin' }).settings));
    assert.equal(coordinator.getConfig().loadBalancing, 'roundRobin');
  });

  test('every change raises the version and tells listeners; a throwing listener does not stop the rest', () => {
    const errors: string[] = [];
    const logger: Logger = {
      error: (m) => errors.push(m),
      warn: () => undefined,
      info: () => undefined,
      debug: () => undefined,
    };
    const coordinator = coordinatorFor('two-socket-pcie', {}, logger);
    const seen: CoordinatorChange[] = [];
    coordinator.onDidChange(() => {
      throw new Error('view crashed');
    });
    const subscription = coordinator.onDidChange((change) => seen.push(change));
    const before = coordinator.version;
    coordinator.place('k');
    coordinator.removeKernel('k');
    coordinator.unregisterDevice('cuda:3');
    subscription.dispose();
    coordinator.place('after');
    assert.deepEqual(
      seen.map((c) => c.kind),
      ['kernels', 'kernels', 'devices'],
    );
    assert.ok(seen.every((c, i) => c.version > (seen[i - 1]?.version ?? before)));
    assert.ok(coordinator.version > (seen[2]?.version ?? 0));
    assert.equal(errors.length, 4);
    assert.match(errors[0] ?? '', /coordinator change listener failed: view crashed/);
  });

  test('device views carry topology facts for the tree view', () => {
    const coordinator = coordinatorFor('dgx-h100');
    assert.equal(coordinator.device('cuda:5')?.numaNode, 1);
    assert.equal(coordinator.device('cuda:5')?.physicalGpu, 'gpu5');
    assert.ok(Object.isFrozen(coordinator.device('cuda:5')));
    const mixed = coordinatorFor('mixed-cuda-webgpu');
    assert.equal(mixed.device('webgpu:0')?.physicalGpu, mixed.device('cuda:0')?.physicalGpu);
  });

  test('placing 1,000 kernels on 8 devices is quick', () => {
    const coordinator = coordinatorFor('dgx-h100', { maxKernelsPerDevice: 200 });
    const started = process.hrtime.bigint();
    placeMany(coordinator, 1000);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.deepEqual(
      coordinator.devices().map((d) => d.kernelCount),
      [125, 125, 125, 125, 125, 125, 125, 125],
    );
    assert.ok(ms < 5000, `${ms} ms`);
  });
});
