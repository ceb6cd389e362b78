// The PEND chunk (the K2K router's messages in a checkpoint file): it round-trips, and a reader
// rejects every truncation and every changed byte with an error naming the file and the chunk.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { memorySource } from '../../../server/src/checkpoint/byteStreams';
import { decodeCheckpoint } from '../../../server/src/checkpoint/checkpointDecoder';
import { CheckpointFileError } from '../../../server/src/checkpoint/checkpointErrors';
import { CHUNK_HEADER_BYTES, DIGEST_BYTES, HEADER_BYTES } from '../../../server/src/checkpoint/checkpointFormat';
import { MalformedPayload } from '../../../server/src/checkpoint/chunkPayloads';
import {
  decodePendingMessages,
  encodePendingMessages,
  type PendingMessages,
} from '../../../server/src/checkpoint/pendingMessages';
import { encodeToBytes, reseal, sampleRecord, samplePending } from './records';

const NAME = '/ckpt/ring.rkcp';

/** The PEND chunk's place in a file: where its payload starts and how long it is. */
function pendChunk(bytes: Uint8Array): { header: number; payload: number; length: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = HEADER_BYTES;
  for (let i = 0; i < view.getUint32(16, true); i++) {
    const length = Number(view.getBigUint64(at + 8, true));
    if (Buffer.from(bytes.subarray(at, at + 4)).toString('latin1') === 'PEND')
      return { header: at, payload: at + CHUNK_HEADER_BYTES, length };
    at += CHUNK_HEADER_BYTES + length + DIGEST_BYTES;
  }
  throw new Error('no PEND chunk');
}

/** The file with its PEND payload replaced, every length, digest and the checksum made right again: only the payload's own checks remain. */
function withPendPayload(file: Uint8Array, payload: Uint8Array): Uint8Array {
  const { header, payload: start, length } = pendChunk(file);
  const out = new Uint8Array(file.byteLength - length + payload.byteLength);
  out.set(file.subarray(0, start));
  out.set(payload, start);
  out.set(createHash('sha256').update(payload).digest(), start + payload.byteLength);
  out.set(file.subarray(start + length + DIGEST_BYTES), start + payload.byteLength + DIGEST_BYTES);
  const view = new DataView(out.buffer);
  view.setBigUint64(header + 8, BigInt(payload.byteLength), true);
  view.setBigUint64(24, BigInt(out.byteLength), true);
  return reseal(out);
}

async function rejection(bytes: Uint8Array): Promise<CheckpointFileError> {
  try {
    await decodeCheckpoint(memorySource(bytes), NAME);
  } catch (error) {
    assert.ok(error instanceof CheckpointFileError, `expected a CheckpointFileError, got ${String(error)}`);
    assert.ok(error.message.includes(NAME), error.message);
    return error;
  }
  assert.fail('the file was accepted');
}

function malformed(bytes: Uint8Array): string {
  try {
    decodePendingMessages(bytes);
  } catch (error) {
    assert.ok(error instanceof MalformedPayload, String(error));
    return error.message;
  }
  assert.fail('the payload was accepted');
}

