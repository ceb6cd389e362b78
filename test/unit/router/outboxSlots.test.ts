// A step's outbox read in place (OutboxSlots): the router gets the same messages as from
// decodeOutbox, keeps its own copy of what it accepts (the host's ring is reused right after), and
// copies nothing for a step it refuses whole; a short or malformed outbox is refused with a clear
// error, and a lockstep batch survives its bytes being reused before the step ends.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OUTBOX_HEADER_BYTES, SLOT_BYTES, decodeOutbox, outboxBytes } from '../../../server/src/abi/kernelAbi';
import { K2KRouter, OutboxSlots } from '../../../server/src/router';
import { brief, words } from './routerHelpers';

/** An outbox as a kernel leaves it: `sent` in the header, slot i to `destinations[i]`, payload words (i, i+1, ...). */
function outbox(destinations: number[], sent = destinations.length, payloadBytes = 48): Uint8Array {
  const bytes = new Uint8Array(outboxBytes(Math.max(1, destinations.length)));
  const view = new DataView(bytes.buffer);
  view.setUint32(0, sent, true);
  destinations.forEach((destination, i) => {
    const base = OUTBOX_HEADER_BYTES + i * SLOT_BYTES;
    view.setUint32(base, destination, true);
    view.setUint32(base + 4, 100 + i, true);
    view.setUint32(base + 8, payloadBytes, true);
    for (let w = 0; w < 12; w++) view.setUint32(base + 16 + w * 4, i + w, true);
  });
  return bytes;
}

function router(mode: 'freeRunning' | 'lockstep' = 'freeRunning', pendingLimit = 64): K2KRouter {
  const r = new K2KRouter({ mode, pendingLimit });
  r.addKernel({ index: 0, id: 'a', device: 'webgpu:0' });
  r.addKernel({ index: 1, id: 'b', device: 'webgpu:1' });
  r.addKernel({ index: 2, id: 'c', device: 'webgpu:1' });
  return r;
}

describe('OutboxSlots', () => {
  it('reads the same messages as decodeOutbox, past-capacity sends counted as dropped', () => {
    const bytes = outbox([1, 2, 1], 5, 20);
    const slots = new OutboxSlots(bytes, 3);
    const decoded = decodeOutbox(bytes, 3);
    assert.equal(slots.count, decoded.messages.length);
    assert.equal(slots.dropped, decoded.dropped);
    assert.equal(slots.dropped, 2);
    decoded.messages.forEach((message, i) => {
      assert.equal(slots.destination(i), message.destination);
      assert.equal(slots.type(i), message.type);
      assert.deepEqual(slots.payload(i), message.payload);
      assert.equal(slots.payload(i).byteLength, 20);
    });
  });

  it('refuses an outbox too short for its header or its used slots', () => {
    assert.throws(() => new OutboxSlots(new Uint8Array(8), 4), /8 bytes hold no header \(16 bytes\)/);
    const cut = outbox([1, 1, 1]).subarray(0, OUTBOX_HEADER_BYTES + 2 * SLOT_BYTES);
    assert.throws(
      () => new OutboxSlots(cut, 3),
      /sent 3 messages that fit its capacity, which need 208 bytes; only 144 were read/,
    );
  });

  it('the router keeps its own copy of what it accepts: the bytes may be reused at once', () => {
    const r = router();
    const bytes = outbox([1, 2, 1]);
    r.submit({ source: 0, step: 0, messages: new OutboxSlots(bytes, 3) });
    bytes.fill(0xee); // the host's ring reuses the space
    const b = r.takeInbox(1, 8, 1);
    const c = r.takeInbox(2, 8, 1);
    assert.deepEqual(b.map(brief), ['0>1#0:0', '0>1#1:2']);
    assert.deepEqual(c.map(brief), ['0>2#0:1']);
    assert.deepEqual(words(b[1] ?? { payload: new Uint8Array(0) }).slice(0, 3), [2, 3, 4]);
    assert.deepEqual(
      b.map((e) => e.type),
      [100, 102],
    );
  });

  it('copies nothing for a step whose messages are all refused, and counts them', () => {
    const r = router('freeRunning', 2);
    r.submit({ source: 0, step: 0, messages: new OutboxSlots(outbox([1, 1]), 2) });
    const slots = new OutboxSlots(outbox([1, 1, 1]), 3);
    const result = r.submit({ source: 0, step: 1, messages: slots });
    assert.equal(result.refused, 3);
    assert.equal((slots as unknown as { owned: boolean }).owned, false, 'no payload was asked for');
    assert.equal(r.snapshot().totals.refused, 3);
  });

  it('a lockstep batch is detached when staged: reusing the bytes before endStep changes nothing', () => {
    const r = router('lockstep');
    const bytes = outbox([1, 2]);
    r.takeInbox(0, 8, 0);
    r.submit({ source: 0, step: 0, messages: new OutboxSlots(bytes, 2) });
    bytes.fill(0);
    r.endStep(0);
    assert.deepEqual(r.takeInbox(1, 8, 1).map(brief), ['0>1#0:0']);
    assert.deepEqual(r.takeInbox(2, 8, 1).map(brief), ['0>2#0:1']);
  });
});
