// A receiver's pending queue and its retention as slot rings (pendingQueue.ts, retentionRing.ts):
// messages copied once from the outbox bytes into inbox-layout slots, inboxes written as copies of
// contiguous slots, retention kept as ranges. Checked against the envelope path (takeInbox +
// encodeInbox, which builds each slot field by field) through growth, wrap-around, partial
// inboxes, restores and a checkpoint file's round trip with messages pending.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  OUTBOX_HEADER_BYTES,
  SLOT_BYTES,
  decodeOutbox,
  inboxBytes,
  outboxBytes,
} from '../../../server/src/abi/kernelAbi';
import { decodePendingMessages, encodePendingMessages } from '../../../server/src/checkpoint/pendingMessages';
import { K2KRouter, OutboxSlots, decodeInbox, encodeInbox } from '../../../server/src/router';
import { PendingQueue } from '../../../server/src/router/pendingQueue';
import { IN_FLIGHT, RetentionRing } from '../../../server/src/router/retentionRing';
import type { RoutingDecision } from '../../../server/src/router/routingDecision';
import { ManualClock, brief, words } from './routerHelpers';

const ROUTE: RoutingDecision = {
  kind: 'hostMediated',
  from: 'webgpu:0',
  to: 'webgpu:1',
  path: ['webgpu:0', 'webgpu:1'],
  hops: 1,
  interconnects: [],
  reason: 'test',
};

/**
 * An outbox as a kernel leaves it: slot i to `destinations[i]`, type 100 + i, payload words
 * (first + i, then 0xAA55AA55 filler). `lengths[i]` is the length word (default 48); the bytes past
 * a short length are garbage (0xEE), as a kernel may leave them, and the router must not pass them on.
 */
function outbox(destinations: number[], first: number, lengths: number[] = []): Uint8Array {
  const bytes = new Uint8Array(outboxBytes(Math.max(1, destinations.length)));
  const view = new DataView(bytes.buffer);
  view.setUint32(0, destinations.length, true);
  destinations.forEach((destination, i) => {
    const base = OUTBOX_HEADER_BYTES + i * SLOT_BYTES;
    const length = lengths[i] ?? 48;
    view.setUint32(base, destination, true);
    view.setUint32(base + 4, 100 + i, true);
    view.setUint32(base + 8, length, true);
    view.setUint32(base + 12, 0xdeadbeef, true); // the outbox's reserved word: not the inbox's timestamp
    for (let w = 0; w < 12; w++) view.setUint32(base + 16 + w * 4, w === 0 ? first + i : 0xaa55aa55, true);
    for (let b = Math.min(length, 48); b < 48; b++) bytes[base + 16 + b] = 0xee;
  });
  return bytes;
}

function pair(options: { pendingLimit?: number; retainLimit?: number; clock?: ManualClock } = {}): K2KRouter {
  const clock = options.clock ?? new ManualClock();
  const r = new K2KRouter({
    pendingLimit: options.pendingLimit ?? 4096,
    retainLimit: options.retainLimit ?? 32768,
    clock: clock.now,
    wallClock: clock.now,
  });
  r.addKernel({ index: 0, id: 'sender', device: 'webgpu:0' });
  r.addKernel({ index: 1, id: 'receiver', device: 'webgpu:1' });
  return r;
}

/** Two routers fed the same outboxes: one is read through takeInboxInto, the other through takeInbox + encodeInbox. */
function twins(options: Parameters<typeof pair>[0] = {}): { slots: K2KRouter; envelopes: K2KRouter } {
  return {
    slots: pair({ ...options, clock: new ManualClock() }),
    envelopes: pair({ ...options, clock: new ManualClock() }),
  };
}

function submitBoth(routers: { slots: K2KRouter; envelopes: K2KRouter }, step: number, bytes: Uint8Array): void {
  const capacity = new DataView(bytes.buffer).getUint32(0, true);
  routers.slots.submit({ source: 0, step, messages: new OutboxSlots(bytes, capacity) });
  // The envelope path from decodeOutbox's objects (DecodedMessages), as the lockstep runner's hosts hand them.
  routers.envelopes.submit({ source: 0, step, messages: decodeOutbox(bytes, capacity).messages });
}

/** Takes one inbox from each twin; asserts the slot bytes are the same; returns the slots' first payload words. */
function takeBoth(
  routers: { slots: K2KRouter; envelopes: K2KRouter },
  capacity: number,
  step: number,
  options: { inFlight?: boolean } = {},
): number[] {
  const target = new Uint8Array(inboxBytes(capacity)).fill(0x77);
  const count = routers.slots.takeInboxInto(1, capacity, step, target, options);
  const encoded = encodeInbox(routers.envelopes.takeInbox(1, capacity, step, options), capacity);
  assert.equal(count, encoded.count, `step ${step}: inbox_count`);
  assert.deepEqual(
    target.subarray(0, count * SLOT_BYTES),
    encoded.bytes.subarray(0, encoded.usedBytes),
    `step ${step}: the inbox slots`,
  );
  assert.equal(
    target[count * SLOT_BYTES],
    count < Math.max(1, capacity) ? 0x77 : undefined,
    'nothing past inbox_count is written',
  );
  return decodeInbox(target, count).map((slot) => words(slot)[0] ?? -1);
}

