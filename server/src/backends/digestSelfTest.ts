// The digest kernels' self-test, shared by the CUDA and WebGPU kernels (cuda/cudaDigests.ts,
// webgpu/webgpuDigests.ts): before a device is trusted with a migration's verify, its kernel
// digests a known state and every block must equal node:crypto's SHA-256 of the same bytes. A
// kernel, compiler or driver that hashed wrongly would otherwise fail every move (the kernel kept
// on its source) instead of leaving the verify to the CPU.
import { createHash } from 'node:crypto';
import { GPU_DIGEST_BLOCK_BYTES, GPU_DIGEST_MIN_BLOCK_BYTES, SHA256_BYTES } from './deviceDigests';

/** The known state's size: two whole blocks of the largest size and a short one of 57 bytes (past SHA-256's 55-byte padding edge; not whole words). */
export const SELF_TEST_BYTES = 2 * GPU_DIGEST_BLOCK_BYTES + 57;

/** The block sizes it is hashed in: the largest and the smallest the kernels are launched with. */
export const SELF_TEST_BLOCKS: readonly number[] = [GPU_DIGEST_BLOCK_BYTES, GPU_DIGEST_MIN_BLOCK_BYTES];

/** The known state, in `room` bytes (at least SELF_TEST_BYTES); bytes past the state are 0xa5, so a kernel that reads past the end shows. */
export function selfTestState(room = SELF_TEST_BYTES): Uint8Array {
  const state = new Uint8Array(room).fill(0xa5);
  for (let i = 0; i < SELF_TEST_BYTES; i++) state[i] = (i * 131 + (i >>> 9)) & 0xff;
  return state;
}

/** Every block of a kernel's digest list of `state` (its first SELF_TEST_BYTES) against node:crypto's; throws which block differs. */
export function checkSelfTest(state: Uint8Array, list: Uint8Array, blockBytes: number): void {
  const bytes = Math.min(state.byteLength, SELF_TEST_BYTES);
  for (let offset = 0, block = 0; offset < bytes; offset += blockBytes, block++) {
    const expected = createHash('sha256')
      .update(state.subarray(offset, Math.min(offset + blockBytes, bytes)))
      .digest();
    const actual = Buffer.from(list.subarray(block * SHA256_BYTES, (block + 1) * SHA256_BYTES));
    if (!expected.equals(actual))
      throw new Error(
        `its self-test digest of block ${block} (blocks of ${blockBytes} bytes) is ${actual.toString('hex').slice(0, 16)}…, ` +
          `node:crypto's SHA-256 of the same bytes ${expected.toString('hex').slice(0, 16)}…`,
      );
  }
}