describe('checkpoint PEND chunk', () => {
  test('round-trips: the pairs, every message with its 64-bit clock and payload', async () => {
    const pending = samplePending(2);
    assert.deepEqual(decodePendingMessages(encodePendingMessages(pending)), pending);
    const record = sampleRecord({ full: true });
    const decoded = await decodeCheckpoint(memorySource(await encodeToBytes(record)), NAME);
    assert.deepEqual(decoded.pendingMessages, record.pendingMessages);
  });

  test('an empty share (a kernel with no peers) round-trips', () => {
    const empty: PendingMessages = { kernelIndex: 0, pairs: [], messages: [] };
    assert.equal(encodePendingMessages(empty).byteLength, 24);
    assert.deepEqual(decodePendingMessages(encodePendingMessages(empty)), empty);
  });

  test('every truncation of the payload is rejected, and in a file (digests made right) as malformed, naming the file and the chunk', async () => {
    const payload = encodePendingMessages(samplePending(2));
    const file = await encodeToBytes(sampleRecord({ full: true }));
    for (let length = 0; length < payload.byteLength; length++) {
      malformed(payload.subarray(0, length));
      const error = await rejection(withPendPayload(file, payload.subarray(0, length)));
      assert.equal(error.problem, 'malformed', `cut at ${length}: ${error.message}`);
      assert.match(error.message, /pendingMessages \('PEND'\)/);
    }
    // And bytes after the last message.
    assert.match(malformed(Uint8Array.of(...payload, 0)), /1 bytes after their last message/);
  });

  test('every byte of the PEND chunk flipped in a file is rejected, naming the file', async () => {
    const file = await encodeToBytes(sampleRecord({ full: true }));
    const { header, length } = pendChunk(file);
    const problems = new Map<string, number>();
    for (let i = header; i < header + CHUNK_HEADER_BYTES + length + DIGEST_BYTES; i++) {
      const bytes = Uint8Array.from(file);
      bytes[i] = (bytes[i] ?? 0) ^ 0x01;
      const error = await rejection(bytes);
      problems.set(error.problem, (problems.get(error.problem) ?? 0) + 1);
    }
    assert.ok((problems.get('digest-mismatch') ?? 0) >= length, JSON.stringify([...problems]));
  });

  test('contents a router never writes are rejected with what is wrong', async () => {
    const good = encodePendingMessages(samplePending(2));
    const edit = (write: (view: DataView) => void): Uint8Array => {
      const bytes = Uint8Array.from(good);
      write(new DataView(bytes.buffer));
      return bytes;
    };
    assert.match(malformed(edit((v) => v.setUint16(0, 2, true))), /encoding 2; this RingKernel reads encoding 1/);
    assert.match(malformed(edit((v) => v.setUint32(8, 1000, true))), /1000 pairs .* need at least/);
    assert.match(malformed(edit((v) => v.setUint8(24, 3))), /pair 0 has role 3/);
    // The sample's four messages (40-byte fixed parts, payloads of 48, 0, 4 and 12 bytes) end the payload.
    const messages = good.byteLength - (40 * 4 + 48 + 0 + 4 + 12);
    assert.match(
      malformed(edit((v) => v.setUint32(messages + 4, 4, true))),
      /message 0 goes from kernel 0 to 4, neither/,
    );
    assert.match(
      malformed(edit((v) => v.setUint32(messages + 12, 49, true))),
      /payload is 49 bytes; a slot holds at most 48/,
    );
    assert.match(malformed(edit((v) => v.setBigUint64(messages + 16, 99n, true))), /sequence number 11 after 99/);
    // The chunk's kernel against the control block's, in a file.
    const record = sampleRecord({ full: true });
    const file = await encodeToBytes(record);
    const other = encodePendingMessages({ kernelIndex: 3, pairs: [], messages: [] });
    const error = await rejection(withPendPayload(file, other));
    assert.equal(error.problem, 'malformed');
    assert.match(error.message, /chunk is kernel 3's, its control block says kernel 2/);
  });

  test('a writer refuses what a reader would reject', () => {
    const pending = samplePending(2);
    assert.throws(
      () => encodePendingMessages({ ...pending, messages: [...pending.messages].reverse() }),
      /comes after/,
    );
    assert.throws(
      () => encodePendingMessages({ ...pending, kernelIndex: 5 }),
      /does not belong in kernel 5's checkpoint/,
    );
    const big = { ...pending.messages[0], payload: new Uint8Array(49) } as PendingMessages['messages'][number];
    assert.throws(() => encodePendingMessages({ ...pending, messages: [big] }), /at most 48/);
    assert.throws(
      () =>
        encodePendingMessages({ ...pending, pairs: [{ role: 'incoming', peer: 1, peerId: '\ud800', sequence: 0 }] }),
      /lone surrogate/,
    );
  });
});
