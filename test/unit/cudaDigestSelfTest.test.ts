// The digest kernel's self-test (backends/cuda/cudaDigests.ts): before a GPU is trusted with a
// migration's verify, the kernel digests a known state there and every block must match
// node:crypto's SHA-256; a kernel that hashes wrongly leaves the verify to the CPU, with the reason.
// No GPU here: the addon below keeps "device memory" in host arrays and its launch computes the
// digests on the CPU (right, or with one byte changed), so only the self-test's own logic is under test.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { CudaDigestKernel } from '../../server/src/backends/cuda/cudaDigests';
import type { CudaAddon } from '../../server/src/backends/cuda/cudaAddon';

type Memory = { allocation: { bytes: Uint8Array }; offset: number };

/** `fixedBlock`: a kernel that ignores the block size it is given and always hashes blocks of this size. */
function hostAddon(corrupt: boolean, fixedBlock?: number): { addon: CudaAddon; freed: () => number } {
  let live = 0;
  const at = (memory: unknown): Memory =>
    (memory as Memory).allocation ? (memory as Memory) : { allocation: memory as { bytes: Uint8Array }, offset: 0 };
  const addon = {
    getFunction: (_module: unknown, name: string) => ({ name }),
    moduleUnload: () => undefined,
    streamCreate: () => ({}),
    streamDestroy: () => undefined,
    streamSynchronizeAsync: () => Promise.resolve(),
    memAlloc: (_ordinal: number, bytes: number) => {
      live++;
      return { bytes: new Uint8Array(bytes) };
    },
    memFree: () => {
      live--;
    },
    memAllocHost: (_ordinal: number, bytes: number) => new ArrayBuffer(bytes),
    memFreeHost: () => undefined,
    memcpyHtoDAsync: (_stream: unknown, dst: unknown, src: Uint8Array) => {
      const { allocation, offset } = at(dst);
      allocation.bytes.set(src, offset);
    },
    memcpyDtoHAsync: (_stream: unknown, dst: Uint8Array, src: unknown) => {
      const { allocation, offset } = at(src);
      dst.set(allocation.bytes.subarray(offset, offset + dst.byteLength));
    },
    launchKernel: (_fn: unknown, _config: unknown, params: unknown[]) => {
      const data = at(params[0]).allocation.bytes;
      const bytes = Number((params[1] as { value: number }).value);
      const blockBytes = fixedBlock ?? Number((params[2] as { value: number }).value);
      const out = at(params[3]);
      for (let offset = 0, block = 0; offset < bytes; offset += blockBytes, block++) {
        const digest = createHash('sha256')
          .update(data.subarray(offset, Math.min(offset + blockBytes, bytes)))
          .digest();
        if (corrupt && block === 2) digest[0] = (digest[0] ?? 0) ^ 1;
        out.allocation.bytes.set(digest, out.offset + block * 32);
      }
    },
  };
  return { addon: addon as unknown as CudaAddon, freed: () => live };
}

const jit = () => Promise.resolve({ module: {} }) as unknown as ReturnType<CudaAddon['moduleLoad']>;

test('a kernel whose digests match node:crypto loads, and its self-test frees what it took', async () => {
  const { addon, freed } = hostAddon(false);
  const kernel = new CudaDigestKernel(addon, jit);
  assert.equal(await kernel.prepare(0), undefined);
  assert.equal(kernel.loadedOn(0), true);
  assert.equal(freed(), 1, 'only the kept digest memory stays allocated');
});

test('a kernel that hashes one block wrongly is not used: prepare gives the reason, the CPU verifies', async () => {
  const { addon } = hostAddon(true);
  const kernel = new CudaDigestKernel(addon, jit);
  const reason = await kernel.prepare(0);
  assert.match(
    reason ?? '',
    /does not load on CUDA ordinal 0: its self-test digest of block 2 \(blocks of 65536 bytes\) is [0-9a-f]{16}…, node:crypto's SHA-256/,
  );
  assert.equal(kernel.loadedOn(0), false);
});

test('a kernel that ignores the block size it is launched with fails the self-test at the small blocks', async () => {
  const { addon } = hostAddon(false, 64 * 1024);
  const kernel = new CudaDigestKernel(addon, jit);
  assert.match((await kernel.prepare(0)) ?? '', /self-test digest of block 0 \(blocks of 4096 bytes\)/);
  assert.equal(kernel.loadedOn(0), false);
});
