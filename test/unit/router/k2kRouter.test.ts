import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { K2KRouter, type K2KRouterOptions } from '../../../server/src/router/k2kRouter';
import { unpackHlc } from '../../../server/src/router/hybridLogicalClock';
import { UNPLACED } from '../../../server/src/router/routerTypes';
import { machine } from '../topology/machines';
import { ManualClock, brief, message, words } from './routerHelpers';

function router(options: K2KRouterOptions = {}): { router: K2KRouter; clock: ManualClock; wall: ManualClock } {
  const clock = new ManualClock(0);
  const wall = new ManualClock(1_700_000_000_000);
  return { router: new K2KRouter({ clock: clock.now, wallClock: wall.now, ...options }), clock, wall };
}

describe('K2K router: envelopes and delivery', () => {
  test('wraps each message: source, destination, type, a sequence per pair, a clock time, the payload', () => {
    const { router: r } = router();
    r.addKernel({ index: 0, id: 'a', device: 'webgpu:0' });
    r.addKernel({ index: 1, id: 'b', device: 'webgpu:0' });
    r.addKernel({ index: 2, id: 'c', device: 'webgpu:0' });
    assert.deepEqual(
      r.submit({ source: 0, step: 0, messages: [message(1, 7, 10), message(2, 8, 20), message(1, 9, 11)] }),
      { accepted: 3, refused: 0, duplicates: 0, failed: 0, staged: 0 },
    );
    const inbox = r.takeInbox(1, 8, 0);
    assert.deepEqual(
      inbox.map((e) => [e.source, e.destination, e.type, e.seq, words(e)[0], e.sendStep]),
      [
        [0, 1, 7, 0, 10, 0],
        [0, 1, 9, 1, 11, 0],
      ],
    );
    assert.equal(r.takeInbox(2, 8, 0)[0]?.seq, 0, 'each pair counts from 0');
    assert.ok((inbox[1]?.timestamp ?? 0n) > (inbox[0]?.timestamp ?? 0n), 'later sends have later times');
    assert.equal(unpackHlc(inbox[0]?.timestamp ?? 0n).physical, 1_700_000_000_000);
  });

  test('the inbox takes at most its capacity, in arrival order, and leaves the rest pending for later steps', () => {
    const { router: r } = router();
    for (const index of [0, 1, 2]) r.addKernel({ index, id: `k${index}`, device: 'webgpu:0' });
    r.submit({ source: 0, step: 0, messages: [message(2, 0, 1), message(2, 0, 2), message(2, 0, 3)] });
    r.submit({ source: 1, step: 0, messages: [message(2, 0, 100), message(2, 0, 101)] });
    assert.deepEqual(r.takeInbox(2, 2, 1).map(brief), ['0>2#0:1', '0>2#1:2']);
    assert.equal(r.pendingFor(2), 3);
    assert.deepEqual(r.takeInbox(2, 2, 2).map(brief), ['0>2#2:3', '1>2#0:100']);
    assert.deepEqual(r.takeInbox(2, 2, 3).map(brief), ['1>2#1:101']);
    assert.deepEqual(r.takeInbox(2, 2, 4), []);
    assert.deepEqual(r.takeInbox(2, 0, 5), [], 'capacity 0 takes nothing');
  });

  test("a full pending queue refuses the sender's messages and counts them as its outbox overflow", () => {
    const { router: r } = router();
    r.addKernel({ index: 0, id: 'chatty', device: 'webgpu:0' });
    r.addKernel({ index: 1, id: 'slow', device: 'webgpu:0', pendingLimit: 2 });
    const result = r.submit({
      source: 0,
      step: 0,
      messages: [message(1, 0, 1), message(1, 0, 2), message(1, 0, 3), message(1, 0, 4)],
      outboxFull: 5,
    });
    assert.deepEqual(result, { accepted: 2, refused: 2, duplicates: 0, failed: 0, staged: 0 });
    const stats = r.snapshot();
    const chatty = stats.kernels.find((k) => k.id === 'chatty');
    assert.deepEqual(chatty?.outboxOverflow, { pendingFull: 2, outboxFull: 5 });
    assert.equal(stats.pairs[0]?.refused, 2);
    assert.equal(stats.totals.refused, 2);
    assert.equal(stats.totals.outboxFull, 5);
    // Room again after a step: the next message is accepted; the refused ones left a visible gap in seq.
    assert.deepEqual(r.takeInbox(1, 1, 0).map(brief), ['0>1#0:1']);
    r.submit({ source: 0, step: 1, messages: [message(1, 0, 5)] });
    assert.deepEqual(r.takeInbox(1, 4, 1).map(brief), ['0>1#1:2', '0>1#4:5']);
  });

  test('a message to an unknown or stopped kernel is a counted failure with its reason', () => {
    const { router: r } = router();
    r.addKernel({ index: 0, id: 'a', device: 'webgpu:0' });
    r.addKernel({ index: 1, id: 'b', device: 'webgpu:0', running: false });
    const result = r.submit({
      source: 0,
      step: 0,
      messages: [message(9, 0), message(9, 0), message(0xffffffff, 0), message(1, 0)],
    });
    assert.deepEqual(result, { accepted: 0, refused: 0, duplicates: 0, failed: 4, staged: 0 });
    const stats = r.snapshot();
    assert.deepEqual(stats.failures, {
      unknownDestination: 3,
      destinationStopped: 1,
      destinationRemoved: 0,
      destinationNotStarted: 0,
      sourceRemoved: 0,
    });
    const a = stats.kernels.find((k) => k.id === 'a');
    assert.deepEqual(a?.unknownDestinations, [
      { destination: 9, count: 2 },
      { destination: 0xffffffff, count: 1 },
    ]);
    assert.equal(a?.failures.destinationStopped, 1);
    assert.equal(stats.pairs.find((p) => p.destination === 1)?.failed, 1);
    r.setRunning(1, true);
    assert.equal(r.submit({ source: 0, step: 1, messages: [message(1, 0)] }).accepted, 1);
  });

  test('a stopped kernel keeps its pending messages; removing it fails them, counted', () => {
    const { router: r } = router();
    r.addKernel({ index: 0, id: 'a', device: 'webgpu:0' });
    r.addKernel({ index: 1, id: 'b', device: 'webgpu:1' });
    r.submit({ source: 0, step: 0, messages: [message(1, 0, 1), message(1, 0, 2)] });
    r.setRunning(1, false);
    assert.equal(r.pendingFor(1), 2);
    assert.equal(r.removeKernel(1), 2);
    const stats = r.snapshot();
    assert.equal(stats.failures.destinationRemoved, 2);
    assert.equal(stats.totals.pending, 0);
    assert.equal(stats.pairs[0]?.destinationId, '#1 (removed)');
    assert.equal(r.submit({ source: 0, step: 1, messages: [message(1, 0)] }).failed, 1, 'now an unknown destination');
  });

  test('a kernel registered before it is placed queues its messages; its route is decided (once) when it is placed', () => {
    const { router: r } = router();
    r.addKernel({ index: 0, id: 'a', device: 'webgpu:0' });
    r.addKernel({ index: 1, id: 'b', device: UNPLACED });
    assert.equal(r.routeFor(0, 1), undefined, 'no route to a kernel not placed');
    assert.equal(r.submit({ source: 0, step: 0, messages: [message(1, 0, 1), message(1, 0, 2)] }).accepted, 2);
    let stats = r.snapshot();
    assert.equal(stats.totals.pending, 2);
    assert.equal(
      Object.values(stats.routes).reduce((a, b) => a + b, 0),
      0,
      'no decision counted before placement',
    );
    assert.equal(stats.pairs[0]?.route, undefined);
    assert.deepEqual(r.relocate(1, 'webgpu:0'), { rerouted: 0 }, 'a first decision is not a re-route');
    stats = r.snapshot();
    assert.equal(stats.routes.sameDevice, 2);
    assert.equal(stats.totals.rerouted, 0);
    assert.equal(stats.pairs[0]?.route, 'sameDevice');
    assert.deepEqual(
      r.takeInbox(1, 4, 0).map((e) => words(e)[0]),
      [1, 2],
    );
  });

  test('a kernel registered ahead that does not start: what waited for it fails as destinationNotStarted', () => {
    const { router: r } = router();
    r.addKernel({ index: 0, id: 'a', device: 'webgpu:0' });
    r.addKernel({ index: 1, id: 'b', device: UNPLACED });
    r.submit({ source: 0, step: 0, messages: [message(1, 0, 1), message(1, 0, 2), message(1, 0, 3)] });
    assert.equal(r.removeKernel(1, 'destinationNotStarted'), 3);
    const stats = r.snapshot();
    assert.equal(stats.failures.destinationNotStarted, 3);
    assert.equal(stats.failures.destinationRemoved, 0);
    assert.equal(stats.totals.failed, 3);
    assert.equal(stats.totals.pending, 0);
    assert.equal(stats.pairs[0]?.failed, 3);
  });

  test('wrong calls say what happened and what to do', () => {
    const { router: r } = router();
    r.addKernel({ index: 0, id: 'a', device: 'webgpu:0' });
    assert.throws(() => r.addKernel({ index: 0, id: 'b', device: 'webgpu:0' }), /"b" cannot take index 0: "a" has it/);
    assert.throws(() => r.addKernel({ index: -1, id: 'c', device: 'webgpu:0' }), /index -1; an index is an integer/);
    assert.throws(
      () => r.submit({ source: 3, step: 0, messages: [] }),
      /submit: no kernel has index 3; add it with addKernel first/,
    );
    assert.throws(() => r.endStep(0), /endStep is for lockstep mode/);
    assert.throws(
      () => new K2KRouter({ pendingLimit: 0 }),
      /pendingLimit is 0; it must be a whole number of at least 1/,
    );
  });

  test('causality: a message sent after receiving one carries a later time, whatever the wall clock says', () => {
    const { router: r, wall } = router();
    for (const index of [0, 1, 2]) r.addKernel({ index, id: `k${index}`, device: 'webgpu:0' });
    r.submit({ source: 0, step: 0, messages: [message(1, 0)] });
    const first = r.takeInbox(1, 1, 0)[0];
    wall.advance(-60_000); // the wall clock steps back a minute
    r.submit({ source: 1, step: 0, messages: [message(2, 0)] });
    const second = r.takeInbox(2, 1, 0)[0];
    assert.ok(first && second && second.timestamp > first.timestamp);
  });
});

