// Compiles of valid and invalid WGSL at the same time on one WebGPU device (what a burst of saves
// does during a hot reload): each compile's outcome must be its own. Error scopes belong to the
// device, not to a call, so a compile that awaited between pushing and popping its scope caught
// another compile's error: a valid save then failed with the invalid save's parse error
// (hotReloadSuite's "ten saves in a second" on CI). Runs on this machine's Vulkan device.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { CompiledKernelHandle } from '../../server/src/backends/backend';
import { GpuError } from '../../server/src/backends/gpuError';
import { WebGpuBackend } from '../../server/src/backends/webgpu/webgpuBackend';
import { errorMessage } from '../../server/src/logger';
import { counterVersion } from '../support/faultHarness';

let backend: WebGpuBackend | undefined;
let skip: string | undefined;

before(async () => {
  try {
    backend = new WebGpuBackend({ dawnBackend: 'vulkan' });
    await backend.devices();
  } catch (error) {
    skip = `WebGPU is unavailable: ${errorMessage(error)}`;
  }
});
after(() => backend?.dispose());

const invalid = (n: number): string =>
  counterVersion(n).replace('state[0] = control.step + 1u;', 'state[0] = control.step + ;');

test('valid and invalid WGSL compiled at once: every valid one compiles, every invalid one fails with its own error', async (t) => {
  if (skip || !backend) return t.skip(skip);
  const gpu = backend;
  for (let round = 0; round < 10; round++) {
    // Interleaved like a burst of saves: valid, invalid, valid, valid, invalid, ...
    const codes = Array.from({ length: 12 }, (_, i) => (i % 3 === 1 ? invalid(i) : counterVersion(i)));
    // Started a moment apart, as saves arrive: one compile is often between its pipeline's push and
    // pop while the next creates its shader module.
    const results: Promise<PromiseSettledResult<CompiledKernelHandle>>[] = [];
    for (const [i, code] of codes.entries()) {
      const compiling = gpu.compile(0, { language: 'wgsl', label: `save${i}`, code, entryPoint: 'step' });
      results.push(
        compiling.then(
          (value) => ({ status: 'fulfilled', value }) as const,
          (reason: unknown) => ({ status: 'rejected', reason }) as const,
        ),
      );
      await new Promise((resolve) => setImmediate(resolve));
    }
    const settled = await Promise.all(results);
    settled.forEach((result, i) => {
      if (i % 3 === 1) {
        assert.equal(result.status, 'rejected', `round ${round}, save ${i} (invalid) compiled`);
        const error = result.reason as unknown;
        assert.ok(
          error instanceof GpuError && error.code === 'COMPILE_FAILED',
          `round ${round}, save ${i}: ${errorMessage(error)}`,
        );
        assert.match(errorMessage(error), new RegExp(`kernel "save${i}"`));
      } else {
        assert.equal(
          result.status,
          'fulfilled',
          `round ${round}, save ${i} (valid) failed: ${result.status === 'rejected' ? errorMessage(result.reason) : ''}`,
        );
        if (result.status === 'fulfilled') gpu.releaseKernel(result.value);
      }
    });
  }
});
