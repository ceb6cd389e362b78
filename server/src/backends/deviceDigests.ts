// Digests a backend computes on its device (CUDA: native/kernels/blockSha256.cu): the SHA-256 of
// every block of GPU_DIGEST_BLOCK_BYTES of a buffer, 32 bytes a block, back to back. Migration's
// device-to-device moves verify with them instead of reading the state back to the CPU; the
// server turns them into a state digest (hosts/stateDigests.ts).

/** Bytes the GPU digest kernel hashes as one unit: blockSha256.cu's BLOCK_BYTES (keep them equal). */
export const GPU_DIGEST_BLOCK_BYTES = 64 * 1024;

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
