// A device-to-device move's verify on the GPU, from the digest lists on (hosts/child/deviceStateCopy.ts
// `compared`, then the migrator's firstDifference): equal lists make one state digest for both
// sides; lists that differ make two, and go back as hex so the mismatch names the block's bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compared } from '../../server/src/hosts/child/deviceStateCopy';
import {
  GPU_DIGEST_BLOCK_BYTES,
  blockDigestsOf,
  firstDifference,
  stateDigest,
} from '../../server/src/hosts/stateDigests';

const BLOCK = GPU_DIGEST_BLOCK_BYTES;

function raw(state: Uint8Array): Uint8Array {
  return Buffer.concat(blockDigestsOf(state, BLOCK).map((digest) => Buffer.from(digest, 'hex')));
}

function state(bytes: number): Uint8Array {
  const bytesOf = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) bytesOf[i] = (i * 2654435761 + 5) >>> 24;
  return bytesOf;
}

test('equal digest lists: one state digest for both sides, no lists sent back', () => {
  const source = state(3 * BLOCK + 10);
  const result = compared(source.byteLength, { blockBytes: BLOCK, source: raw(source), copy: raw(source), ms: 1.5 });
  const digest = stateDigest(source.byteLength, blockDigestsOf(source, BLOCK), BLOCK);
  assert.deepEqual(result, { sha256: digest, blockBytes: BLOCK, source: { sha256: digest }, verifyMs: 1.5 });
});

test('digest lists that differ: two state digests, both lists, and the first differing block named in bytes', () => {
  const source = state(4 * BLOCK);
  const copy = source.slice();
  copy[2 * BLOCK + 100] = (copy[2 * BLOCK + 100] ?? 0) ^ 1;
  const result = compared(source.byteLength, { blockBytes: BLOCK, source: raw(source), copy: raw(copy), ms: 2 });
  assert.notEqual(result.sha256, result.source?.sha256);
  assert.equal(result.source?.sha256, stateDigest(source.byteLength, blockDigestsOf(source, BLOCK), BLOCK));
  assert.deepEqual(result.digests, blockDigestsOf(copy, BLOCK));
  assert.deepEqual(
    firstDifference(result.source?.digests ?? [], result.digests ?? [], source.byteLength, result.blockBytes),
    { block: 2, offset: 2 * BLOCK, length: BLOCK },
  );
});
