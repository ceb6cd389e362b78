import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MemorySink, memorySource } from '../../../server/src/checkpoint/byteStreams';
import { decodeCheckpoint, readCheckpointFile } from '../../../server/src/checkpoint/checkpointDecoder';
import { encodeCheckpoint } from '../../../server/src/checkpoint/checkpointEncoder';
import { CheckpointFileError, type CheckpointProblem } from '../../../server/src/checkpoint/checkpointErrors';
import {
  CHUNK_HEADER_BYTES,
  DIGEST_BYTES,
  HEADER_BYTES,
  SLICE_BYTES,
  TRAILER_BYTES,
} from '../../../server/src/checkpoint/checkpointFormat';
import type { CheckpointRecord } from '../../../server/src/checkpoint/checkpointRecord';
import { KernelCheckpoint } from '../../../server/src/checkpoint/kernelCheckpoint';
import { encodeToBytes, propertyRuns, reseal, sampleRecord, withTempFolder } from './records';

const NAME = '/ckpt/heat.rkcp';

async function rejection(bytes: Uint8Array, options: { expectKernelId?: string } = {}): Promise<CheckpointFileError> {
  try {
    await decodeCheckpoint(memorySource(bytes), NAME, options);
  } catch (error) {
    assert.ok(error instanceof CheckpointFileError, `expected a CheckpointFileError, got ${String(error)}`);
    assert.equal(error.file, NAME);
    assert.ok(error.message.includes(NAME), error.message);
    return error;
  }
  assert.fail('the file was accepted');
}

async function assertRejected(bytes: Uint8Array, problem: CheckpointProblem, pattern: RegExp): Promise<void> {
  const error = await rejection(bytes);
  assert.equal(error.problem, problem, error.message);
  assert.match(error.message, pattern);
}

function assertSameRecord(actual: CheckpointRecord, expected: CheckpointRecord): void {
  const a = actual.checkpoint;
  const e = expected.checkpoint;
  assert.deepEqual(
    { id: a.kernelId, version: a.version, step: a.step, at: a.takenAt.getTime() },
    { id: e.kernelId, version: e.version, step: e.step, at: e.takenAt.getTime() },
  );
  assert.ok(Buffer.from(a.state).equals(Buffer.from(e.state)), 'state bytes differ');
  assert.deepEqual({ ...actual, checkpoint: undefined }, { ...expected, checkpoint: undefined });
}

/** Every offset where a part of the file ends, found by walking the chunk headers. */
function boundaries(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = [8, HEADER_BYTES];
  let at = HEADER_BYTES;
  for (let i = 0; i < view.getUint32(16, true); i++) {
    const length = Number(view.getBigUint64(at + 8, true));
    found.push(
      at + CHUNK_HEADER_BYTES,
      at + CHUNK_HEADER_BYTES + length,
      at + CHUNK_HEADER_BYTES + length + DIGEST_BYTES,
    );
    at += CHUNK_HEADER_BYTES + length + DIGEST_BYTES;
  }
  found.push(at + 4);
  assert.equal(at + TRAILER_BYTES, bytes.byteLength);
  return found;
}

