// Fuzzing the checkpoint reader beyond test/unit/checkpoint (which flips every byte and cuts at
// every length of one file, all caught by the digests or the CRC): here the damage is resealed, each
// chunk's SHA-256 and the trailer's CRC-32 recomputed, so it reaches the structure and payload
// checks behind them, as a buggy writer's file would. And hostile kernel ids through CheckpointStore:
// every file stays in its folder and reads back under its own id only.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { basename } from 'node:path';
import { describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { memorySource } from '../../server/src/checkpoint/byteStreams';
import { decodeCheckpoint } from '../../server/src/checkpoint/checkpointDecoder';
import { CheckpointFileError } from '../../server/src/checkpoint/checkpointErrors';
import {
  CHUNK_HEADER_BYTES,
  DIGEST_BYTES,
  HEADER_BYTES,
  TRAILER_BYTES,
} from '../../server/src/checkpoint/checkpointFormat';
import { CheckpointStore } from '../../server/src/checkpoint/checkpointStore';
import { encodeToBytes, sampleRecord, withTempFolder } from '../unit/checkpoint/records';
import { fuzz, somewhere } from './fuzzRun';

const NAME = '/fuzz/k.rkcp';

/** Recomputes every chunk digest it can find and the trailer CRC, so damage reaches the checks behind them. */
function resealAll(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = HEADER_BYTES;
  while (at + CHUNK_HEADER_BYTES + DIGEST_BYTES <= bytes.byteLength - TRAILER_BYTES) {
    const length = view.getBigUint64(at + 8, true);
    const payloadAt = at + CHUNK_HEADER_BYTES;
    if (length > BigInt(bytes.byteLength - TRAILER_BYTES - payloadAt - DIGEST_BYTES)) break;
    const end = payloadAt + Number(length);
    bytes.set(createHash('sha256').update(bytes.subarray(payloadAt, end)).digest(), end);
    at = end + DIGEST_BYTES;
  }
  if (bytes.byteLength >= 4)
    view.setUint32(bytes.byteLength - 4, crc32(bytes.subarray(0, bytes.byteLength - 4)) >>> 0, true);
  return bytes;
}

type Damage = (bytes: Uint8Array) => Uint8Array;
const at = somewhere;
const index = (w: number, n: number): number => Math.min(n - 1, Math.floor(w * n));
const EXTREMES = [
  0n,
  1n,
  3n,
  4n,
  0x7fn,
  0xffn,
  0xffffn,
  0xffffffffn,
  0x100000000n,
  2n ** 53n,
  2n ** 63n,
  2n ** 64n - 1n,
];
const damage: fc.Arbitrary<Damage> = fc.oneof(
  fc.tuple(at, fc.nat({ max: 255 })).map(([w, v]) => (b: Uint8Array) => {
    b[index(w, b.length)] = v;
    return b;
  }),
  // A length, count or size field set to an extreme (fields are little-endian u16/u32/u64).
  fc.tuple(at, fc.constantFrom(2, 4, 8), fc.constantFrom(...EXTREMES)).map(([w, width, v]) => (b: Uint8Array) => {
    const i = index(w, Math.max(1, b.length - width));
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (width === 2) view.setUint16(i, Number(v & 0xffffn), true);
    else if (width === 4) view.setUint32(i, Number(v & 0xffffffffn), true);
    else view.setBigUint64(i, v & (2n ** 64n - 1n), true);
    return b;
  }),
  fc.tuple(at, fc.uint8Array({ minLength: 1, maxLength: 64 })).map(([w, insert]) => (b: Uint8Array) => {
    const i = index(w, b.length);
    return Uint8Array.from([...b.subarray(0, i), ...insert, ...b.subarray(i)]);
  }),
  fc.tuple(at, fc.nat({ max: 64 })).map(([w, n]) => (b: Uint8Array) => {
    const i = index(w, b.length);
    return Uint8Array.from([...b.subarray(0, i), ...b.subarray(i + n)]);
  }),
  // A span copied elsewhere (a chunk twice, a header inside a payload).
  fc.tuple(at, at, fc.nat({ max: 200 })).map(([from, to, n]) => (b: Uint8Array) => {
    const i = index(from, b.length);
    const j = index(to, b.length);
    return Uint8Array.from([...b.subarray(0, j), ...b.subarray(i, i + n), ...b.subarray(j)]);
  }),
);

describe('fuzz: checkpoint reader', () => {
  test(
    'damaged and resealed files are rejected with a CheckpointFileError naming the file, or read whole; never anything else',
    { timeout: 600_000 },
    async (t) => {
      const valids = await Promise.all([
        encodeToBytes(sampleRecord({ full: true })),
        encodeToBytes(sampleRecord({ stateBytes: 0 })),
        encodeToBytes(sampleRecord({ kernelId: 'ünïcødé kernel 🚀', stateBytes: 12 })),
      ]);
      const problems = new Map<string, number>();
      let accepted = 0;
      const input = fc.tuple(
        fc.constantFrom(...valids),
        fc.array(damage, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
      );
      await fuzz(
        t,
        'checkpoint reader (resealed damage)',
        input,
        async ([valid, damages, seal]) => {
          const damaged = damages.reduce<Uint8Array>((b, d) => d(b), Uint8Array.from(valid));
          const bytes = seal ? resealAll(damaged) : damaged;
          try {
            const record = await decodeCheckpoint(memorySource(bytes), NAME);
            accepted++;
            // A file read whole is a sound record: its state has the size and digest its metadata says.
            assert.equal(record.checkpoint.state.byteLength, record.checkpoint.stateBytes);
            assert.equal(
              record.checkpoint.knownSha256,
              createHash('sha256').update(record.checkpoint.state).digest('hex'),
            );
          } catch (error) {
            if (!(error instanceof CheckpointFileError))
              throw new Error(`not a CheckpointFileError: ${error instanceof Error ? error.stack : String(error)}`);
            assert.ok(error.message.includes(NAME) && error.detail.trim() !== '', error.message);
            problems.set(error.problem, (problems.get(error.problem) ?? 0) + 1);
          }
        },
        { perInputMs: 5_000 },
      );
      t.diagnostic(`accepted ${accepted}; rejected: ${JSON.stringify(Object.fromEntries(problems))}`);
    },
  );

  test(
    'any kernel id: its files stay in the store folder, and read back under that id only (security)',
    { timeout: 600_000 },
    async (t) => {
      await withTempFolder(async (folder) => {
        const store = await CheckpointStore.open(folder, { keep: 1 });
        const ids = fc.oneof(
          fc.string({ unit: 'binary', minLength: 1, maxLength: 80 }),
          fc.constantFrom(
            '..',
            '../x',
            '/etc/passwd',
            'a/../../b',
            'CON',
            'nul.txt',
            'a\0b',
            '\\..\\x',
            '.',
            ' ',
            'x'.repeat(500),
            'Heat',
            'heat',
          ),
        );
        await fuzz(
          t,
          'checkpoint names (CheckpointStore)',
          ids,
          async (kernelId) => {
            const record = sampleRecord({ kernelId, stateBytes: 8 });
            try {
              const outcome = await store.write(record);
              assert.ok(outcome.written);
              assert.equal(
                basename(outcome.file),
                outcome.file.slice(folder.length + 1),
                `${outcome.file} is not directly in ${folder}`,
              );
            } catch (error) {
              // An id the metadata cannot hold (too long, a lone surrogate) is refused before a byte is written.
              assert.match(error instanceof Error ? error.message : String(error), /kernel id|checkpoint/);
              assert.deepEqual(
                (await readdir(folder)).filter((n) => n.endsWith('.tmp')),
                [],
              );
              return;
            }
            const newest = await store.newest(kernelId);
            assert.equal(newest.loaded?.record.checkpoint.kernelId, kernelId);
            assert.ok(Buffer.from(newest.loaded.record.checkpoint.state).equals(Buffer.from(record.checkpoint.state)));
            // Another id never finds it (case and normalisation differ, or a prefix).
            for (const other of [kernelId.toUpperCase(), kernelId.normalize('NFD'), `${kernelId}x`]) {
              if (other === kernelId) continue;
              const found = await store.newest(other);
              assert.notEqual(
                found.loaded?.record.checkpoint.kernelId,
                kernelId,
                `id ${JSON.stringify(other)} read the file of ${JSON.stringify(kernelId)}`,
              );
            }
            await store.remove(kernelId);
          },
          { perInputMs: 10_000, share: 0.5 },
        );
        await store.idle();
        // The folder holds nothing else: no file of any id landed outside it or stayed behind.
        assert.deepEqual(await readdir(folder), []);
      });
    },
  );
});
