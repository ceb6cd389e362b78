// PTX validation through the CUDA driver's JIT in the device host, for machines without ptxas.
// Needs an NVIDIA GPU: switched on by RINGKERNEL_TEST_GPU=1.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { validatePtx } from '../../server/src/validation';
import { DeviceJit } from '../../server/src/validation/deviceJit';
import { fixture } from '../support/repo';

const gpu = process.env.RINGKERNEL_TEST_GPU === '1';
const skip = gpu ? false : 'needs an NVIDIA GPU: run with RINGKERNEL_TEST_GPU=1 on a GPU machine';
const log = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };
const jit = new DeviceJit(log);
after(() => jit.dispose());

test('the driver JIT finds the unknown instruction at its line, with no ptxas', { skip }, async () => {
  const good = readFileSync(fixture('kernels', 'abi_kernels.ptx'), 'utf8');
  const bad = good.replace('mad.lo.s32', 'madd.lo.s32');
  const line = bad.split('\n').findIndex((l) => l.includes('madd'));
  // An empty PATH and no CUDA_HOME: ptxas cannot be found, so the JIT is what runs.
  const result = await validatePtx(bad, { env: { PATH: '' }, jitCompile: jit.compile });
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  assert.ok(
    errors.some((d) => d.range.start.line === line && /madd/.test(d.message) && d.source === 'cuda-jit'),
    JSON.stringify(result),
  );
  const clean = await validatePtx(good, { env: { PATH: '' }, jitCompile: jit.compile });
  assert.equal(clean.diagnostics.filter((d) => d.severity === 'error').length, 0, JSON.stringify(clean));
});
