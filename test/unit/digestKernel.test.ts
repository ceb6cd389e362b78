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

test('the PTX has the entry point blockSha256(pointer, u64 bytes, pointer) for a target every GPU from Turing JITs', () => {
  const entry = /\.visible \.entry blockSha256\(\s*([^)]*)\)/.exec(BLOCK_SHA256_PTX);
  assert.ok(entry, 'an entry point named blockSha256');
  const params = (entry[1] ?? '').split(',').map((p) => p.trim().split(/\s+/)[1]);
  assert.deepEqual(params, ['.u64', '.u64', '.u64'], 'three 8-byte parameters: data, bytes, digests');
  assert.match(BLOCK_SHA256_PTX, /^\.target sm_75$/m);
});