describe('K2K router: routes and migration', () => {
  test("decides each pair's route from the topology and counts decisions by route", () => {
    const { router: r } = router({ topology: machine('v100-nvlink-ring') });
    r.addKernel({ index: 0, id: 'a', device: 'cuda:0' });
    r.addKernel({ index: 1, id: 'b', device: 'cuda:1' });
    r.addKernel({ index: 2, id: 'c', device: 'cuda:2' });
    r.addKernel({ index: 3, id: 'd', device: 'cuda:0' });
    assert.equal(r.routeFor(0, 1)?.kind, 'directP2P');
    assert.equal(r.routeFor(0, 2)?.kind, 'multiHop');
    assert.equal(r.routeFor(0, 3)?.kind, 'sameDevice');
    assert.equal(r.routeFor(0, 9), undefined);
    r.submit({ source: 0, step: 0, messages: [message(1, 0), message(2, 0), message(2, 0), message(3, 0)] });
    const stats = r.snapshot();
    assert.deepEqual(stats.routes, { sameDevice: 1, directP2P: 1, multiHop: 2, hostMediated: 0 });
    const ring = stats.devicePairs.find((p) => p.from === 'cuda:0' && p.to === 'cuda:2');
    assert.equal(ring?.route, 'multiHop');
    assert.deepEqual(ring?.path, ['cuda:0', 'cuda:1', 'cuda:2']);
    assert.equal(ring?.pending, 2);
    assert.equal(stats.pairs.find((p) => p.destination === 2)?.reason, ring?.reason);
    r.setEnableP2P(false);
    assert.equal(r.routeFor(0, 1)?.kind, 'hostMediated');
    assert.equal(r.snapshot().totals.rerouted, 3, 'pending messages were routed again');
  });

  test('relocation routes pending messages to the new device: none lost, none duplicated, order kept', () => {
    const { router: r } = router({ topology: machine('dgx-h100') });
    r.addKernel({ index: 0, id: 'a', device: 'cuda:0' });
    r.addKernel({ index: 1, id: 'b', device: 'cuda:0' });
    r.submit({ source: 0, step: 0, messages: [1, 2, 3, 4].map((n) => message(1, 0, n)) });
    assert.deepEqual(
      r.takeInbox(1, 1, 0).map((e) => e.route.kind),
      ['sameDevice'],
    );
    assert.deepEqual(r.relocate(1, 'cuda:4'), { rerouted: 3 });
    r.submit({ source: 0, step: 1, messages: [message(1, 0, 5)] });
    const inbox = r.takeInbox(1, 10, 1);
    assert.deepEqual(inbox.map(brief), ['0>1#1:2', '0>1#2:3', '0>1#3:4', '0>1#4:5']);
    assert.deepEqual(
      new Set(inbox.map((e) => `${e.route.kind} ${e.route.from}→${e.route.to}`)),
      new Set(['directP2P cuda:0→cuda:4']),
    );
    assert.equal(r.routeFor(0, 1)?.to, 'cuda:4');
    // The sender moving changes the route of what it sends from then on.
    r.relocate(0, 'cuda:4');
    r.submit({ source: 0, step: 2, messages: [message(1, 0, 6)] });
    assert.equal(r.takeInbox(1, 1, 2)[0]?.route.kind, 'sameDevice');
  });

  test('a new topology routes pending messages again', () => {
    const { router: r } = router();
    r.addKernel({ index: 0, id: 'a', device: 'cuda:0' });
    r.addKernel({ index: 1, id: 'b', device: 'cuda:2' });
    r.submit({ source: 0, step: 0, messages: [message(1, 0)] });
    assert.equal(r.routeFor(0, 1)?.kind, 'hostMediated', 'no topology yet');
    r.setTopology(machine('v100-nvlink-ring'));
    assert.equal(r.takeInbox(1, 1, 0)[0]?.route.kind, 'multiHop');
  });
});

