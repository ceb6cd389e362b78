import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DeviceSelector, SelectorFailureCode } from '../../../server/src/coordinator/coordinatorTypes';
import { MultiGpuCoordinator } from '../../../server/src/coordinator/multiGpuCoordinator';
import { deviceInfos, machine } from '../topology/machines';

function customCoordinator(maxKernelsPerDevice = 64): MultiGpuCoordinator {
  const coordinator = new MultiGpuCoordinator({ loadBalancing: 'custom', maxKernelsPerDevice });
  for (const info of deviceInfos('v100-nvlink-ring')) coordinator.registerDevice(info);
  coordinator.setTopology(machine('v100-nvlink-ring'));
  return coordinator;
}

describe('custom device selector', () => {
  test('a well-behaved selector decides, seeing frozen views of the devices that can take the kernel', () => {
    const coordinator = customCoordinator(1);
    coordinator.assignKernel('existing', 'cuda:0');
    let seen: readonly string[] = [];
    coordinator.setDeviceSelector((candidates, request) => {
      seen = candidates.map((c) => c.key);
      assert.ok(Object.isFrozen(candidates));
      assert.ok(candidates.every((c) => Object.isFrozen(c)));
      assert.equal(request.stateBytes, 4096);
      return candidates.at(-1)?.key;
    });
    const placement = coordinator.place('k', { stateBytes: 4096 });
    assert.deepEqual(placement, { ok: true, device: 'cuda:3', decidedBy: 'custom' });
    assert.deepEqual(seen, ['cuda:1', 'cuda:2', 'cuda:3']);
    const stats = coordinator.stats();
    assert.equal(stats.placementsByDecider.custom, 1);
    assert.equal(stats.selectorCalls, 1);
    assert.equal(stats.selectorFailures, 0);
  });

  const badSelectors: [string, DeviceSelector, SelectorFailureCode, RegExp][] = [
    [
      'throws',
      () => {
        throw new Error('scheduler offline');
      },
      'SELECTOR_THREW',
      /the device selector threw: scheduler offline/,
    ],
    [
      'returns a device that does not exist',
      () => 'cuda:7',
      'SELECTOR_RETURNED_MISSING',
      /returned "cuda:7", which is not a registered device/,
    ],
    [
      "returns an index, as the seed's selector did",
      (() => 3) as unknown as DeviceSelector,
      'SELECTOR_RETURNED_INVALID',
      /returned 3 \(a number\); it must return a candidate's key such as "cuda:1"/,
    ],
    [
      'returns a full device',
      () => 'cuda:0',
      'SELECTOR_RETURNED_INELIGIBLE',
      /returned "cuda:0", which cannot take this kernel: full \(1 of 1 kernels\)/,
    ],
    [
      'returns a Promise',
      (() => Promise.resolve('cuda:1')) as unknown as DeviceSelector,
      'SELECTOR_RETURNED_INVALID',
      /returned a Promise/,
    ],
    ['returns null', (() => null) as unknown as DeviceSelector, 'SELECTOR_RETURNED_INVALID', /returned null/],
  ];
  for (const [what, selector, code, message] of badSelectors) {
    test(`a selector that ${what}: clear error in the stats, LeastLoaded places the kernel on a real device`, () => {
      const coordinator = customCoordinator(1);
      coordinator.assignKernel('existing', 'cuda:0');
      coordinator.setDeviceSelector(selector);
      const placement = coordinator.place('k');
      assert.ok(placement.ok);
      assert.equal(placement.device, 'cuda:1');
      assert.equal(placement.decidedBy, 'leastLoaded');
      assert.equal(placement.selectorFallback?.code, code);
      assert.match(placement.selectorFallback?.message ?? '', message);
      assert.match(placement.selectorFallback?.message ?? '', /LeastLoaded placed the kernel instead$/);
      const stats = coordinator.stats();
      assert.equal(stats.selectorFailures, 1);
      assert.equal(stats.lastSelectorFailure?.code, code);
      assert.equal(stats.placementsByDecider.leastLoaded, 1);
      assert.equal(stats.placementsByDecider.custom, 0);
      assert.ok(coordinator.device(coordinator.kernelDevice('k') ?? '') !== undefined);
    });
  }

  test('a selector that declines leaves the choice to LeastLoaded without counting a failure', () => {
    const coordinator = customCoordinator();
    coordinator.setDeviceSelector(() => undefined);
    const placement = coordinator.place('k');
    assert.ok(placement.ok);
    assert.equal(placement.selectorFallback?.code, 'SELECTOR_DECLINED');
    assert.equal(coordinator.stats().selectorDeclined, 1);
    assert.equal(coordinator.stats().selectorFailures, 0);
  });

  test('custom without a selector: an error, and LeastLoaded', () => {
    const coordinator = customCoordinator();
    const placement = coordinator.place('k');
    assert.ok(placement.ok);
    assert.equal(placement.selectorFallback?.code, 'SELECTOR_NOT_SET');
    assert.match(placement.selectorFallback?.message ?? '', /no extension has set a device selector/);
    assert.equal(coordinator.stats().selectorFailures, 1);
  });

  test('a selector that calls back into the coordinator cannot recurse', () => {
    const coordinator = customCoordinator();
    let inner: string | undefined;
    coordinator.setDeviceSelector((candidates) => {
      const nested = coordinator.selectDevice();
      inner = nested.ok ? nested.selectorFallback?.code : nested.error.code;
      return candidates[0]?.key;
    });
    const placement = coordinator.place('k');
    assert.ok(placement.ok);
    assert.equal(placement.decidedBy, 'custom');
    assert.equal(inner, 'SELECTOR_REENTERED');
  });

  test('a selector only sees preferred devices when some can take the kernel; choosing another is refused', () => {
    const coordinator = customCoordinator();
    coordinator.configure({ preferredDevices: ['cuda:2', 'cuda:3'] });
    let seen: string[] = [];
    coordinator.setDeviceSelector((candidates) => {
      seen = candidates.map((c) => c.key);
      return 'cuda:0';
    });
    const placement = coordinator.place('k');
    assert.deepEqual(seen, ['cuda:2', 'cuda:3']);
    assert.ok(placement.ok);
    assert.equal(placement.selectorFallback?.code, 'SELECTOR_RETURNED_INELIGIBLE');
    assert.match(placement.selectorFallback?.message ?? '', /not among the candidates \(not a preferred device\)/);
    assert.equal(placement.device, 'cuda:2');
  });

  test('removing the selector, or switching strategy, stops consulting it', () => {
    const coordinator = customCoordinator();
    let calls = 0;
    coordinator.setDeviceSelector((c) => {
      calls++;
      return c[0]?.key;
    });
    coordinator.place('a');
    coordinator.configure({ loadBalancing: 'roundRobin' });
    coordinator.place('b');
    assert.equal(calls, 1);
  });
});
