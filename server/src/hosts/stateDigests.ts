// Migration's check of the state's bytes, per block: the state is cut into blocks of
// DIGEST_BLOCK_BYTES, each hashed with SHA-256 on its own, so the blocks can be hashed while the
// transfer goes on and on several threads at once (one SHA-256 over the whole state runs at
// 1.5-2 GB/s on one core, slower than the transfer, and cannot start before the last byte). The
// state's digest is the SHA-256 over its size, the block size and the blocks' digests in order:
// two states have the same digest exactly when every block has the same bytes. Shared by the
// device hosts (which hash) and the server (which compares).
//
// Device-to-device moves between CUDA devices hash on the GPU instead (native/kernels/
// blockSha256.cu, one thread per block): there the blocks are smaller, 4 to 64 KiB by the state's
// size (gpuDigestBlockBytes), so a state has enough blocks to keep the GPU busy. Staged imports
// whose target digests on its device use GPU_DIGEST_BLOCK_BYTES, and the exporter's threads hash
// the same sub-blocks. Every function takes the block size; the digest
// names it, so states hashed in blocks of two sizes never compare equal by accident.
import { createHash } from 'node:crypto';
import { GPU_DIGEST_BLOCK_BYTES, SHA256_BYTES, gpuDigestBlockBytes } from '../backends/deviceDigests';

export { GPU_DIGEST_BLOCK_BYTES, SHA256_BYTES, gpuDigestBlockBytes };

/** Bytes hashed as one unit on the CPU (the last block of a state may be shorter). */
export const DIGEST_BLOCK_BYTES = 2 * 1024 * 1024;

/** How many blocks `bytes` of state have. */
export function blockCount(bytes: number, blockBytes = DIGEST_BLOCK_BYTES): number {
  return Math.ceil(bytes / blockBytes);
}

/** Block `index` of a state of `bytes`: its offset and length. */
export function blockRange(
  index: number,
  bytes: number,
  blockBytes = DIGEST_BLOCK_BYTES,
): { offset: number; length: number } {
  const offset = index * blockBytes;
  return { offset, length: Math.min(blockBytes, bytes - offset) };
}

/** The blocks wholly inside the first `end` bytes of a state of `bytes`, from block `from` on (`end` = `bytes`: all). */
export function blocksBefore(end: number, bytes: number, from: number, blockBytes = DIGEST_BLOCK_BYTES): number[] {
  const last = end >= bytes ? blockCount(bytes, blockBytes) : Math.floor(end / blockBytes);
  const indices: number[] = [];
  for (let index = from; index < last; index++) indices.push(index);
  return indices;
}

/**
 * The state's digest: SHA-256 over its size, the block size and its blocks' digests in order, as
 * hex strings or as their bytes back to back (the GPU kernel's output, 32 bytes a block).
 */
export function stateDigest(
  bytes: number,
  blockDigests: readonly string[] | Uint8Array,
  blockBytes = DIGEST_BLOCK_BYTES,
): string {
  const given = blockDigests instanceof Uint8Array ? blockDigests.byteLength / SHA256_BYTES : blockDigests.length;
  if (given !== blockCount(bytes, blockBytes))
    throw new Error(
      `a state of ${bytes} bytes has ${blockCount(bytes, blockBytes)} blocks of ${blockBytes} bytes, not the ${given} digests given`,
    );
  const hash = createHash('sha256');
  hash.update(`ringkernel-state-blocks ${bytes} ${blockBytes}\n`);
  if (blockDigests instanceof Uint8Array) hash.update(blockDigests);
  else for (const digest of blockDigests) hash.update(Buffer.from(digest, 'hex'));
  return hash.digest('hex');
}

/** The CPU's reference for the block digests: each block of `state` hashed with node:crypto, in order (hex). */
export function blockDigestsOf(state: Uint8Array, blockBytes = DIGEST_BLOCK_BYTES): string[] {
  return Array.from({ length: blockCount(state.byteLength, blockBytes) }, (_, block) => {
    const { offset, length } = blockRange(block, state.byteLength, blockBytes);
    return createHash('sha256')
      .update(state.subarray(offset, offset + length))
      .digest('hex');
  });
}

/** Digests back to back (the GPU kernel's output) as hex strings, one a block. */
export function hexDigests(raw: Uint8Array): string[] {
  const digests: string[] = [];
  for (let at = 0; at + SHA256_BYTES <= raw.byteLength; at += SHA256_BYTES)
    digests.push(Buffer.from(raw.buffer, raw.byteOffset + at, SHA256_BYTES).toString('hex'));
  return digests;
}

/** The first block whose digests differ (or that one list lacks), with its bytes; undefined when the lists agree. */
export function firstDifference(
  expected: readonly string[],
  actual: readonly string[],
  bytes: number,
  blockBytes = DIGEST_BLOCK_BYTES,
): { block: number; offset: number; length: number } | undefined {
  const blocks = Math.max(expected.length, actual.length);
  for (let block = 0; block < blocks; block++) {
    if (expected[block] !== actual[block]) return { block, ...blockRange(block, bytes, blockBytes) };
  }
  return undefined;
}
