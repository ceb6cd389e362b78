import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { K2KRouter } from '../../../server/src/router/k2kRouter';
import { unpackHlc } from '../../../server/src/router/hybridLogicalClock';
import { machine } from '../topology/machines';
import { runLockstep, type SimulationPlan } from './kernelSimulation';
import { ManualClock, brief, message } from './routerHelpers';

function lockstep(kernels: number, device: (k: number) => string, pendingLimit = 64): K2KRouter {
  const clock = new ManualClock();
  const router = new K2KRouter({ mode: 'lockstep', topology: machine('dgx-h100'), pendingLimit, clock: clock.now });
  for (let k = 0; k < kernels; k++) router.addKernel({ index: k, id: `k${k}`, device: device(k) });
  return router;
}

describe('K2K router: lockstep', () => {
  test("step s's messages reach no inbox of step s, only those of step s + 1, once endStep(s) ran", () => {
    const r = lockstep(2, () => 'cuda:0');
    assert.deepEqual(r.takeInbox(0, 4, 0), []);
    r.submit({ source: 0, step: 0, messages: [message(1, 0, 1)] });
    assert.deepEqual(r.takeInbox(1, 4, 0), [], 'sent this step: not yet');
    r.submit({ source: 1, step: 0, messages: [] });
    assert.equal(r.endStep(0).accepted, 1);
    assert.equal(r.currentStep, 1);
    assert.deepEqual(r.takeInbox(1, 4, 1).map(brief), ['0>1#0:1']);
  });

  test('messages of a step are ordered by (source index, send order), whatever order the outboxes came in', () => {
    const run = (order: number[]): string[] => {
      const r = lockstep(4, (k) => `cuda:${k}`, 3);
      for (let k = 0; k < 4; k++) r.takeInbox(k, 8, 0);
      for (const k of order)
        r.submit({ source: k, step: 0, messages: [message(3, 0, k * 10), message(3, 0, k * 10 + 1)] });
      const result = r.endStep(0);
      // The pending limit (3) refuses the same messages in every order: the later sources'.
      assert.deepEqual(
        result.bySource.map((s) => [s.source, s.accepted, s.refused]),
        [
          [0, 2, 0],
          [1, 1, 1],
          [2, 0, 2],
          [3, 0, 2],
        ],
      );
      return r
        .takeInbox(3, 8, 1)
        .map((e) => `${brief(e)}@${unpackHlc(e.timestamp).physical}.${unpackHlc(e.timestamp).logical}`);
    };
    const expected = ['0>3#0:0@0.1', '0>3#1:1@0.2', '1>3#0:10@0.1'];
    assert.deepEqual(run([0, 1, 2, 3]), expected);
    assert.deepEqual(run([3, 1, 0, 2]), expected);
    assert.deepEqual(run([2, 3, 1, 0]), expected);
  });

  test("the clocks' physical time is the step, so timestamps do not depend on the wall clock", () => {
    const r = lockstep(2, () => 'cuda:0');
    const received: number[] = [];
    for (let step = 0; step < 4; step++) {
      r.takeInbox(0, 4, step);
      received.push(...r.takeInbox(1, 4, step).map((e) => unpackHlc(e.timestamp).physical));
      r.submit({ source: 0, step, messages: [message(1, 0, step)] });
      r.submit({ source: 1, step, messages: [] });
      r.endStep(step);
    }
    assert.deepEqual(received, [0, 1, 2]);
  });

  test('the same kernels give the same inboxes and states on one device or spread over eight, moved around, outboxes in any order', () => {
    const plan = (order: (step: number) => number[], moves?: SimulationPlan['moves']): SimulationPlan => {
      const p: SimulationPlan = { kernels: 6, steps: 40, inboxCapacity: 3, submitOrder: order };
      if (moves) p.moves = moves;
      return p;
    };
    const single = lockstep(6, () => 'cuda:0', 5);
    const oneDevice = runLockstep(
      single,
      plan(() => [0, 1, 2, 3, 4, 5]),
      new Array<number>(6).fill(1),
    );
    const spread = runLockstep(
      lockstep(6, (k) => `cuda:${k}`, 5),
      plan(
        (step) => [5, 4, 3, 2, 1, 0].map((k) => (k + step) % 6),
        (step) => (step % 7 === 3 ? [[step % 6, `cuda:${(step * 3) % 8}`]] : []),
      ),
      new Array<number>(6).fill(1),
    );
    assert.deepEqual(spread.inboxes, oneDevice.inboxes);
    assert.deepEqual(spread.states, oneDevice.states);
    const { totals } = single.snapshot();
    assert.ok(
      totals.delivered > 100 && totals.refused > 0 && totals.pending > 0,
      `messages flowed and queues filled: ${JSON.stringify(totals)}`,
    );
  });

  test('a step cannot end before every kernel that took its inbox has submitted; wrong steps are refused', () => {
    const r = lockstep(3, () => 'cuda:0');
    r.takeInbox(0, 4, 0);
    r.takeInbox(1, 4, 0);
    r.submit({ source: 0, step: 0, messages: [] });
    assert.throws(
      () => r.endStep(0),
      /step 0 cannot end: "k1" took an inbox for it but submitted no outbox; submit an empty batch/,
    );
    assert.throws(
      () => r.submit({ source: 1, step: 1, messages: [] }),
      /"k1" submitted step 1 while step 0 is running/,
    );
    assert.throws(() => r.takeInbox(2, 4, 1), /"k2" asked for its step-1 inbox while step 0 is running/);
    assert.throws(() => r.endStep(3), /endStep\(3\) while step 0 is running/);
    r.submit({ source: 1, step: 0, messages: [] });
    assert.equal(r.endStep(0).step, 0, 'k2 took no inbox this step, so it need not submit');
  });

  test('a sender removed before its step ends: what it submitted fails as sourceRemoved, counted', () => {
    const r = lockstep(2, () => 'cuda:0');
    r.submit({ source: 0, step: 0, messages: [message(1, 0), message(1, 0)] });
    assert.equal(r.snapshot().totals.staged, 2);
    assert.equal(r.removeKernel(0), 2);
    assert.equal(r.endStep(0).accepted, 0);
    const stats = r.snapshot();
    assert.equal(stats.failures.sourceRemoved, 2);
    assert.equal(stats.totals.staged, 0);
  });
});
