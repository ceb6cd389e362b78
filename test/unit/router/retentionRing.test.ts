import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RetentionRing, type RetainedMessage } from '../../../server/src/router/retentionRing';

function delivered(seq: number, step: number): RetainedMessage {
  return {
    source: seq % 7,
    type: seq * 3,
    seq,
    timestamp: BigInt(seq) << 20n,
    payload: Uint8Array.of(seq & 0xff, 1, 2),
    sendStep: step - 1,
    fromSlot: 2,
    deliveredStep: step,
  };
}

describe('retention ring', () => {
  test('keeps every field through growth and wrap-around, drops what a checkpoint covers, returns the rest in order', () => {
    const ring = new RetentionRing(1000);
    let seq = 0;
    for (let step = 0; step < 50; step++) {
      for (let i = 0; i < 7; i++) ring.push(delivered(seq++, step));
      if (step % 10 === 9) ring.dropBefore(step - 3); // head moves, so growth copies a wrapped ring
    }
    assert.equal(ring.length, 7 * (50 - 46));
    const kept = ring.takeFrom(48);
    assert.equal(ring.length, 14);
    assert.deepEqual(
      kept.map((m) => m.seq),
      Array.from({ length: 14 }, (_, i) => 48 * 7 + i),
    );
    const first = kept[0];
    assert.deepEqual(first && { ...first, payload: [...first.payload] }, {
      source: (48 * 7) % 7,
      type: 48 * 7 * 3,
      fromSlot: 2,
      seq: 48 * 7,
      timestamp: BigInt(48 * 7) << 20n,
      sendStep: 47,
      deliveredStep: 48,
      payload: [(48 * 7) & 0xff, 1, 2],
    });
  });

  test('past its limit the oldest goes, and push says which step it was delivered at', () => {
    const ring = new RetentionRing(3);
    assert.deepEqual(
      [0, 1, 2].map((s) => ring.push(delivered(s, s))),
      [-1, -1, -1],
    );
    assert.equal(ring.push(delivered(3, 3)), 0);
    assert.equal(ring.push(delivered(4, 4)), 1);
    assert.deepEqual(
      ring.takeFrom(0).map((m) => m.seq),
      [2, 3, 4],
    );
    assert.equal(new RetentionRing(0).push(delivered(9, 5)), 5, 'a ring of 0 keeps nothing');
  });
});
