// The GPU digest kernel (native/kernels/blockSha256.cu) against the CPU's SHA-256 (RINGKERNEL_TEST_GPU=1,
// an NVIDIA GPU): random buffers of sizes around SHA-256's padding edges and the block size are
// hashed on the GPU, block by block, and every block's digest must be node:crypto's of the same
// bytes. Then a device copy digested on both sides (what a device-to-device migration's verify
// uses) gives the source's and the copy's digests, equal, and the time of a 1 GiB digest is printed.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { CudaBackend } from '../../server/src/backends/cuda/cudaBackend';
import {
  GPU_DIGEST_BLOCK_BYTES,
  GPU_DIGEST_MIN_BLOCK_BYTES,
  gpuDigestBlockBytes,
} from '../../server/src/backends/deviceDigests';
import { compareBlocks, sizesAroundDigestEdges } from '../support/digestChecks';

const skip =
  process.env.RINGKERNEL_TEST_GPU === '1'
    ? false
    : 'needs an NVIDIA GPU: set RINGKERNEL_TEST_GPU=1 on a machine with one';

const BLOCK = GPU_DIGEST_BLOCK_BYTES;
const SMALL = GPU_DIGEST_MIN_BLOCK_BYTES;
const MIB = 1024 * 1024;

test(
  'the GPU digest kernel matches SHA-256 per block for sizes around the padding edges and the block size',
  { skip, timeout: 120_000 },
  async () => {
    const backend = new CudaBackend();
    try {
      await backend.devices();
      assert.equal(await backend.prepareDeviceDigests(0), undefined, 'the digest kernel loads on cuda:0');
      const sizes = new Set([
        ...sizesAroundDigestEdges(BLOCK),
        ...sizesAroundDigestEdges(SMALL),
        3,
        128,
        1000,
        3 * MIB + 7,
        64 * MIB + 3,
      ]);
      for (const size of sizes) {
        const data = new Uint8Array(randomBytes(size));
        // A buffer larger than the state, its tail not ours: the kernel must hash `size` bytes only.
        const buffer = backend.allocate(0, size + 4096, `digest test ${size}`);
        try {
          await backend.write(buffer, 0, data);
          await backend.write(buffer, size, new Uint8Array(4096).fill(0xa5));
          // The largest and smallest blocks the kernel is launched with, and the one picked for this size.
          for (const block of new Set([BLOCK, SMALL, gpuDigestBlockBytes(size)]))
            compareBlocks(
              `a state of ${size} bytes in blocks of ${block}`,
              data,
              await backend.blockDigests(buffer, size, block),
              block,
            );
        } finally {
          backend.free(buffer);
        }
      }
    } finally {
      backend.dispose();
    }
  },
);

test(
  'a device copy digested on the GPU gives the source and the copy the same digests, and 1 GiB hashes quickly',
  { skip, timeout: 180_000 },
  async (t) => {
    const backend = new CudaBackend();
    try {
      await backend.devices();
      const size = 1024 * MIB;
      // 1 GiB of random bytes from 64 MiB of them repeated (making 1 GiB of randomness takes seconds).
      const chunk = new Uint8Array(randomBytes(64 * MIB));
      const data = new Uint8Array(size);
      for (let at = 0; at < size; at += chunk.byteLength) data.set(chunk, at);
      data[size - 1] = (data[size - 1] ?? 0) ^ 0xff;
      const source = backend.allocate(0, size, 'digest copy source');
      const copy = backend.allocate(0, size, 'digest copy target');
      try {
        await backend.write(source, 0, data);
        assert.equal(await backend.prepareDeviceDigests(0), undefined);
        const copied = await backend.copy(source, copy, size, true);
        assert.ok(copied.digests, 'the copy came back with its digests');
        assert.equal(copied.digests.blockBytes, gpuDigestBlockBytes(size));
        const { blockBytes } = copied.digests;
        compareBlocks(
          'the source of a 1 GiB copy (blockSha256Pair, first buffer)',
          data,
          copied.digests.source,
          blockBytes,
        );
        compareBlocks('a 1 GiB copy (blockSha256Pair, second buffer)', data, copied.digests.copy, blockBytes);
        assert.ok(
          Buffer.from(copied.digests.copy).equals(Buffer.from(copied.digests.source)),
          'the copy has the source digests',
        );
        const timings: number[] = [];
        for (let round = 0; round < 3; round++) {
          const started = performance.now();
          await backend.blockDigests(copy, size);
          timings.push(performance.now() - started);
        }
        t.diagnostic(
          `1 GiB digested on the GPU in ${timings.map((ms) => ms.toFixed(2)).join(', ')} ms; copy ${copied.hostMs.toFixed(2)} ms, both digests after it ${copied.digests.ms.toFixed(2)} ms`,
        );
        // A 64 MiB state in the blocks picked for it (4 KiB) against the largest: what the pick buys.
        const small = 64 * MIB;
        const timed = async (block: number): Promise<number> => {
          const started = performance.now();
          await backend.blockDigests(copy, small, block);
          return performance.now() - started;
        };
        const picked: number[] = [];
        const largest: number[] = [];
        for (let round = 0; round < 3; round++) {
          picked.push(await timed(gpuDigestBlockBytes(small)));
          largest.push(await timed(BLOCK));
        }
        t.diagnostic(
          `64 MiB digested in ${gpuDigestBlockBytes(small)}-byte blocks in ${picked.map((ms) => ms.toFixed(2)).join(', ')} ms; ` +
            `in ${BLOCK}-byte blocks ${largest.map((ms) => ms.toFixed(2)).join(', ')} ms`,
        );
        const without = await backend.copy(source, copy, size);
        assert.equal(without.digests, undefined, 'no digests unless asked for');
      } finally {
        backend.free(source);
        backend.free(copy);
      }
    } finally {
      backend.dispose();
    }
  },
);
