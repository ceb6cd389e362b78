// State sizes that test a block digest: around SHA-256's padding edges (55 bytes of message fit
// one 64-byte chunk with the padding, 56 need a second), and around the block size `block`.
export function sizesAroundDigestEdges(block: number): number[] {
  const edges = [1, 55, 56, 57, 63, 64, 65, 119, 120];
  return [...edges, block - 1, block, block + 1, block + 55, block + 56, 2 * block + 64];
}
