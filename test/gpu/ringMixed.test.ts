// examples/ring/ringkernel-cuda.json on a machine with CUDA (RINGKERNEL_TEST_GPU=1): WGSL kernels
// (WebGPU) and PTX kernels (CUDA) in one ring, in lockstep through `ringkernel run`. The states
// match the model of the token's trip, and every message is delivered.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../support/repo';
import { ringModel } from '../support/ringModel';

const exec = promisify(execFile);
const skip =
  process.env.RINGKERNEL_TEST_GPU === '1'
    ? false
    : 'needs an NVIDIA GPU: set RINGKERNEL_TEST_GPU=1 on a machine with one';

test(
  'a ring of 3 WGSL and 3 PTX kernels passes the token 96 hops; every message delivered',
  { skip, timeout: 180_000 },
  async () => {
    const { stdout } = await exec(
      process.execPath,
      [
        join(repoRoot, 'bin', 'ringkernel.js'),
        'run',
        join(repoRoot, 'examples', 'ring', 'ringkernel-cuda.json'),
        '--steps',
        '100',
        '--json',
      ],
      { timeout: 170_000 },
    );
    const result = JSON.parse(stdout) as {
      kernels: { id: string; device?: string; sha256?: string; error?: string }[];
      router: { totals: { submitted: number; delivered: number; pending: number }; lost: number };
    };
    assert.deepEqual(
      result.kernels.map((k) => k.error),
      new Array(6).fill(undefined),
    );
    assert.deepEqual(
      result.kernels.map((k) => k.device?.split(':')[0]),
      ['webgpu', 'cuda', 'webgpu', 'cuda', 'webgpu', 'cuda'],
    );
    assert.deepEqual(
      result.kernels.map((k) => k.sha256),
      ringModel(6, 100),
    );
    assert.deepEqual(
      [
        result.router.totals.submitted,
        result.router.totals.delivered,
        result.router.totals.pending,
        result.router.lost,
      ],
      [96, 96, 0, 0],
    );
  },
);
