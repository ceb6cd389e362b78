import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inboxBytes } from '../../../server/src/abi/kernelAbi';
import { K2KRouter } from '../../../server/src/router/k2kRouter';
import { decodeInbox, encodeInbox } from '../../../server/src/router/inboxLayout';
import { packHlc } from '../../../server/src/router/hybridLogicalClock';
import type { Envelope } from '../../../server/src/router/envelope';
import { message } from './routerHelpers';

function envelope(
  source: number,
  type: number,
  payload: Uint8Array,
  timestamp = packHlc({ physical: 0x0001_2345, logical: 0x0678 }),
): Envelope {
  return {
    source,
    destination: 9,
    type,
    seq: 0,
    timestamp,
    payload,
    sendStep: 0,
    replayStep: -1,
    route: {
      kind: 'sameDevice',
      from: 'webgpu:0',
      to: 'webgpu:0',
      path: ['webgpu:0'],
      hops: 0,
      interconnects: ['self'],
      reason: 'test',
    },
  };
}

function word(bytes: Uint8Array, index: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(index * 4, true);
}

describe('inbox layout (docs/kernel-abi.md)', () => {
  test("slot i at byte 64·i: source, type, length, the timestamp's low word, then 12 payload words, little-endian", () => {
    const payload = new Uint8Array(Uint32Array.from([0xdeadbeef, 7]).buffer);
    const { bytes, count, usedBytes } = encodeInbox([envelope(3, 11, new Uint8Array(0)), envelope(5, 12, payload)], 4);
    assert.equal(count, 2);
    assert.equal(usedBytes, 128);
    assert.equal(bytes.byteLength, inboxBytes(4));
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => word(bytes, i)),
      [3, 11, 0, 0x2345_0678],
    );
    assert.deepEqual(
      [16, 17, 18, 19, 20, 21].map((i) => word(bytes, i)),
      [5, 12, 8, 0x2345_0678, 0xdeadbeef, 7],
    );
    assert.deepEqual(
      [22, 31].map((i) => word(bytes, i)),
      [0, 0],
      'the rest of the payload is zero',
    );
  });

  test('writes into a reused buffer, zeroing what an earlier step left in the payload, leaving later slots alone', () => {
    const target = new Uint8Array(inboxBytes(2)).fill(0xaa);
    encodeInbox([envelope(1, 2, Uint8Array.of(1, 2, 3))], 2, target);
    assert.deepEqual([...target.subarray(16, 20)], [1, 2, 3, 0]);
    assert.ok(target.subarray(20, 64).every((b) => b === 0));
    assert.ok(
      target.subarray(64).every((b) => b === 0xaa),
      'slots past inbox_count are not written',
    );
  });

  test('a payload over 48 bytes is cut to 48, as in the outbox', () => {
    const { bytes } = encodeInbox([envelope(0, 0, new Uint8Array(60).fill(9))], 1);
    assert.equal(word(bytes, 2), 48);
    assert.deepEqual(decodeInbox(bytes, 1)[0]?.payload, new Uint8Array(48).fill(9));
  });

  test('refuses more messages than slots, and a target too small, saying what to do', () => {
    assert.throws(
      () => encodeInbox([envelope(0, 0, new Uint8Array(0)), envelope(0, 0, new Uint8Array(0))], 1),
      /2 messages do not fit an inbox of 1 slots; take at most the capacity/,
    );
    assert.throws(
      () => encodeInbox([], 4, new Uint8Array(64)),
      /the target buffer has 64 bytes; an inbox of 4 slots needs 256/,
    );
    assert.throws(() => decodeInbox(new Uint8Array(64), 2), /2 slots need 128 bytes; the buffer has 64/);
  });

  test('what the router delivers reads back the same from the encoded inbox', () => {
    const router = new K2KRouter();
    router.addKernel({ index: 0, id: 'a', device: 'webgpu:0' });
    router.addKernel({ index: 1, id: 'b', device: 'webgpu:0' });
    router.submit({ source: 0, step: 0, messages: [message(1, 4, 1, 2, 3), message(1, 5, 4)] });
    const delivered = router.takeInbox(1, 2, 0);
    const { bytes, count } = encodeInbox(delivered, 2);
    assert.deepEqual(
      decodeInbox(bytes, count),
      delivered.map((e) => ({
        source: 0,
        type: e.type,
        length: e.payload.byteLength,
        timestamp: Number(e.timestamp & 0xffffffffn),
        payload: e.payload,
      })),
    );
  });
});
