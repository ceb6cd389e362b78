// The WebGPU digest kernel (backends/webgpu/blockSha256Wgsl.ts) on a real GPU (RINGKERNEL_TEST_GPU=1):
// it loads and passes its self-test on the GPU's Vulkan adapter, a 1 GiB state (what the migration
// bench moves) is digested block by block as node:crypto hashes it, in the staged import's blocks
// (GPU_DIGEST_BLOCK_BYTES) and in the ones picked for its size, and the times are printed, with
// 64 MiB's. The sizes around SHA-256's padding edges are test/process/webgpuDigests.test.ts's (it
// runs on whatever Vulkan adapter Dawn finds, the GPU here).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { GPU_DIGEST_BLOCK_BYTES, gpuDigestBlockBytes } from '../../server/src/backends/deviceDigests';
import { WebGpuBackend } from '../../server/src/backends/webgpu/webgpuBackend';
import { blockDigestsOf, hexDigests } from '../../server/src/hosts/stateDigests';

const skip =
  process.env.RINGKERNEL_TEST_GPU === '1' ? false : 'needs a GPU: set RINGKERNEL_TEST_GPU=1 on a machine with one';

const MIB = 1024 * 1024;

test(
  'the WebGPU digest kernel on the GPU: 1 GiB hashed per block as node:crypto does, and how long it takes',
  { skip, timeout: 300_000 },
  async (t) => {
    const backend = new WebGpuBackend({ dawnBackend: 'vulkan' });
    try {
      const [device] = await backend.devices();
      t.diagnostic(`WebGPU device 0: ${device?.name ?? 'none'} (${device?.detail ?? ''})`);
      assert.equal(await backend.prepareDeviceDigests(0), undefined, 'the digest kernel passes its self-test');
      // 1 GiB where one binding holds it (the bench's largest state; lavapipe's bindings end at 128 MiB).
      const limit = Math.min(device?.limits.maxBindingBytes ?? 0, device?.limits.maxBufferBytes ?? 0);
      const size = Math.min(1024 * MIB, Math.floor(limit / (64 * MIB)) * 64 * MIB);
      const name = `${size / MIB} MiB`;
      // Random bytes from 64 MiB of them repeated (making 1 GiB of randomness takes seconds).
      const chunk = new Uint8Array(randomBytes(64 * MIB));
      const data = new Uint8Array(size);
      for (let at = 0; at < size; at += chunk.byteLength) data.set(chunk, at);
      data[size - 1] = (data[size - 1] ?? 0) ^ 0xff;
      const buffer = backend.allocate(0, size, `digest ${name}`);
      try {
        await backend.write(buffer, 0, data);
        for (const block of new Set([GPU_DIGEST_BLOCK_BYTES, gpuDigestBlockBytes(size)])) {
          const digests = hexDigests(await backend.blockDigests(buffer, size, block));
          const expected = blockDigestsOf(data, block);
          assert.equal(digests.length, expected.length);
          const wrong = digests.findIndex((digest, index) => digest !== expected[index]);
          assert.equal(wrong, -1, `${name} in blocks of ${block}: block ${wrong} differs from node:crypto's SHA-256`);
          const timings: number[] = [];
          for (let round = 0; round < 3; round++) {
            const started = performance.now();
            await backend.blockDigests(buffer, size, block);
            timings.push(performance.now() - started);
          }
          t.diagnostic(
            `${name} digested on WebGPU in ${block}-byte blocks: ${timings.map((ms) => ms.toFixed(2)).join(', ')} ms`,
          );
        }
        for (const block of new Set([GPU_DIGEST_BLOCK_BYTES, gpuDigestBlockBytes(64 * MIB)])) {
          const timings: number[] = [];
          for (let round = 0; round < 3; round++) {
            const started = performance.now();
            await backend.blockDigests(buffer, 64 * MIB, block);
            timings.push(performance.now() - started);
          }
          t.diagnostic(`64 MiB in ${block}-byte blocks: ${timings.map((ms) => ms.toFixed(2)).join(', ')} ms`);
        }
      } finally {
        backend.free(buffer);
      }
    } finally {
      backend.dispose();
    }
  },
);