describe('checkpoint file format', () => {
  test('a record with every chunk reads back equal, with the state digest recorded', async () => {
    const record = sampleRecord({ full: true });
    const decoded = await decodeCheckpoint(memorySource(await encodeToBytes(record)), NAME);
    assertSameRecord(decoded, record);
    assert.equal(decoded.checkpoint.knownSha256, createHash('sha256').update(record.checkpoint.state).digest('hex'));
  });

  test('a record with only the required chunks and an empty state reads back equal', async () => {
    const record = sampleRecord({ stateBytes: 0 });
    const decoded = await decodeCheckpoint(memorySource(await encodeToBytes(record)), NAME);
    assertSameRecord(decoded, record);
    assert.equal(decoded.hlc, undefined);
    assert.equal(decoded.pendingMessages, undefined);
  });

  test('a state of several slices goes through a real file and comes back into the memory given', async () => {
    await withTempFolder(async (folder) => {
      const record = sampleRecord({ stateBytes: SLICE_BYTES + 12 });
      const file = join(folder, 'big.rkcp');
      await writeFile(file, await encodeToBytes(record));
      const into = new Uint8Array(record.checkpoint.stateBytes);
      const decoded = await readCheckpointFile(file, { into });
      assert.equal(decoded.checkpoint.state, into, 'the state was not read into the memory given');
      assertSameRecord(decoded, record);
    });
  });

  test('any record round-trips (property)', async (t) => {
    const records = fc.record({
      kernelId: fc.string({ unit: 'grapheme', maxLength: 40 }),
      version: fc.nat(),
      step: fc.maxSafeNat(),
      state: fc.uint8Array({ maxLength: 300 }),
      takenAt: fc.date({ noInvalidDate: true }),
      backend: fc.string({ maxLength: 12 }),
      deviceKey: fc.string({ maxLength: 12 }),
      codeSha256: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex')),
      kernelIndex: fc.nat({ max: 0xffffffff }),
      hlc: fc.option(
        fc.record({
          physicalMicros: fc.maxSafeNat(),
          logical: fc.nat({ max: 0xffffffff }),
          nodeId: fc.nat({ max: 0xffffffff }),
        }),
        { nil: undefined },
      ),
      pending: fc.option(
        fc.record({
          pairs: fc.uniqueArray(
            fc.record({
              role: fc.constantFrom('incoming' as const, 'outgoing' as const),
              peer: fc.nat({ max: 0xffffffff }),
              peerId: fc.string({ unit: 'grapheme', maxLength: 20 }),
              sequence: fc.maxSafeNat(),
            }),
            { maxLength: 5, selector: (p) => `${p.role}:${p.peer}` },
          ),
          messages: fc.uniqueArray(
            fc.record({
              peer: fc.nat({ max: 0xffffffff }),
              incoming: fc.boolean(),
              type: fc.nat({ max: 0xffffffff }),
              seq: fc.maxSafeNat(),
              timestamp: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
              sendStep: fc.maxSafeNat(),
              payload: fc.uint8Array({ maxLength: 48 }),
            }),
            { maxLength: 8, selector: (m) => `${m.incoming}:${m.peer}:${m.seq}` },
          ),
        }),
        { nil: undefined },
      ),
    });
    await fc.assert(
      fc.asyncProperty(records, async (r) => {
        const record: CheckpointRecord = {
          checkpoint: KernelCheckpoint.of(
            { kernelId: r.kernelId, version: r.version, step: r.step, state: r.state },
            r.takenAt,
          ),
          codeSha256: r.codeSha256,
          backend: r.backend,
          deviceKey: r.deviceKey,
          control: { step: r.step % 2 ** 32, kernelIndex: r.kernelIndex, inboxCount: 0, outboxCapacity: 4 },
        };
        if (r.hlc) record.hlc = { ...r.hlc };
        if (r.pending)
          record.pendingMessages = {
            kernelIndex: r.kernelIndex,
            pairs: r.pending.pairs.map((pair) => ({ ...pair })),
            // A pair's messages go in increasing sequence order (the file's rule).
            messages: r.pending.messages
              .map(({ peer, incoming, ...m }) => ({
                ...m,
                source: incoming ? peer : r.kernelIndex,
                destination: incoming ? r.kernelIndex : peer,
              }))
              .sort((a, b) => a.source - b.source || a.destination - b.destination || a.seq - b.seq)
              .filter(
                (m, i, all) =>
                  i === 0 ||
                  !(
                    all[i - 1]?.source === m.source &&
                    all[i - 1]?.destination === m.destination &&
                    all[i - 1]?.seq === m.seq
                  ),
              ),
          };
        assertSameRecord(await decodeCheckpoint(memorySource(await encodeToBytes(record)), NAME), record);
      }),
      propertyRuns(t, 100),
    );
  });

  test('every single byte of a valid file, flipped, makes it rejected', async () => {
    const valid = await encodeToBytes(sampleRecord({ full: true }));
    const problems = new Map<string, number>();
    for (let i = 0; i < valid.byteLength; i++) {
      const bytes = Uint8Array.from(valid);
      bytes[i] = (bytes[i] ?? 0) ^ 0xff;
      const error = await rejection(bytes);
      problems.set(error.problem, (problems.get(error.problem) ?? 0) + 1);
    }
    // Payload flips are caught by their chunk's digest, the rest by structure checks or the checksum.
    assert.ok((problems.get('digest-mismatch') ?? 0) > 300, JSON.stringify([...problems]));
    assert.ok(
      problems.has('checksum-mismatch') && problems.has('not-a-checkpoint') && problems.has('unsupported-version'),
      JSON.stringify([...problems]),
    );
  });

  test('any bit pattern XORed into any byte makes the file rejected (property)', async (t) => {
    const valid = await encodeToBytes(sampleRecord({ full: true, stateBytes: 1000 }));
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: valid.byteLength - 1 }), fc.integer({ min: 1, max: 255 }), async (at, mask) => {
        const bytes = Uint8Array.from(valid);
        bytes[at] = (bytes[at] ?? 0) ^ mask;
        await rejection(bytes);
      }),
      propertyRuns(t, 500),
    );
  });

  test('a file cut short anywhere, chunk boundaries included, is rejected as truncated', async () => {
    const valid = await encodeToBytes(sampleRecord({ full: true }));
    for (let length = 0; length < valid.byteLength; length++) {
      const error = await rejection(valid.subarray(0, length));
      assert.equal(error.problem, 'truncated', `cut at ${length}: ${error.message}`);
    }
    const cut = boundaries(valid)[5] ?? 0;
    await assertRejected(
      valid.subarray(0, cut),
      'truncated',
      new RegExp(
        `header says it is ${valid.byteLength} bytes, but it is ${cut} \\(${valid.byteLength - cut} missing\\)`,
      ),
    );
  });

  test('a real file cut short at each chunk boundary and at random points is rejected as truncated', async (t) => {
    await withTempFolder(async (folder) => {
      const valid = await encodeToBytes(sampleRecord({ full: true, stateBytes: SLICE_BYTES + 100 }));
      const file = join(folder, 'cut.rkcp');
      const cutAt = async (length: number): Promise<void> => {
        await writeFile(file, valid.subarray(0, length));
        await assert.rejects(
          readCheckpointFile(file),
          (error: unknown) =>
            error instanceof CheckpointFileError && error.problem === 'truncated' && error.message.includes(file),
        );
      };
      for (const length of boundaries(valid)) if (length < valid.byteLength) await cutAt(length);
      await fc.assert(fc.asyncProperty(fc.nat({ max: valid.byteLength - 1 }), cutAt), propertyRuns(t, 20));
    });
  });

  test('wrong magic, a newer and an older format version are rejected, saying which', async () => {
    const valid = await encodeToBytes(sampleRecord());
    await assertRejected(
      Buffer.from('{"kernel": "heat", "state": "..."}'),
      'not-a-checkpoint',
      /not a RingKernel checkpoint: it starts with 7b 22 6b 65 72 6e 65 6c, expected 89 52 4b 43 0d 0a 1a 0a/,
    );
    const newer = Uint8Array.from(valid);
    newer[8] = 2;
    await assertRejected(
      newer,
      'unsupported-version',
      /format version is 2 \(written by a newer RingKernel\); this RingKernel reads version 1/,
    );
    const older = Uint8Array.from(valid);
    older[8] = 0;
    await assertRejected(older, 'unsupported-version', /format version is 0/);
  });

  test('a corrupt state names the chunk and both digests', async () => {
    const record = sampleRecord({ full: true });
    const bytes = await encodeToBytes(record);
    const stateStart = bytes.byteLength - TRAILER_BYTES - DIGEST_BYTES - record.checkpoint.stateBytes;
    bytes[stateStart + 10] = (bytes[stateStart + 10] ?? 0) ^ 1;
    const recorded = createHash('sha256').update(record.checkpoint.state).digest('hex');
    await assertRejected(
      bytes,
      'digest-mismatch',
      new RegExp(
        `chunk 5 of 5 \\(state \\('STAT'\\), at byte ${stateStart - CHUNK_HEADER_BYTES}\\) is corrupt: its payload's SHA-256 is [0-9a-f]{64}, the file records ${recorded}`,
      ),
    );
  });

  test('a damaged trailer checksum and bytes appended after the trailer are rejected', async () => {
    const valid = await encodeToBytes(sampleRecord());
    const badCrc = Uint8Array.from(valid);
    badCrc[badCrc.byteLength - 1] = (badCrc[badCrc.byteLength - 1] ?? 0) ^ 0x80;
    await assertRejected(badCrc, 'checksum-mismatch', /its CRC-32 is 0x[0-9a-f]{8}, the trailer records 0x[0-9a-f]{8}/);
    await assertRejected(
      Buffer.concat([valid, Buffer.from('extra')]),
      'malformed',
      /5 more than the \d+ its header says/,
    );
  });

  test('an unknown chunk is rejected unless marked skippable, and a skippable one is skipped', async () => {
    const record = sampleRecord();
    const valid = await encodeToBytes(record);
    const withChunk = (flags: number): Uint8Array => {
      const payload = Buffer.from('from a later version');
      const chunk = Buffer.alloc(CHUNK_HEADER_BYTES + payload.byteLength + DIGEST_BYTES);
      chunk.write('XTRA', 0, 'latin1');
      chunk.writeUInt32LE(flags, 4);
      chunk.writeBigUInt64LE(BigInt(payload.byteLength), 8);
      payload.copy(chunk, CHUNK_HEADER_BYTES);
      createHash('sha256')
        .update(payload)
        .digest()
        .copy(chunk, CHUNK_HEADER_BYTES + payload.byteLength);
      const trailerStart = valid.byteLength - TRAILER_BYTES;
      const bytes = Buffer.concat([valid.subarray(0, trailerStart), chunk, valid.subarray(trailerStart)]);
      bytes.writeUInt32LE(bytes.readUInt32LE(16) + 1, 16);
      bytes.writeBigUInt64LE(BigInt(bytes.byteLength), 24);
      return reseal(bytes);
    };
    await assertRejected(withChunk(0), 'malformed', /chunk 4 of 4 \(unknown type 'XTRA'.*not marked skippable/);
    assertSameRecord(await decodeCheckpoint(memorySource(withChunk(1)), NAME), record);
  });

  test('a checkpoint of another kernel is rejected as foreign when a kernel is expected', async () => {
    const bytes = await encodeToBytes(sampleRecord({ kernelId: 'wave' }));
    const error = await rejection(bytes, { expectKernelId: 'heat' });
    assert.equal(error.problem, 'foreign');
    assert.match(error.message, /holds kernel "wave", not "heat"/);
  });

  test('a missing file is reported as unreadable, naming it', async () => {
    await withTempFolder(async (folder) => {
      const file = join(folder, 'gone.rkcp');
      await assert.rejects(
        readCheckpointFile(file),
        (error: unknown) =>
          error instanceof CheckpointFileError &&
          error.problem === 'unreadable' &&
          error.message.includes(`${file} is rejected: it cannot be opened: it does not exist`),
      );
    });
  });

  test('a record no reader would accept is refused before a byte is written', async () => {
    const cases: [string, (r: CheckpointRecord) => CheckpointRecord, RegExp][] = [
      [
        'lone surrogate',
        (r) => ({
          ...r,
          checkpoint: KernelCheckpoint.of({ kernelId: 'heat\uD800', version: 1, step: 5, state: new Uint8Array(4) }),
        }),
        /kernel id "heat\\ud800" is not well-formed Unicode/,
      ],
      ['code hash', (r) => ({ ...r, codeSha256: 'not-a-hash' }), /code hash "not-a-hash" is not a SHA-256/],
      [
        'control step',
        (r) => ({ ...r, control: { ...r.control, step: 1 } }),
        /control block step 1 is not the low 32 bits of the checkpoint's step 1234/,
      ],
      ['HLC', (r) => ({ ...r, hlc: { physicalMicros: -1, logical: 0, nodeId: 0 } }), /HLC physical time -1/],
      [
        'long id',
        (r) => ({
          ...r,
          checkpoint: KernelCheckpoint.of({
            kernelId: 'k'.repeat(70_000),
            version: 1,
            step: 1234,
            state: new Uint8Array(4),
          }),
        }),
        /kernel id is 70000 bytes of UTF-8; a checkpoint holds at most 65535/,
      ],
    ];
    for (const [what, change, message] of cases) {
      const sink = new MemorySink();
      await assert.rejects(encodeCheckpoint(change(sampleRecord()), sink), message, what);
      assert.equal(sink.bytes().byteLength, 0, `${what}: bytes were written`);
    }
  });
});
