// Migration's per-block state digests (hosts/stateDigests.ts), the hashing threads that compute
// them (hosts/child/hashPool.ts, on the built dist/hashWorker.js), and the target's overlapped
// read back (hosts/child/importVerifier.ts) over a state held in memory: the digest of a state is
// the same whichever way its blocks were hashed, and changes with any byte.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { BufferHandle, GpuBackend } from '../../server/src/backends/backend';
import { HashPool } from '../../server/src/hosts/child/hashPool';
import { ImportVerifier, VerifySlots, VERIFY_READ_BYTES } from '../../server/src/hosts/child/importVerifier';
import {
  DIGEST_BLOCK_BYTES,
  GPU_DIGEST_BLOCK_BYTES,
  SHA256_BYTES,
  blockCount,
  blockDigestsOf as referenceDigests,
  hexDigests,
  blockRange,
  blocksBefore,
  firstDifference,
  stateDigest,
} from '../../server/src/hosts/stateDigests';
import { distFile } from '../support/repo';

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function blockDigestsOf(state: Uint8Array): string[] {
  return Array.from({ length: blockCount(state.byteLength) }, (_, block) => {
    const { offset, length } = blockRange(block, state.byteLength);
    return sha(state.subarray(offset, offset + length));
  });
}

function pattern(bytes: number, seed = 1): Uint8Array {
  const state = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) state[i] = (i * 2654435761 + seed) >>> 24;
  return state;
}

