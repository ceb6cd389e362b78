// The GPU digest kernel as shipped: the PTX in the bundle (blockSha256Ptx.ts) is the committed
// blockSha256.ptx, built from blockSha256.cu with the block size the server assumes, and names the
// entry point and parameters the backend launches. Whether it hashes right is checked on a GPU
// (test/gpu/gpuDigests.test.ts); its logic was also checked on the CPU when written (see the .cu).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BLOCK_SHA256_PTX } from '../../server/src/backends/cuda/blockSha256Ptx';
import { GPU_DIGEST_BLOCK_BYTES } from '../../server/src/hosts/stateDigests';
import { repoRoot } from '../support/repo';

const kernels = join(repoRoot, 'native', 'kernels');

test('the bundled PTX is the committed blockSha256.ptx (regenerate with node scripts/gen-digest-ptx.mjs)', () => {
  assert.equal(BLOCK_SHA256_PTX, readFileSync(join(kernels, 'blockSha256.ptx'), 'utf8'));
});

test("the kernel's block size is GPU_DIGEST_BLOCK_BYTES", () => {
  const source = readFileSync(join(kernels, 'blockSha256.cu'), 'utf8');
  const match = /#define BLOCK_BYTES \((\d+)u \* (\d+)u\)/.exec(source);
  assert.ok(match, 'blockSha256.cu defines BLOCK_BYTES as (A u * B u)');
  assert.equal(Number(match[1]) * Number(match[2]), GPU_DIGEST_BLOCK_BYTES);
});

test('the PTX has blockSha256(data, u64 bytes, digests) and blockSha256Pair(first, second, u64 bytes, two digests), for sm_75', () => {
  const params = (entry: string): string[] => {
    const match = new RegExp(`\\.visible \\.entry ${entry}\\(\\s*([^)]*)\\)`).exec(BLOCK_SHA256_PTX);
    assert.ok(match, `an entry point named ${entry}`);
    return (match[1] ?? '').split(',').map((p) => p.trim().split(/\s+/)[1] ?? '');
  };
  assert.deepEqual(
    params('blockSha256'),
    ['.u64', '.u64', '.u64'],
    'three 8-byte parameters, as cudaDigests.ts launches it',
  );
  assert.deepEqual(params('blockSha256Pair'), ['.u64', '.u64', '.u64', '.u64', '.u64'], 'five 8-byte parameters');
  // compute_75: the oldest target CUDA 13's nvcc emits; every GPU from Turing on JITs it.
  assert.match(BLOCK_SHA256_PTX, /^\.target sm_75$/m);
});
