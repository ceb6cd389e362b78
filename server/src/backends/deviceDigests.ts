// Digests a backend computes on its device (CUDA: native/kernels/blockSha256.cu; WebGPU:
// webgpu/blockSha256Wgsl.ts): the SHA-256 of every block of a buffer, 32 bytes a block, back to
// back. Migration's device-to-device moves and staged imports verify with them instead of reading
// the state back to the CPU; they become a state digest (hosts/stateDigests.ts), which names the
// block size.

/** The largest block the GPU digest kernel hashes as one unit (one thread per block). */
export const GPU_DIGEST_BLOCK_BYTES = 64 * 1024;
/** The smallest: below it the digest lists, hashed on the CPU into the state's digest, grow faster than the GPU's time shrinks. */
export const GPU_DIGEST_MIN_BLOCK_BYTES = 4 * 1024;
/** Blocks a state is cut into, at least, where the sizes allow: enough threads to fill an H100 (132 multiprocessors). */
const GPU_DIGEST_BLOCKS = 16 * 1024;

/**
 * The block size the GPU digests a state of `bytes` in: a power of two between the smallest and
 * the largest giving at least GPU_DIGEST_BLOCKS blocks. A thread hashes its block in a row, so a
 * launch lasts about one block's hash: with 64 KiB blocks throughout, a move's verify (both sides)
 * took 2.3 ms for 64 MiB (1,024 threads a side) and 4.0 ms for 1 GiB (16,384) on an H100; 4 KiB
 * blocks give 64 MiB 16,384 threads too, each with a sixteenth of the work.
 */
export function gpuDigestBlockBytes(bytes: number): number {
  let block = GPU_DIGEST_MIN_BLOCK_BYTES;
  while (block < GPU_DIGEST_BLOCK_BYTES && bytes > block * GPU_DIGEST_BLOCKS) block *= 2;
  return block;
}

/** A SHA-256 digest's size. */
export const SHA256_BYTES = 32;

/** A device copy's two digest lists, computed on the device: the source's blocks and the copy's. */
export interface CopyDigests {
  blockBytes: number;
  source: Uint8Array;
  copy: Uint8Array;
  /** From the first digest launch queued to both lists in host memory, milliseconds (the copy between included). */
  ms: number;
}
