// Migration's check of the state's bytes, per block: the state is cut into blocks of
// DIGEST_BLOCK_BYTES, each hashed with SHA-256 on its own, so the blocks can be hashed while the
// transfer goes on and on several threads at once (one SHA-256 over the whole state runs at
// 1.5-2 GB/s on one core, slower than the transfer, and cannot start before the last byte). The
// state's digest is the SHA-256 over its size, the block size and the blocks' digests in order:
// two states have the same digest exactly when every block has the same bytes. Shared by the
// device hosts (which hash) and the server (which compares).
import { createHash } from 'node:crypto';

/** Bytes hashed as one unit (the last block of a state may be shorter). */
export const DIGEST_BLOCK_BYTES = 2 * 1024 * 1024;

/** How many blocks `bytes` of state have. */
export function blockCount(bytes: number): number {
  return Math.ceil(bytes / DIGEST_BLOCK_BYTES);
}

/** Block `index` of a state of `bytes`: its offset and length. */
export function blockRange(index: number, bytes: number): { offset: number; length: number } {
  const offset = index * DIGEST_BLOCK_BYTES;
  return { offset, length: Math.min(DIGEST_BLOCK_BYTES, bytes - offset) };
}

/** The blocks wholly inside the first `end` bytes of a state of `bytes`, from block `from` on (`end` = `bytes`: all). */
export function blocksBefore(end: number, bytes: number, from: number): number[] {
  const last = end >= bytes ? blockCount(bytes) : Math.floor(end / DIGEST_BLOCK_BYTES);
  const indices: number[] = [];
  for (let index = from; index < last; index++) indices.push(index);
  return indices;
}

/** The state's digest: SHA-256 over its size, the block size and its blocks' digests (hex), in order. */
export function stateDigest(bytes: number, blockDigests: readonly string[]): string {
  if (blockDigests.length !== blockCount(bytes))
    throw new Error(
      `a state of ${bytes} bytes has ${blockCount(bytes)} blocks, not the ${blockDigests.length} digests given`,
    );
  const hash = createHash('sha256');
  hash.update(`ringkernel-state-blocks ${bytes} ${DIGEST_BLOCK_BYTES}\n`);
  for (const digest of blockDigests) hash.update(Buffer.from(digest, 'hex'));
  return hash.digest('hex');
}

/** The first block whose digests differ (or that one list lacks), with its bytes; undefined when the lists agree. */
export function firstDifference(
  expected: readonly string[],
  actual: readonly string[],
  bytes: number,
): { block: number; offset: number; length: number } | undefined {
  const blocks = Math.max(expected.length, actual.length);
  for (let block = 0; block < blocks; block++) {
    if (expected[block] !== actual[block]) return { block, ...blockRange(block, bytes) };
  }
  return undefined;
}
