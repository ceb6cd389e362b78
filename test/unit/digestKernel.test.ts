// The GPU digest kernel as shipped: the PTX in the bundle (blockSha256Ptx.ts) is the committed
// blockSha256.ptx, built from blockSha256.cu, and names the entry points and parameters the
// backend launches (the block size is one: the server picks it per state). Whether it hashes right is checked on a GPU
// (test/gpu/gpuDigests.test.ts); its logic was also checked on the CPU when written (see the .cu).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BLOCK_SHA256_PTX } from '../../server/src/backends/cuda/blockSha256Ptx';
import {
  GPU_DIGEST_BLOCK_BYTES,
  GPU_DIGEST_MIN_BLOCK_BYTES,
  gpuDigestBlockBytes,
} from '../../server/src/backends/deviceDigests';
import { repoRoot } from '../support/repo';

const kernels = join(repoRoot, 'native', 'kernels');

test('the bundled PTX is the committed blockSha256.ptx (regenerate with node scripts/gen-digest-ptx.mjs)', () => {
  assert.equal(BLOCK_SHA256_PTX, readFileSync(join(kernels, 'blockSha256.ptx'), 'utf8'));
});

test('the block size per state: 4 KiB to 64 KiB, a multiple of 64, at least 16,384 blocks where the sizes allow', () => {
  const KIB = 1024;
  const MIB = 1024 * KIB;
  const cases: Array<[number, number]> = [
    [1, 4 * KIB],
    [4 * MIB, 4 * KIB],
    [64 * MIB, 4 * KIB],
    [64 * MIB + 1, 8 * KIB],
    [256 * MIB, 16 * KIB],
    [1024 * MIB, 64 * KIB],
    [16 * 1024 * MIB, 64 * KIB],
  ];
  for (const [bytes, block] of cases) assert.equal(gpuDigestBlockBytes(bytes), block, `${bytes} bytes`);
  for (let bytes = 1; bytes < 2 ** 34; bytes = bytes * 3 + 1) {
    const block = gpuDigestBlockBytes(bytes);
    assert.ok(
      block >= GPU_DIGEST_MIN_BLOCK_BYTES && block <= GPU_DIGEST_BLOCK_BYTES && block % 64 === 0,
      `${bytes}: ${block}`,
    );
    if (block < GPU_DIGEST_BLOCK_BYTES)
      assert.ok(Math.ceil(bytes / block) <= 16 * 1024 || block === GPU_DIGEST_MIN_BLOCK_BYTES);
    if (block > GPU_DIGEST_MIN_BLOCK_BYTES)
      assert.ok(Math.ceil(bytes / (block / 2)) > 16 * 1024, `${bytes}: a smaller block would do`);
  }
});

test('the PTX has blockSha256(data, u64 bytes, u64 blockBytes, digests) and blockSha256Pair(first, second, u64 bytes, u64 blockBytes, two digests), for sm_75', () => {
  const params = (entry: string): string[] => {
    const match = new RegExp(`\\.visible \\.entry ${entry}\\(\\s*([^)]*)\\)`).exec(BLOCK_SHA256_PTX);
    assert.ok(match, `an entry point named ${entry}`);
    return (match[1] ?? '').split(',').map((p) => p.trim().split(/\s+/)[1] ?? '');
  };
  assert.deepEqual(
    params('blockSha256'),
    ['.u64', '.u64', '.u64', '.u64'],
    'four 8-byte parameters, as cudaDigests.ts launches it',
  );
  assert.deepEqual(
    params('blockSha256Pair'),
    ['.u64', '.u64', '.u64', '.u64', '.u64', '.u64'],
    'six 8-byte parameters',
  );
  // compute_75: the oldest target CUDA 13's nvcc emits; every GPU from Turing on JITs it.
  assert.match(BLOCK_SHA256_PTX, /^\.target sm_75$/m);
});