describe('pending queue and retention as slot rings', () => {
  test('the queue keeps every field through growth while wrapped around, oldest first', () => {
    const queue = new PendingQueue();
    const list = new OutboxSlots(outbox(Array<number>(50).fill(1), 0, [48, 20, 60]), 50);
    let seq = 0;
    let expected: number[] = [];
    const append = (first: number, n: number, timeLow: number): void => {
      queue.appendRun(list, first, n, {
        source: 3,
        fromSlot: 2,
        seq,
        timeHigh: 5,
        timeLow,
        sendStep: 9,
        route: ROUTE,
        acceptedMs: 1.5,
        arrivalStep: 8,
      });
      for (let k = 0; k < n; k++) expected.push(first + k);
      seq += n;
    };
    append(0, 40, 0);
    queue.shift(30); // the head moves: the next appends wrap past the end of the first 64 slots
    expected = expected.slice(30);
    append(0, 50, 0xfffffff0); // the timestamp's low word carries into the high word mid-run
    append(3, 40, 7); // 100 pending: the ring grows while wrapped
    assert.equal(queue.length, expected.length);
    for (let i = 0; i < queue.length; i++) {
      const message = queue.pendingMessage(i);
      assert.equal(words(message)[0], expected[i], `message ${i}'s payload`);
      assert.equal(message.source, 3);
      assert.equal(message.type, 100 + (expected[i] ?? 0));
      assert.equal(message.route, ROUTE);
      assert.equal(message.replayStep, -1);
    }
    // Lengths: cut to 48 (60 said), kept when shorter (20) with nothing of the garbage past it.
    const short = queue.pendingMessage(10 + 1);
    assert.equal(short.payload.byteLength, 20);
    assert.equal(queue.pendingMessage(10 + 2).payload.byteLength, 48);
    // Timestamps: consecutive per run, the carry into the high word kept.
    assert.equal(queue.timestamp(10 + 15), (5n << 32n) | 0xffffffffn);
    assert.equal(queue.timestamp(10 + 16), 6n << 32n);
    assert.deepEqual(
      Array.from({ length: queue.length }, (_, i) => queue.seq(i)),
      Array.from({ length: queue.length }, (_, i) => 30 + i),
    );
  });

  test('partial inboxes from a wrapped, grown queue are byte for byte what encodeInbox writes', () => {
    const routers = twins();
    const received: number[] = [];
    let next = 0;
    for (let step = 0; step < 40; step++) {
      // Irregular batches (3 to 130), some slots to an unknown kernel, some short, some cut.
      const n = 3 + ((step * 37) % 128);
      const destinations = Array.from({ length: n }, (_, i) => (i % 17 === 5 ? 9 : 1));
      const lengths = Array.from({ length: n }, (_, i) => (i % 11 === 0 ? 4 + 4 * (i % 10) : i % 7 === 0 ? 64 : 48));
      submitBoth(routers, step, outbox(destinations, next, lengths));
      next += n;
      received.push(...takeBoth(routers, 1 + ((step * 13) % 90), step));
    }
    for (let step = 40; routers.slots.pendingFor(1) > 0; step++) received.push(...takeBoth(routers, 64, step));
    const sent = [];
    for (let step = 0, first = 0; step < 40; step++) {
      const n = 3 + ((step * 37) % 128);
      for (let i = 0; i < n; i++) if (i % 17 !== 5) sent.push(first + i);
      first += n;
    }
    assert.deepEqual(received, sent, 'every message to the receiver, once, in order');
    assert.deepEqual(routers.slots.snapshot().totals, routers.envelopes.snapshot().totals);
    assert.deepEqual(routers.slots.snapshot().kernels, routers.envelopes.snapshot().kernels);
  });

  test('retention keeps inboxes as ranges: a restore redelivers the same slots, eviction past the limit is counted', () => {
    const routers = twins({ retainLimit: 100 });
    let next = 0;
    const taken: number[][] = [];
    for (let step = 0; step < 12; step++) {
      submitBoth(routers, step, outbox(Array<number>(30).fill(1), next));
      next += 30;
      taken.push(takeBoth(routers, 25, step, { inFlight: true }));
      for (const router of [routers.slots, routers.envelopes]) router.inboxConsumed(1, 25, step);
    }
    // Retention holds the last 100 delivered (4 of 12 inboxes): a restore to step 8 is exact, to step 2 is not.
    const exact = [routers.slots, routers.envelopes].map((router) => router.restore([1], 8));
    assert.deepEqual(exact[0], exact[1]);
    assert.equal(exact[0]?.redelivered, 100);
    assert.equal(exact[0]?.lost, 0);
    const again = [8, 9, 10, 11].map((step) => takeBoth(routers, 25, step));
    assert.deepEqual(again, taken.slice(8), 'the same messages at the same steps');
    const lossy = [routers.slots, routers.envelopes].map((router) => router.restore([1], 2));
    assert.deepEqual(lossy[0], lossy[1]);
    assert.equal(lossy[0]?.lost, 6 * 25, 'steps 2-7 were evicted');
    assert.equal(lossy[0]?.incomplete.length, 1);
  });

  test('a retention ring takes ranges from a wrapped queue, wraps itself, and counts evictions in runs of one step', () => {
    const queue = new PendingQueue();
    const ring = new RetentionRing(70);
    const evicted: [number, number][] = [];
    const note = (step: number, count: number): void => void evicted.push([step, count]);
    const list = new OutboxSlots(outbox(Array<number>(100).fill(1), 0), 100);
    let seq = 0;
    const run = (n: number): void => {
      queue.appendRun(list, 0, n, {
        source: 0,
        fromSlot: 0,
        seq,
        timeHigh: 0,
        timeLow: seq,
        sendStep: 0,
        route: ROUTE,
        acceptedMs: 0,
        arrivalStep: 0,
      });
      seq += n;
    };
    run(60);
    ring.pushFrom(queue, 40, 1, note); // seq 0-39
    queue.shift(40);
    run(30); // the queue (seq 40-89) wraps past its 64th slot
    ring.pushFrom(queue, 50, IN_FLIGHT, note); // 90 > 70: seq 0-19 go
    queue.shift(50);
    assert.deepEqual(evicted, [[1, 20]]);
    assert.equal(ring.unsettled, 50);
    assert.equal(ring.settle(80, 2), 50, 'only what is in flight settles');
    run(60);
    ring.pushFrom(queue, 60, 3, note); // seq 90-149; seq 20-79 go; the ring wraps
    queue.shift(60);
    assert.deepEqual(evicted, [
      [1, 20],
      [1, 20],
      [2, 40],
    ]);
    const kept = ring.peekFrom(Number.NEGATIVE_INFINITY);
    assert.deepEqual(
      kept.map((m) => [m.seq, m.timestamp, m.deliveredStep]),
      Array.from({ length: 70 }, (_, i) => [80 + i, BigInt(80 + i), i < 10 ? 2 : 3]),
    );
    assert.equal(ring.peekFrom(3).length, 60);
    run(100);
    ring.pushFrom(queue, 100, 4, note); // more than the limit at once: the newest 70 of the inbox stay
    assert.deepEqual(evicted.slice(3), [
      [2, 10],
      [3, 60],
      [4, 30],
    ]);
    const last = ring.takeFrom(0);
    assert.deepEqual(
      last.map((m) => m.seq),
      Array.from({ length: 70 }, (_, i) => 180 + i),
    );
    assert.deepEqual(
      last.map((m) => words(m)[0]),
      Array.from({ length: 70 }, (_, i) => 30 + i),
      'payloads: slots 30-99 of the run',
    );
    assert.equal(ring.length, 0);
  });

  test('a checkpoint file with messages pending, in a mailbox and delivered, seeds a new router that delivers them once, in order', () => {
    const clock = new ManualClock();
    const first = pair({ clock });
    let next = 0;
    for (let step = 0; step < 6; step++) {
      first.submit({
        source: 0,
        step,
        messages: new OutboxSlots(outbox(Array<number>(20).fill(1), next, [48, 8]), 20),
      });
      next += 20;
      clock.advance(3);
      if (step < 3) {
        first.takeInboxInto(1, 16, step, new Uint8Array(inboxBytes(16)), { inFlight: true });
        first.inboxConsumed(1, 16, step);
      }
    }
    first.takeInboxInto(1, 16, 3, new Uint8Array(inboxBytes(16)), { inFlight: true }); // in the mailbox, never consumed
    // The receiver's checkpoint before step 2: what steps 2 and 3 consumed, the mailbox and the queue are not in its state.
    const files = [first.checkpointMessages(1, 'receiver', 2), first.checkpointMessages(0, 'sender', 6)].map(
      (saved) => {
        assert.ok(saved);
        return decodePendingMessages(encodePendingMessages(saved));
      },
    );
    const second = pair({ clock: new ManualClock() });
    const restored = second.restoreMessages(files);
    assert.equal(restored.restored, 120 - 32);
    assert.deepEqual(restored.notes, []);
    const inbox = new Uint8Array(inboxBytes(200));
    const count = second.takeInboxInto(1, 200, 2, inbox);
    const slots = decodeInbox(inbox, count);
    assert.deepEqual(
      slots.map((slot) => words(slot)[0]),
      Array.from({ length: 120 - 32 }, (_, i) => 32 + i),
    );
    assert.deepEqual(
      slots.map((slot) => slot.length),
      Array.from({ length: 120 - 32 }, (_, i) => ((32 + i) % 20 === 1 ? 8 : 48)),
      "each outbox's slot 1 said 8 bytes",
    );
    assert.ok(slots.every((slot) => slot.source === 0 && slot.type >= 100));
    // The sender's re-run from step 6 numbers on from 120: nothing it sent before is taken as new.
    second.submit({ source: 0, step: 6, messages: new OutboxSlots(outbox([1], 120), 1) });
    assert.deepEqual(second.takeInbox(1, 4, 3).map(brief), ['0>1#120:120']);
  });
});
