// The WebGPU digest kernel (backends/webgpu/blockSha256Wgsl.ts) against node:crypto's SHA-256, on
// this machine's Vulkan device (lavapipe without a GPU; the GPU itself on a GPU machine, where
// test/gpu/webgpuDigests.test.ts also digests and times 1 GiB): random states of sizes around SHA-256's
// padding edges, around the block sizes, and not whole words, with the buffer's bytes beyond the
// state set, are hashed block by block; every block must be node:crypto's. A backend made to bind
// small ranges digests a state in several ranges (dispatches) and must give the same digests.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { BufferHandle } from '../../server/src/backends/backend';
import {
  GPU_DIGEST_BLOCK_BYTES,
  GPU_DIGEST_MIN_BLOCK_BYTES,
  gpuDigestBlockBytes,
} from '../../server/src/backends/deviceDigests';
import { WebGpuBackend } from '../../server/src/backends/webgpu/webgpuBackend';
import { digestRanges } from '../../server/src/backends/webgpu/webgpuDigests';
import { errorMessage } from '../../server/src/logger';
import { compareBlocks, sizesAroundDigestEdges } from '../support/digestChecks';

const BLOCK = GPU_DIGEST_BLOCK_BYTES;
const SMALL = GPU_DIGEST_MIN_BLOCK_BYTES;
const MIB = 1024 * 1024;
/** Small enough that a few-hundred-KiB state spans several ranges. */
const SMALL_RANGE = 128 * 1024;

let backend: WebGpuBackend | undefined;
let ranged: WebGpuBackend | undefined;
let skip: string | undefined;

before(async () => {
  try {
    backend = new WebGpuBackend({ dawnBackend: 'vulkan' });
    await backend.devices();
    ranged = new WebGpuBackend({ dawnBackend: 'vulkan', digestRangeBytes: SMALL_RANGE });
    await ranged.devices();
  } catch (error) {
    skip = `WebGPU is unavailable: ${errorMessage(error)}`;
  }
});

after(() => {
  backend?.dispose();
  ranged?.dispose();
});

/** A buffer holding `data`, whole words, with the bytes past it (and 4 KiB more) not the state's. */
async function bufferWith(on: WebGpuBackend, data: Uint8Array): Promise<BufferHandle> {
  const padded = Math.ceil(data.byteLength / 4) * 4 + 4096;
  const bytes = new Uint8Array(padded).fill(0xa5);
  bytes.set(data);
  const buffer = on.allocate(0, padded, `digest test ${data.byteLength}`);
  await on.write(buffer, 0, bytes);
  return buffer;
}

test('the WebGPU digest kernel loads and passes its self-test', async (t) => {
  if (skip || !backend) return t.skip(skip);
  assert.equal(await backend.prepareDeviceDigests(0), undefined);
});

test(
  'every block equals node:crypto for sizes around the padding edges, the block sizes and odd sizes',
  { timeout: 300_000 },
  async (t) => {
    if (skip || !backend) return t.skip(skip);
    const sizes = new Set([...sizesAroundDigestEdges(BLOCK), ...sizesAroundDigestEdges(SMALL), 2, 3, 5, 1001, MIB + 7]);
    for (const size of sizes) {
      const data = new Uint8Array(randomBytes(size));
      const buffer = await bufferWith(backend, data);
      try {
        for (const block of new Set([BLOCK, SMALL, 64, gpuDigestBlockBytes(size)]))
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
  },
);

test(
  'a state larger than a bound range is digested in several ranges, each block as node:crypto hashes it',
  { timeout: 120_000 },
  async (t) => {
    if (skip || !ranged) return t.skip(skip);
    const alignment = 256;
    assert.ok(
      digestRanges(5 * SMALL_RANGE + 3, SMALL, {
        maxBindingBytes: SMALL_RANGE,
        offsetAlignment: alignment,
        maxWorkgroupsPerDimension: 65535,
      }).length === 6,
    );
    for (const size of [3 * SMALL_RANGE, 3 * SMALL_RANGE + 1, 5 * SMALL_RANGE + 57, 7 * SMALL_RANGE - 1]) {
      const data = new Uint8Array(randomBytes(size));
      const buffer = await bufferWith(ranged, data);
      try {
        for (const block of [SMALL, BLOCK / 2, 64])
          compareBlocks(
            `a state of ${size} bytes in ${SMALL_RANGE}-byte ranges, blocks of ${block}`,
            data,
            await ranged.blockDigests(buffer, size, block),
            block,
          );
      } finally {
        ranged.free(buffer);
      }
    }
    // A block larger than the range cannot be bound: said, not hashed wrongly.
    const buffer = ranged.allocate(0, 4 * SMALL_RANGE, 'too large a block');
    try {
      await assert.rejects(ranged.blockDigests(buffer, 4 * SMALL_RANGE, 2 * SMALL_RANGE), /cannot bind a range/);
    } finally {
      ranged.free(buffer);
    }
  },
);

test('the ranges cover the state in whole blocks at bindable offsets, no more than a dispatch allows', () => {
  const limits = { maxBindingBytes: 1000 * 1024, offsetAlignment: 256, maxWorkgroupsPerDimension: 4 };
  // 4 workgroups of 64 invocations: 256 blocks of 64 bytes a range, though the binding allows more.
  const ranges = digestRanges(100_000, 64, limits);
  assert.deepEqual(ranges[0], { offset: 0, bytes: 16384, firstBlock: 0 });
  assert.deepEqual(ranges.at(-1), { offset: 98304, bytes: 1696, firstBlock: 1536 });
  // 1000 KiB of binding: 15 blocks of 64 KiB a range.
  assert.deepEqual(
    digestRanges(40 * BLOCK, BLOCK, { ...limits, maxWorkgroupsPerDimension: 65535 }).map((r) => r.firstBlock),
    [0, 15, 30],
  );
});
