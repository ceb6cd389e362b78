// Property tests: random interleavings of steps (many senders, small inboxes, small pending
// queues), relocations, stops and starts, enableP2P flips, checkpoints and restores, checked
// against what a kernel must see: nothing lost silently, nothing delivered twice, order per pair
// kept, every refusal counted. The seed is printed; RINGKERNEL_PROPERTY_SEED=<seed> replays a run.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { OutboxMessage } from '../../../server/src/abi/kernelAbi';
import { K2KRouter } from '../../../server/src/router/k2kRouter';
import { machine } from '../topology/machines';
import { runLockstep, type SimulationPlan } from './kernelSimulation';
import { ManualClock, message, words } from './routerHelpers';

const SEED = Number(process.env.RINGKERNEL_PROPERTY_SEED ?? randomInt(2 ** 31));
const KERNELS = 4;
const DEVICES = ['cuda:0', 'cuda:1', 'cuda:2', 'cuda:3', 'webgpu:9'] as const;

type Op =
  | { kind: 'step'; kernel: number; capacity: number; sends: number[] }
  | { kind: 'relocate'; kernel: number; device: string }
  | { kind: 'stop' | 'start' | 'checkpoint' | 'restore'; kernel: number }
  | { kind: 'p2p'; on: boolean };

const kernel = fc.nat(KERNELS - 1);
const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant('step' as const),
      kernel,
      capacity: fc.integer({ min: 0, max: 3 }),
      sends: fc.array(fc.integer({ min: 0, max: KERNELS + 1 }), { maxLength: 5 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('relocate' as const), kernel, device: fc.constantFrom(...DEVICES) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('stop' as const, 'start' as const), kernel }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('checkpoint' as const), kernel }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('restore' as const), kernel }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('p2p' as const), on: fc.boolean() }) },
);

/** One kernel as the test drives it: its step, its checkpoint, what it sent per step (a re-run sends it again). */
interface Driven {
  nextStep: number;
  checkpoint: number;
  running: boolean;
  batches: Map<number, OutboxMessage[]>;
  /** What each of its steps received, by step; a restore forgets the steps after the checkpoint. */
  received: Map<number, number[]>;
}

function runScenario(ops: readonly Op[], pendingLimit: number): void {
  const clock = new ManualClock();
  const router = new K2KRouter({
    topology: machine('v100-nvlink-ring'),
    pendingLimit,
    clock: clock.now,
    wallClock: clock.now,
  });
  const kernels: Driven[] = [];
  for (let k = 0; k < KERNELS; k++) {
    router.addKernel({ index: k, id: `k${k}`, device: DEVICES[k % DEVICES.length] ?? 'cuda:0' });
    kernels.push({ nextStep: 0, checkpoint: 0, running: true, batches: new Map(), received: new Map() });
  }
  // Every message gets an id (its payload); expectedSeq is its place among its pair's messages.
  const sentBy = new Map<number, { source: number; destination: number; seq: number }>();
  const pairCounts = new Map<string, number>();
  const device = new Map<number, string>(
    Array.from({ length: KERNELS }, (_, k) => [k, DEVICES[k % DEVICES.length] ?? 'cuda:0']),
  );
  let nextId = 1;
  let refusedSeen = 0;

  const step = (k: number, capacity: number, sends: readonly number[]): void => {
    const driven = kernels[k];
    if (!driven?.running) return;
    const s = driven.nextStep++;
    const inbox = router.takeInbox(k, capacity, s);
    assert.ok(inbox.length <= capacity, 'never more than the capacity');
    for (const envelope of inbox) {
      assert.equal(envelope.route.to, device.get(k), 'routed to where the receiver is now');
      const id = words(envelope)[0] ?? 0;
      assert.equal(envelope.seq, sentBy.get(id)?.seq, "the sequence number is the message's place in its pair");
    }
    driven.received.set(
      s,
      inbox.map((envelope) => words(envelope)[0] ?? 0),
    );
    let batch = driven.batches.get(s);
    if (!batch) {
      batch = sends.map((destination) => {
        const id = nextId++;
        const pair = `${k}>${destination}`;
        const seq = pairCounts.get(pair) ?? 0;
        pairCounts.set(pair, seq + 1);
        sentBy.set(id, { source: k, destination, seq });
        return message(destination, 0, id);
      });
      driven.batches.set(s, batch);
    }
    refusedSeen += router.submit({ source: k, step: s, messages: batch }).refused;
  };

  for (const op of ops) {
    clock.advance(1);
    const driven = op.kind === 'p2p' ? undefined : kernels[op.kernel];
    switch (op.kind) {
      case 'step':
        step(op.kernel, op.capacity, op.sends);
        break;
      case 'relocate':
        router.relocate(op.kernel, op.device);
        device.set(op.kernel, op.device);
        break;
      case 'stop':
      case 'start':
        if (driven) driven.running = op.kind === 'start';
        router.setRunning(op.kernel, op.kind === 'start');
        break;
      case 'checkpoint':
        if (driven) {
          driven.checkpoint = driven.nextStep;
          router.acknowledgeCheckpoint(op.kernel, driven.nextStep);
        }
        break;
      case 'restore':
        if (driven) {
          const restored = router.restore([op.kernel], driven.checkpoint);
          assert.deepEqual(restored.incomplete, []);
          driven.nextStep = driven.checkpoint;
          for (const s of [...driven.received.keys()]) if (s >= driven.checkpoint) driven.received.delete(s);
        }
        break;
      case 'p2p':
        router.setEnableP2P(op.on);
        break;
    }
  }

  // Drain: everyone runs, re-runs what it had sent, and takes its inbox until nothing is left.
  for (let k = 0; k < KERNELS; k++) {
    router.setRunning(k, true);
    const d = kernels[k];
    if (d) d.running = true;
  }
  for (let round = 0; round < 10_000; round++) {
    const busy = kernels.some((d, k) => router.pendingFor(k) > 0 || [...d.batches.keys()].some((s) => s >= d.nextStep));
    if (!busy) break;
    for (let k = 0; k < KERNELS; k++) step(k, 3, []);
  }

  // What each kernel's state has taken in, in step order.
  const delivered = new Map<number, number>();
  for (let k = 0; k < KERNELS; k++) {
    const lastSeqFrom = new Map<number, number>();
    const steps = [...(kernels[k]?.received.entries() ?? [])].sort((a, b) => a[0] - b[0]);
    for (const [, ids] of steps) {
      for (const id of ids) {
        const sent = sentBy.get(id);
        assert.ok(sent, `message ${id} was sent`);
        assert.equal(sent.destination, k, `message ${id} reached its destination`);
        assert.ok(!delivered.has(id), `message ${id} delivered once`);
        delivered.set(id, k);
        assert.ok((lastSeqFrom.get(sent.source) ?? -1) < sent.seq, `order kept from ${sent.source} to ${k}`);
        lastSeqFrom.set(sent.source, sent.seq);
      }
    }
  }
  const stats = router.snapshot();
  assert.equal(stats.totals.pending, 0);
  // Every message to a kernel that exists was delivered, refused or failed, each counted once.
  const undeliveredKnown = [...sentBy].filter(([id, sent]) => sent.destination < KERNELS && !delivered.has(id)).length;
  const refused = stats.pairs.reduce((sum, p) => sum + p.refused, 0);
  const failed = stats.pairs.reduce((sum, p) => sum + p.failed, 0);
  assert.equal(undeliveredKnown, refused + failed, 'no message to a known kernel vanished uncounted');
  assert.equal(stats.totals.refused, refused);
  assert.equal(refusedSeen, refused, 'the senders saw every refusal');
  for (const k of stats.kernels) {
    assert.equal(
      k.outboxOverflow.pendingFull,
      stats.pairs.filter((p) => p.source === k.index).reduce((sum, p) => sum + p.refused, 0),
      "refusals are the sender's outbox overflow",
    );
  }
  const toUnknown = [...sentBy.values()].filter((sent) => sent.destination >= KERNELS).length;
  assert.ok(stats.failures.unknownDestination >= toUnknown, 'every message to no kernel counted (again when re-sent)');
  assert.equal(
    stats.totals.accepted + stats.totals.refused + stats.totals.duplicates + stats.totals.failed,
    stats.totals.submitted,
  );
}

