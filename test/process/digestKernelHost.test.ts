// The GPU digest kernel's code (native/kernels/blockSha256.cu) compiled for the CPU with nvcc and
// run on states around SHA-256's padding edges and the block size: every block's digest must be
// node:crypto's. It checks the .cu's logic where there is no GPU (nvcc only); the PTX itself is
// checked on a GPU by test/gpu/gpuDigests.test.ts. Skipped without nvcc on the PATH.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { GPU_DIGEST_BLOCK_BYTES, GPU_DIGEST_MIN_BLOCK_BYTES } from '../../server/src/backends/deviceDigests';
import { blockDigestsOf } from '../../server/src/hosts/stateDigests';
import { sizesAroundDigestEdges } from '../support/digestChecks';
import { fixture } from '../support/repo';

const nvcc = spawnSync('nvcc', ['--version'], { encoding: 'utf8' }).status === 0;
const skip = nvcc ? false : 'needs nvcc (the CUDA toolkit) on the PATH';
const dir = mkdtempSync(join(tmpdir(), 'ringkernel-digest-host-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test("the digest kernel's code, run on the CPU, hashes every block as SHA-256 does", { skip, timeout: 120_000 }, () => {
  const binary = join(dir, 'blockSha256_host');
  execFileSync('nvcc', ['-o', binary, fixture('kernels', 'blockSha256_host.cu')], { stdio: 'pipe' });
  for (const block of [GPU_DIGEST_BLOCK_BYTES, GPU_DIGEST_MIN_BLOCK_BYTES])
    for (const size of [...sizesAroundDigestEdges(block), 3 * 1024 * 1024 + 7]) {
      const state = new Uint8Array(randomBytes(size));
      const printed = execFileSync(binary, [String(block)], {
        input: state,
        encoding: 'utf8',
        maxBuffer: 16 * 1024 * 1024,
      });
      const expected = blockDigestsOf(state, block);
      const actual = printed.trim().split('\n');
      assert.equal(
        actual.length,
        expected.length,
        `a state of ${size} bytes in blocks of ${block}: ${expected.length} blocks`,
      );
      actual.forEach((digest, index) =>
        assert.equal(
          digest,
          expected[index],
          `a state of ${size} bytes: block ${index} of ${block} bytes differs from node:crypto's SHA-256`,
        ),
      );
    }
});