describe('K2K router: stats', () => {
  test('per pair and per device pair: messages, bytes, rates over the window, latency p50/p99 in steps and ms', () => {
    const { router: r, clock } = router({ topology: machine('dgx-h100'), windowMs: 1000, bucketMs: 100 });
    r.addKernel({ index: 0, id: 'a', device: 'cuda:0' });
    r.addKernel({ index: 1, id: 'b', device: 'cuda:1' });
    // 100 messages of 8 bytes: half delivered at the next step 2 ms later, half two steps and 5 ms later.
    for (let i = 0; i < 100; i++) r.submit({ source: 0, step: i, messages: [message(1, 0, i, i)] });
    clock.advance(2);
    r.takeInbox(1, 50, 0);
    clock.advance(3);
    r.takeInbox(1, 0, 1);
    r.takeInbox(1, 50, 2);
    const stats = r.snapshot();
    const pair = stats.pairs[0];
    assert.ok(pair);
    assert.equal(pair.messages, 100);
    assert.equal(pair.bytes, 800);
    assert.equal(pair.messagesPerSecond, 100);
    assert.equal(pair.bytesPerSecond, 800);
    assert.deepEqual(pair.latencySteps, { p50: 1, p99: 3, samples: 100 });
    assert.deepEqual(pair.latencyMs, { p50: 2, p99: 5, samples: 100 });
    assert.equal(pair.route, 'directP2P');
    const device = stats.devicePairs.find((d) => d.from === 'cuda:0' && d.to === 'cuda:1');
    assert.equal(device?.messages, 100);
    assert.equal(device?.decisions.directP2P, 100);
    assert.equal(device?.bandwidthGBps, 450);
    assert.equal(stats.messagesPerSecond, 100);
    assert.equal(stats.windowSeconds, 1);
    // The window slides: two seconds on, nothing was delivered in it.
    clock.advance(2000);
    const later = r.snapshot().pairs[0];
    assert.equal(later?.messagesPerSecond, 0);
    assert.equal(later?.messages, 100, 'lifetime totals stay');
  });

  test('the totals account for every message handed in', () => {
    const { router: r } = router({ pendingLimit: 3 });
    r.addKernel({ index: 0, id: 'a', device: 'webgpu:0' });
    r.addKernel({ index: 1, id: 'b', device: 'webgpu:0' });
    r.addKernel({ index: 2, id: 'c', device: 'webgpu:0', running: false });
    r.submit({
      source: 0,
      step: 0,
      messages: [message(1, 0), message(1, 0), message(1, 0), message(1, 0), message(2, 0), message(5, 0)],
    });
    r.takeInbox(1, 1, 0);
    const { totals } = r.snapshot();
    assert.equal(totals.submitted, 6);
    assert.equal(totals.accepted + totals.refused + totals.duplicates + totals.failed, totals.submitted);
    assert.equal(totals.delivered + totals.pending, totals.accepted);
    assert.deepEqual(
      [totals.accepted, totals.refused, totals.failed, totals.delivered, totals.pending],
      [3, 1, 2, 1, 2],
    );
  });

  test('a snapshot is plain data: it survives JSON unchanged', () => {
    const { router: r } = router({ topology: machine('mixed-cuda-webgpu') });
    r.addKernel({ index: 0, id: 'a', device: 'cuda:0' });
    r.addKernel({ index: 1, id: 'b', device: 'webgpu:0' });
    r.submit({ source: 0, step: 0, messages: [message(1, 3, 1, 2, 3)] });
    r.takeInbox(1, 4, 0);
    const snapshot = r.snapshot();
    assert.deepEqual(JSON.parse(JSON.stringify(snapshot)), snapshot);
    assert.equal(snapshot.devicePairs[0]?.route, 'hostMediated');
  });
});
