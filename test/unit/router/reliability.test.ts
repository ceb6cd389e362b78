import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { K2KRouter, type K2KRouterOptions } from '../../../server/src/router/k2kRouter';
import { runLockstep, type SimulationPlan } from './kernelSimulation';
import { ManualClock, brief, message } from './routerHelpers';

function freeRunning(options: K2KRouterOptions = {}): K2KRouter {
  const clock = new ManualClock();
  const r = new K2KRouter({ clock: clock.now, wallClock: clock.now, ...options });
  r.addKernel({ index: 0, id: 'sender', device: 'webgpu:0' });
  r.addKernel({ index: 1, id: 'receiver', device: 'webgpu:1' });
  return r;
}

describe('K2K router: checkpoints, restores, duplicates', () => {
  test('a restored receiver gets again what it was delivered after its checkpoint, at the same steps', () => {
    const r = freeRunning();
    for (let step = 0; step < 7; step++)
      r.submit({ source: 0, step, messages: [message(1, 0, step * 2), message(1, 0, step * 2 + 1)] });
    const first = [0, 1, 2, 3, 4].map((step) => r.takeInbox(1, step === 2 ? 0 : 3, step).map(brief));
    r.acknowledgeCheckpoint(1, 3); // its checkpoint holds the state before step 3
    assert.equal(r.snapshot().kernels[1]?.retained, 6, 'steps 3 and 4 delivered 6 messages; earlier ones are covered');
    const restored = r.restore([1], 3);
    assert.equal(restored.redelivered, 6);
    assert.deepEqual(restored.incomplete, []);
    const again = [3, 4, 5].map((step) => r.takeInbox(1, 3, step).map(brief));
    assert.deepEqual(again.slice(0, 2), first.slice(3), 'the same messages at the same steps');
    assert.deepEqual(again[2], ['0>1#12:12', '0>1#13:13'], 'then what was still pending');
    const stats = r.snapshot();
    assert.equal(stats.totals.redelivered, 6);
    assert.equal(stats.totals.delivered, 14, 'a redelivery is not a second delivery');
  });

  test('a restored sender re-running its steps creates no duplicates: re-sent messages are dropped and counted', () => {
    const r = freeRunning();
    for (let step = 0; step < 4; step++) r.submit({ source: 0, step, messages: [message(1, 0, step)] });
    r.acknowledgeCheckpoint(0, 2);
    assert.equal(r.restore([0], 2).rewoundPairs, 1);
    // The re-run sends steps 2 and 3 again, then goes on with something new.
    assert.deepEqual(r.submit({ source: 0, step: 2, messages: [message(1, 0, 2)] }), {
      accepted: 0,
      refused: 0,
      duplicates: 1,
      failed: 0,
      staged: 0,
    });
    assert.equal(r.submit({ source: 0, step: 3, messages: [message(1, 0, 3)] }).duplicates, 1);
    assert.equal(r.submit({ source: 0, step: 4, messages: [message(1, 0, 4)] }).accepted, 1);
    assert.deepEqual(r.takeInbox(1, 10, 0).map(brief), ['0>1#0:0', '0>1#1:1', '0>1#2:2', '0>1#3:3', '0>1#4:4']);
    const stats = r.snapshot();
    assert.equal(stats.totals.duplicates, 2);
    assert.equal(stats.pairs[0]?.duplicates, 2);
    assert.equal(stats.kernels[0]?.duplicates, 2);
  });

  test("a re-run's refused message keeps its number, so what follows it is not mistaken for new", () => {
    const r = freeRunning({ pendingLimit: 1 });
    r.submit({ source: 0, step: 0, messages: [message(1, 0, 0), message(1, 0, 1)] }); // #1 refused
    r.takeInbox(1, 1, 0);
    r.submit({ source: 0, step: 1, messages: [message(1, 0, 2)] });
    r.restore([0], 0);
    assert.equal(r.submit({ source: 0, step: 0, messages: [message(1, 0, 0), message(1, 0, 1)] }).duplicates, 2);
    assert.equal(r.submit({ source: 0, step: 1, messages: [message(1, 0, 2)] }).duplicates, 1);
    assert.deepEqual(r.takeInbox(1, 4, 1).map(brief), ['0>1#2:2']);
  });

  test('past the retention limit a restore says what it cannot deliver again', () => {
    const r = freeRunning({ retainLimit: 2 });
    r.submit({ source: 0, step: 0, messages: [message(1, 0), message(1, 0), message(1, 0)] });
    r.takeInbox(1, 1, 0);
    r.takeInbox(1, 1, 1);
    r.takeInbox(1, 1, 2);
    const restored = r.restore([1], 0);
    assert.equal(restored.redelivered, 2);
    assert.match(
      restored.incomplete[0] ?? '',
      /"receiver": messages delivered between steps 0 and 0 are no longer kept \(a later checkpoint was acknowledged, or more than retainLimit 2/,
    );
  });

  test('a restore to before the acknowledged checkpoint says what is gone', () => {
    const r = freeRunning();
    for (let step = 0; step < 4; step++) r.submit({ source: 0, step, messages: [message(1, 0, step)] });
    for (let step = 0; step < 4; step++) r.takeInbox(1, 1, step);
    r.acknowledgeCheckpoint(0, 3);
    r.acknowledgeCheckpoint(1, 3);
    const restored = r.restore([0, 1], 1);
    assert.equal(restored.redelivered, 1, "only step 3's delivery was still kept");
    assert.deepEqual(restored.incomplete, [
      '"sender" → 1: sends before step 3 are no longer logged (a later checkpoint was acknowledged, or the log passed retainLimit); re-sent messages from then may be taken as new',
      '"receiver": messages delivered between steps 1 and 2 are no longer kept (a later checkpoint was acknowledged, or more than retainLimit 32768 were delivered since); they cannot be delivered again',
    ]);
  });

  test('retainLimit 0 keeps nothing for redelivery, and a restore says so', () => {
    const r = freeRunning({ retainLimit: 0 });
    r.submit({ source: 0, step: 0, messages: [message(1, 0)] });
    r.takeInbox(1, 1, 0);
    assert.equal(r.snapshot().kernels[1]?.retained, 0);
    const restored = r.restore([1], 0);
    assert.equal(restored.redelivered, 0);
    assert.match(
      restored.incomplete[0] ?? '',
      /"receiver": messages delivered between steps 0 and 0 are no longer kept .*retainLimit 0/,
    );
  });

  test('an inbox in flight (in a mailbox) is kept until its consuming step is reported and a checkpoint covers that step', () => {
    const r = freeRunning();
    for (let step = 0; step < 3; step++) r.submit({ source: 0, step, messages: [message(1, 0, step)] });
    assert.deepEqual(r.takeInbox(1, 2, 0, { inFlight: true }).map(brief), ['0>1#0:0', '0>1#1:1']);
    // The receiver's host reports the inbox consumed by step 4 (it waited in the mailbox).
    r.inboxConsumed(1, 2, 4);
    assert.deepEqual(r.takeInbox(1, 2, 5, { inFlight: true }).map(brief), ['0>1#2:2']);
    r.acknowledgeCheckpoint(1, 5); // covers step 4's inbox, not the one still in flight
    assert.equal(r.snapshot().kernels[1]?.retained, 1);
    const restored = r.restore([1], 5);
    assert.deepEqual({ redelivered: restored.redelivered, lost: restored.lost }, { redelivered: 1, lost: 0 });
    assert.deepEqual(r.takeInbox(1, 4, 5, { inFlight: true }).map(brief), ['0>1#2:2'], 'in flight: delivered again');

    // A restore to before step 4 (a rollback point) gives back both, in order, at once: the
    // mailbox decides the step, so a replay does not wait for the step it first had.
    const again = freeRunning();
    for (let step = 0; step < 3; step++) again.submit({ source: 0, step, messages: [message(1, 0, step)] });
    again.takeInbox(1, 2, 0, { inFlight: true });
    again.inboxConsumed(1, 2, 4);
    again.takeInbox(1, 2, 5, { inFlight: true });
    again.acknowledgeCheckpoint(1, 2);
    assert.equal(again.restore([1], 2).redelivered, 3);
    assert.deepEqual(again.takeInbox(1, 8, 2, { inFlight: true }).map(brief), ['0>1#0:0', '0>1#1:1', '0>1#2:2']);
    assert.equal(again.snapshot().totals.redelivered, 3);
    assert.equal(again.snapshot().totals.delivered, 3, 'a redelivery is not a second delivery');
  });

  test('inboxes in flight whose host is gone go back in front of the queue', () => {
    const r = freeRunning();
    r.submit({ source: 0, step: 0, messages: [message(1, 0, 0), message(1, 0, 1), message(1, 0, 2)] });
    r.takeInbox(1, 2, 0, { inFlight: true });
    assert.equal(r.requeueInFlight(1), 2);
    assert.equal(r.requeueInFlight(1), 0);
    assert.deepEqual(r.takeInbox(1, 8, 1, { inFlight: true }).map(brief), ['0>1#0:0', '0>1#1:1', '0>1#2:2']);
    const lockstep = new K2KRouter({ mode: 'lockstep' });
    lockstep.addKernel({ index: 0, id: 'a', device: 'webgpu:0' });
    assert.throws(
      () => lockstep.takeInbox(0, 1, 0, { inFlight: true }),
      /an inbox in flight is for free-running delivery/,
    );
  });

  test('a restore counts what retention had to evict as lost', () => {
    const r = freeRunning({ retainLimit: 2 });
    for (let step = 0; step < 4; step++) r.submit({ source: 0, step, messages: [message(1, 0, step)] });
    for (let step = 0; step < 4; step++) r.takeInbox(1, 1, step);
    r.acknowledgeCheckpoint(1, 1); // step 0's delivery is covered; 1 was evicted uncovered
    const restored = r.restore([1], 1);
    assert.deepEqual({ redelivered: restored.redelivered, lost: restored.lost }, { redelivered: 2, lost: 1 });
  });

  test('lockstep: every kernel back to a checkpoint replays exactly the run it had, timestamps included', () => {
    const kernels = 5;
    const plan: SimulationPlan = { kernels, steps: 30, inboxCapacity: 2, submitOrder: () => [4, 2, 0, 3, 1] };
    const make = (): K2KRouter => {
      const r = new K2KRouter({ mode: 'lockstep', pendingLimit: 6, clock: new ManualClock().now });
      for (let k = 0; k < kernels; k++) r.addKernel({ index: k, id: `k${k}`, device: `webgpu:${k % 2}` });
      return r;
    };
    const reference = runLockstep(make(), plan, new Array<number>(kernels).fill(3));

    const r = make();
    const states = new Array<number>(kernels).fill(3);
    runLockstep(r, plan, states, 0, 12);
    // A checkpoint before step 12: every kernel's state; the router may forget what it covers.
    const saved = [...states];
    for (let k = 0; k < kernels; k++) r.acknowledgeCheckpoint(k, 12);
    runLockstep(r, plan, states, 12, 21); // then a failure during step 21
    const restored = r.restore([0, 1, 2, 3, 4], 12);
    assert.ok(restored.redelivered > 0);
    const replay = runLockstep(r, plan, saved, 12, 30);
    assert.deepEqual(
      replay.inboxes,
      reference.inboxes.slice(12),
      'every inbox from the checkpoint on is the one the uninterrupted run had',
    );
    assert.deepEqual(replay.states, reference.states);
    const stats = r.snapshot();
    assert.ok(stats.totals.duplicates > 0, 're-sent messages were recognised');
    assert.ok(
      stats.totals.refused > 0 && stats.totals.pending > 0,
      'the run had full queues, so the replay had to keep them the same',
    );
  });

  test('lockstep: a restore must include every kernel', () => {
    const r = new K2KRouter({ mode: 'lockstep' });
    r.addKernel({ index: 0, id: 'a', device: 'webgpu:0' });
    r.addKernel({ index: 1, id: 'b', device: 'webgpu:0' });
    assert.throws(() => r.restore([0], 0), /a restore must include every kernel \(they share the step\); missing "b"/);
  });
});
