import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AsyncSelectorBridge } from '../../../server/src/coordinator/asyncSelector';
import { MultiGpuCoordinator } from '../../../server/src/coordinator/multiGpuCoordinator';
import type { Logger } from '../../../server/src/logger';
import { deviceInfos, machine } from '../topology/machines';

function setup(timeoutMs = 2_000): {
  coordinator: MultiGpuCoordinator;
  bridge: AsyncSelectorBridge;
  warnings: string[];
} {
  const warnings: string[] = [];
  const logger: Logger = {
    error: (m) => warnings.push(m),
    warn: (m) => warnings.push(m),
    info: () => undefined,
    debug: () => undefined,
  };
  const coordinator = new MultiGpuCoordinator({ loadBalancing: 'custom' }, { logger });
  for (const info of deviceInfos('v100-nvlink-ring')) coordinator.registerDevice(info);
  coordinator.setTopology(machine('v100-nvlink-ring'));
  return { coordinator, bridge: new AsyncSelectorBridge(coordinator, { timeoutMs, log: logger }), warnings };
}

describe('asynchronous device selector (the extension API over LSP)', () => {
  test('an asynchronous answer decides the placement, and it sees the candidates the coordinator would', async () => {
    const { coordinator, bridge } = setup();
    coordinator.assignKernel('existing', 'cuda:0');
    let seen: string[] = [];
    bridge.setSelector(async (candidates) => {
      seen = candidates.map((c) => c.key);
      await Promise.resolve();
      return 'cuda:2';
    });
    const placement = await bridge.place('k1', { backend: 'cuda' });
    assert.deepEqual(placement, { ok: true, device: 'cuda:2', decidedBy: 'custom' });
    assert.deepEqual(
      seen,
      coordinator.selectorCandidates({ backend: 'cuda' })?.map((c) => c.key),
    );
    assert.equal(coordinator.kernelDevice('k1'), 'cuda:2');
  });

  test('a selector that rejects falls back to LeastLoaded with a clear log line', async () => {
    const { coordinator, bridge, warnings } = setup();
    bridge.setSelector(() => Promise.reject(new Error('selector exploded')));
    const placement = await bridge.place('k1');
    assert.ok(placement.ok);
    assert.equal(placement.decidedBy, 'leastLoaded');
    assert.equal(placement.selectorFallback?.code, 'SELECTOR_THREW');
    assert.ok(
      warnings.some((w) => /selector exploded.*LeastLoaded/.test(w)),
      warnings.join('\n'),
    );
    assert.equal(coordinator.stats().selectorFailures, 1);
  });

  test('a selector that never answers times out and LeastLoaded places the kernel', async () => {
    const { bridge, warnings } = setup(50);
    bridge.setSelector(() => new Promise<string>(() => undefined));
    const placement = await bridge.place('k1');
    assert.ok(placement.ok);
    assert.equal(placement.decidedBy, 'leastLoaded');
    assert.ok(
      warnings.some((w) => /did not answer within 50 ms/.test(w)),
      warnings.join('\n'),
    );
  });

  test('a missing device is never used: LeastLoaded places the kernel and the failure is recorded', async () => {
    const { coordinator, bridge } = setup();
    bridge.setSelector(() => Promise.resolve('cuda:99'));
    const placement = await bridge.place('k1');
    assert.ok(placement.ok);
    assert.notEqual(placement.device, 'cuda:99');
    assert.equal(placement.selectorFallback?.code, 'SELECTOR_RETURNED_MISSING');
    assert.equal(coordinator.kernels().length, 1);
  });

  test('preview asks the selector but places nothing; other strategies never ask it', async () => {
    const { coordinator, bridge } = setup();
    let asked = 0;
    bridge.setSelector(() => {
      asked++;
      return Promise.resolve('cuda:1');
    });
    const preview = await bridge.preview();
    assert.deepEqual(preview, { ok: true, device: 'cuda:1', decidedBy: 'custom' });
    assert.equal(coordinator.kernels().length, 0);
    coordinator.configure({ loadBalancing: 'firstAvailable' });
    await bridge.place('k1');
    assert.equal(asked, 1);
  });

  test('placements run one at a time, so each gets its own answer', async () => {
    const { coordinator, bridge } = setup();
    const answers = ['cuda:1', 'cuda:3'];
    bridge.setSelector(async () => {
      await new Promise((resolve) => setImmediate(resolve));
      return answers.shift();
    });
    const [a, b] = await Promise.all([bridge.place('a'), bridge.place('b')]);
    assert.equal(a.ok && a.device, 'cuda:1');
    assert.equal(b.ok && b.device, 'cuda:3');
    assert.deepEqual(
      coordinator
        .kernels()
        .map((k) => k.device)
        .sort(),
      ['cuda:1', 'cuda:3'],
    );
  });

  test('removing the selector leaves the custom strategy to LeastLoaded, saying no selector is set', async () => {
    const { bridge } = setup();
    bridge.setSelector(() => Promise.resolve('cuda:1'));
    bridge.setSelector(undefined);
    const placement = await bridge.place('k1');
    assert.ok(placement.ok);
    assert.equal(placement.selectorFallback?.code, 'SELECTOR_NOT_SET');
  });
});
