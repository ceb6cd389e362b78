// The ABI's binding numbers decide where each buffer goes: WebGPU's bind group and a CUDA
// launch's argument list both take them from BINDING (docs/kernel-abi.md).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BINDING, inAbiOrder } from '../../server/src/abi/kernelAbi';

test('inAbiOrder puts each buffer at its binding number', () => {
  const ordered = inAbiOrder({ control: 'control', state: 'state', inbox: 'inbox', outbox: 'outbox' });
  assert.deepEqual(ordered, ['control', 'state', 'inbox', 'outbox']);
  for (const [role, binding] of Object.entries(BINDING)) assert.equal(ordered[binding], role);
});