const pool = new HashPool(2, distFile('hashWorker.js'));
const dir = mkdtempSync(join(tmpdir(), 'ringkernel-digests-'));
after(() => {
  pool.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test('blocks cover a state exactly once, the last one shorter', () => {
  const bytes = 2 * DIGEST_BLOCK_BYTES + 12;
  assert.equal(blockCount(bytes), 3);
  assert.deepEqual(blockRange(2, bytes), { offset: 2 * DIGEST_BLOCK_BYTES, length: 12 });
  assert.deepEqual(blocksBefore(DIGEST_BLOCK_BYTES - 4, bytes, 0), [], 'a block not wholly written is not hashed');
  assert.deepEqual(blocksBefore(2 * DIGEST_BLOCK_BYTES, bytes, 1), [1]);
  assert.deepEqual(blocksBefore(bytes, bytes, 1), [1, 2], 'the end of the state takes the short last block');
});

test('the state digest changes with any block, its size, and the order of the blocks', () => {
  const state = pattern(3 * DIGEST_BLOCK_BYTES);
  const digests = blockDigestsOf(state);
  const digest = stateDigest(state.byteLength, digests);
  assert.equal(stateDigest(state.byteLength, blockDigestsOf(state.slice())), digest, 'the same bytes, the same digest');
  const changed = state.slice();
  changed[DIGEST_BLOCK_BYTES + 7] = (changed[DIGEST_BLOCK_BYTES + 7] ?? 0) ^ 1;
  const changedDigests = blockDigestsOf(changed);
  assert.notEqual(stateDigest(changed.byteLength, changedDigests), digest, 'one bit flipped changes it');
  assert.deepEqual(firstDifference(digests, changedDigests, state.byteLength), {
    block: 1,
    offset: DIGEST_BLOCK_BYTES,
    length: DIGEST_BLOCK_BYTES,
  });
  assert.equal(firstDifference(digests, digests, state.byteLength), undefined);
  assert.notEqual(stateDigest(state.byteLength, [digests[1], digests[0], digests[2]] as string[]), digest);
  assert.throws(
    () => stateDigest(state.byteLength + DIGEST_BLOCK_BYTES, digests),
    /has 4 blocks of 2097152 bytes, not the 3 digests/,
  );
});

test('the CPU reference hashes each block of the given size with SHA-256, the last one short', () => {
  const block = GPU_DIGEST_BLOCK_BYTES;
  const state = pattern(2 * block + 55, 11);
  const digests = referenceDigests(state, block);
  assert.equal(digests.length, 3);
  assert.equal(digests[0], sha(state.subarray(0, block)));
  assert.equal(digests[2], sha(state.subarray(2 * block)), 'the last block is its 55 bytes, padded by SHA-256 itself');
  assert.deepEqual(referenceDigests(state), blockDigestsOf(state), 'without a size: DIGEST_BLOCK_BYTES');
  assert.deepEqual(blockRange(2, state.byteLength, block), { offset: 2 * block, length: 55 });
  assert.deepEqual(blocksBefore(block + 1, state.byteLength, 0, block), [0]);
});

test('digests back to back (the GPU kernel output) make the same state digest as their hex list', () => {
  const block = GPU_DIGEST_BLOCK_BYTES;
  const state = pattern(3 * block + 1, 13);
  const hex = referenceDigests(state, block);
  const raw = Buffer.concat(hex.map((digest) => Buffer.from(digest, 'hex')));
  assert.equal(raw.byteLength, 4 * SHA256_BYTES);
  assert.deepEqual(hexDigests(raw), hex);
  assert.equal(stateDigest(state.byteLength, raw, block), stateDigest(state.byteLength, hex, block));
  assert.throws(
    () => stateDigest(state.byteLength, raw.subarray(SHA256_BYTES), block),
    /has 4 blocks of 65536 bytes, not the 3/,
  );
});

test('two block sizes never give the same state digest, even for one block', () => {
  // A state of one block under both sizes: the same single SHA-256, yet the header names the size.
  const state = pattern(1000, 17);
  const cpu = stateDigest(state.byteLength, referenceDigests(state));
  const gpu = stateDigest(state.byteLength, referenceDigests(state, GPU_DIGEST_BLOCK_BYTES), GPU_DIGEST_BLOCK_BYTES);
  assert.deepEqual(referenceDigests(state), referenceDigests(state, GPU_DIGEST_BLOCK_BYTES));
  assert.notEqual(cpu, gpu);
});

test('the first difference names the bytes of the block size it is given', () => {
  const block = GPU_DIGEST_BLOCK_BYTES;
  const state = pattern(5 * block, 19);
  const changed = state.slice();
  changed[3 * block + 9] = (changed[3 * block + 9] ?? 0) ^ 0x80;
  assert.deepEqual(
    firstDifference(referenceDigests(state, block), referenceDigests(changed, block), state.byteLength, block),
    { block: 3, offset: 3 * block, length: block },
  );
});

test('the hashing threads hash a region file and shared memory as SHA-256 does', async () => {
  const state = pattern(DIGEST_BLOCK_BYTES + 1000, 7);
  const file = join(dir, 'region');
  writeFileSync(file, state);
  const fromFile = await Promise.all(
    [0, 1].map((block) => pool.hash({ file, ...blockRange(block, state.byteLength) })),
  );
  assert.deepEqual(fromFile, blockDigestsOf(state));
  const shared = new SharedArrayBuffer(state.byteLength);
  new Uint8Array(shared).set(state);
  assert.equal(await pool.hash({ shared, offset: 0, length: state.byteLength }), sha(state));
  await assert.rejects(
    pool.hash({ file: join(dir, 'gone'), offset: 0, length: 4 }),
    /hashing a block of the state failed: .*ENOENT/,
  );
  await assert.rejects(pool.hash({ file, offset: state.byteLength - 4, length: 8 }), /ended at/);
});

test("a job's sub-block digests (a device-digesting importer's block size) are the state's blocks of that size, in order", async () => {
  // Two 2 MiB jobs and a short one whose tail is neither a whole sub-block nor whole words.
  const state = pattern(2 * DIGEST_BLOCK_BYTES + 3 * GPU_DIGEST_BLOCK_BYTES + 57, 23);
  const file = join(dir, 'region-sub-blocks');
  writeFileSync(file, state);
  const jobs = await Promise.all(
    [0, 1, 2].map((block) => pool.hashBlocks({ file, ...blockRange(block, state.byteLength) }, GPU_DIGEST_BLOCK_BYTES)),
  );
  assert.deepEqual(
    jobs.map((digests) => digests.length),
    [32, 32, 4],
  );
  const reference = referenceDigests(state, GPU_DIGEST_BLOCK_BYTES);
  assert.deepEqual(jobs.flat(), reference);
  assert.equal(
    stateDigest(state.byteLength, jobs.flat(), GPU_DIGEST_BLOCK_BYTES),
    stateDigest(
      state.byteLength,
      Buffer.concat(reference.map((hex) => Buffer.from(hex, 'hex'))),
      GPU_DIGEST_BLOCK_BYTES,
    ),
    "the exporter's digest equals the one made from a device's digests of the same bytes",
  );
  const shared = new SharedArrayBuffer(state.byteLength);
  new Uint8Array(shared).set(state);
  assert.deepEqual(
    await pool.hashBlocks({ shared, offset: 0, length: DIGEST_BLOCK_BYTES }, GPU_DIGEST_BLOCK_BYTES),
    reference.slice(0, 32),
  );
  assert.equal(
    await pool.hash({ file, offset: 0, length: 64, blockBytes: 4 }),
    sha(state.subarray(0, 64)),
    'hash ignores a sub-block size',
  );
  await assert.rejects(pool.hashBlocks({ file, offset: 0, length: 64 }, 0), /sub-blocks of 0 bytes/);
});

/** A device buffer held in memory: the verifier's reads see what was "written" so far. */
function memoryDevice(state: Uint8Array): { backend: GpuBackend; buffer: BufferHandle; reads: number[] } {
  const reads: number[] = [];
  const backend = {
    readRanges: (
      _buffer: BufferHandle,
      ranges: { offset: number; length: number }[],
      consume: (view: Uint8Array) => Promise<void>,
    ) => {
      const [range] = ranges;
      assert.ok(range && ranges.length === 1);
      reads.push(range.offset);
      return consume(state.slice(range.offset, range.offset + range.length));
    },
  } as unknown as GpuBackend;
  return { backend, buffer: { id: 1, device: 0, bytes: state.byteLength }, reads };
}

test("the import verifier reads back only what was written, and its digests are the state's", async () => {
  const state = pattern(3 * VERIFY_READ_BYTES + 4096, 3);
  const device = memoryDevice(state);
  const verifier = new ImportVerifier(device.backend, device.buffer, state.byteLength, pool, new VerifySlots());
  verifier.advance(VERIFY_READ_BYTES - 4);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(device.reads, [], 'nothing is read back before a whole part is written');
  verifier.advance(2 * VERIFY_READ_BYTES);
  verifier.advance(state.byteLength);
  const digests = await verifier.blockDigests();
  assert.deepEqual(device.reads, [0, VERIFY_READ_BYTES, 2 * VERIFY_READ_BYTES, 3 * VERIFY_READ_BYTES]);
  assert.deepEqual(digests, blockDigestsOf(state));
});

test("a stopped verifier fails with the import's reason and reads no more", async () => {
  const state = pattern(2 * VERIFY_READ_BYTES, 5);
  const device = memoryDevice(state);
  const verifier = new ImportVerifier(device.backend, device.buffer, state.byteLength, pool, new VerifySlots());
  verifier.advance(VERIFY_READ_BYTES);
  verifier.stop(new Error('the source died'));
  await assert.rejects(verifier.blockDigests(), /the source died/);
  assert.ok(device.reads.length <= 1);
});

test('warm() resolves once every hashing thread runs, so a prepare that awaits it leaves none starting in the pause', async () => {
  const fresh = new HashPool(3, distFile('hashWorker.js'));
  try {
    assert.equal(fresh.running, 0, 'no thread before warm()');
    const warming = fresh.warm();
    assert.equal(fresh.running, 0, 'threads are still starting when warm() returns its promise');
    await warming;
    assert.equal(fresh.running, 3, 'every thread runs once warm() has resolved');
    await fresh.warm();
    assert.equal(fresh.running, 3, 'warm() on running threads starts no more');
  } finally {
    fresh.dispose();
  }
});