describe('K2K router properties', () => {
  test('free-running: no loss, no duplicates, order per pair, every refusal counted, through moves and restores', (t) => {
    t.diagnostic(`fast-check seed ${SEED} (replay: RINGKERNEL_PROPERTY_SEED=${SEED})`);
    fc.assert(
      fc.property(fc.array(opArbitrary, { maxLength: 200 }), fc.integer({ min: 1, max: 6 }), (ops, pendingLimit) =>
        runScenario(ops, pendingLimit),
      ),
      { seed: SEED, numRuns: 150 },
    );
  });

  test('lockstep: inboxes and states do not depend on placement, moves or submission order', (t) => {
    t.diagnostic(`fast-check seed ${SEED} (replay: RINGKERNEL_PROPERTY_SEED=${SEED})`);
    const planArbitrary = fc.record({
      kernels: fc.integer({ min: 2, max: 6 }),
      steps: fc.integer({ min: 1, max: 25 }),
      inboxCapacity: fc.integer({ min: 0, max: 4 }),
      pendingLimit: fc.integer({ min: 1, max: 8 }),
      placement: fc.array(fc.nat(7), { minLength: 6, maxLength: 6 }),
      rotation: fc.nat(5),
      moveEvery: fc.integer({ min: 1, max: 5 }),
      start: fc.nat(1000),
    });
    fc.assert(
      fc.property(planArbitrary, (p) => {
        const make = (placed: (k: number) => string): K2KRouter => {
          const r = new K2KRouter({
            mode: 'lockstep',
            topology: machine('dgx-h100'),
            pendingLimit: p.pendingLimit,
            clock: new ManualClock().now,
          });
          for (let k = 0; k < p.kernels; k++) r.addKernel({ index: k, id: `k${k}`, device: placed(k) });
          return r;
        };
        const identity = Array.from({ length: p.kernels }, (_, k) => k);
        const plain: SimulationPlan = {
          kernels: p.kernels,
          steps: p.steps,
          inboxCapacity: p.inboxCapacity,
          submitOrder: () => identity,
        };
        const shuffled: SimulationPlan = {
          ...plain,
          submitOrder: (step) => identity.map((k) => (k + p.rotation + step) % p.kernels).reverse(),
          moves: (step) =>
            step % p.moveEvery === 0 ? [[step % p.kernels, `cuda:${(p.placement[step % 6] ?? 0 + step) % 8}`]] : [],
        };
        const one = runLockstep(
          make(() => 'cuda:0'),
          plain,
          new Array<number>(p.kernels).fill(p.start),
        );
        const spread = runLockstep(
          make((k) => `cuda:${p.placement[k] ?? 0}`),
          shuffled,
          new Array<number>(p.kernels).fill(p.start),
        );
        assert.deepEqual(spread.inboxes, one.inboxes);
        assert.deepEqual(spread.states, one.states);
      }),
      { seed: SEED, numRuns: 100 },
    );
  });
});
