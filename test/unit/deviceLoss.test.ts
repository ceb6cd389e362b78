// The pure parts of device loss: when a device counts as lost (DeviceRestartBudget), and the
// sentence that says which steps a re-placed kernel runs again.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { rerunText } from '../../server/src/runtime/deviceLoss';
import { DeviceRestartBudget } from '../../server/src/runtime/recoveryPolicy';

describe('device restart budget', () => {
  test('a device is lost at its third host death within a minute, not before', () => {
    const budget = new DeviceRestartBudget(3);
    assert.equal(budget.restarted('webgpu:0', 1_000), false);
    assert.equal(budget.restarted('webgpu:0', 2_000), false);
    assert.equal(budget.restarted('webgpu:1', 2_500), false, 'devices are counted apart');
    assert.equal(budget.restarted('webgpu:0', 3_000), true);
    assert.equal(budget.count('webgpu:0', 3_000), 3);
  });

  test('deaths more than a minute apart never spend the budget', () => {
    const budget = new DeviceRestartBudget(2);
    for (let i = 0; i < 5; i++) assert.equal(budget.restarted('webgpu:0', i * 61_000), false);
    assert.equal(budget.count('webgpu:0', 4 * 61_000), 1);
  });
});

describe('re-run steps', () => {
  test('steps after the checkpoint up to the last one the lost device reported', () => {
    assert.equal(rerunText(1200, 1350), 'from its checkpoint at step 1200; steps 1201-1350 re-run');
    assert.equal(rerunText(1200, 1201), 'from its checkpoint at step 1200; step 1201 re-run');
    assert.equal(rerunText(1200, 1200), 'from its checkpoint at step 1200; no step is re-run');
  });

  test('without a checkpoint every step runs again from a zeroed state', () => {
    assert.equal(rerunText(undefined, 40), 'from a zeroed state (it had no checkpoint); steps 1-40 re-run');
  });
});
