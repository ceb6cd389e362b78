// What the digest kernels' tests share: the state sizes worth testing and the block-by-block
// comparison with node:crypto's SHA-256.
import assert from 'node:assert/strict';
import { blockDigestsOf, blockRange, hexDigests } from '../../server/src/hosts/stateDigests';

/**
 * State sizes that test a block digest: around SHA-256's padding edges (55 bytes of message fit
 * one 64-byte chunk with the padding, 56 need a second), and around the block size `block`.
 */
export function sizesAroundDigestEdges(block: number): number[] {
  const edges = [1, 55, 56, 57, 63, 64, 65, 119, 120];
  return [...edges, block - 1, block, block + 1, block + 55, block + 56, 2 * block + 64];
}

/** Each block's device digest (`listed`, 32 bytes a block) against node:crypto's; the failure names the block and its bytes. */
export function compareBlocks(what: string, data: Uint8Array, listed: Uint8Array, blockBytes: number): void {
  const expected = blockDigestsOf(data, blockBytes);
  const actual = hexDigests(listed);
  assert.equal(
    actual.length,
    expected.length,
    `${what}: ${expected.length} block digests expected, got ${actual.length}`,
  );
  for (let block = 0; block < expected.length; block++) {
    if (actual[block] === expected[block]) continue;
    const { offset, length } = blockRange(block, data.byteLength, blockBytes);
    assert.fail(
      `${what}: block ${block} (bytes ${offset}-${offset + length - 1}) hashes to ${actual[block]} on the device, ${expected[block]} with node:crypto`,
    );
  }
}
