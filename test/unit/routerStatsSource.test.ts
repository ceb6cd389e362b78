// The router's snapshot in the wire format of ringkernel/routerStats.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { K2KRouter } from '../../server/src/router';
import { toWireRouterStats } from '../../server/src/lsp/routerStatsSource';

test("the router's totals, pairs, device pairs, routes and failures in the wire format", () => {
  let now = 0;
  const router = new K2KRouter({ mode: 'lockstep', pendingLimit: 1, clock: () => now });
  router.addKernel({ index: 0, id: 'a', device: 'webgpu:0' });
  router.addKernel({ index: 1, id: 'b', device: 'webgpu:1' });
  const payload = new Uint8Array(8);
  router.takeInbox(0, 4, 0);
  router.takeInbox(1, 4, 0);
  router.submit({
    source: 0,
    step: 0,
    messages: [
      { destination: 1, type: 1, payload },
      { destination: 1, type: 1, payload },
      { destination: 9, type: 1, payload },
    ],
    outboxFull: 2,
  });
  router.submit({ source: 1, step: 0, messages: [] });
  router.endStep(0);
  now = 10;
  router.takeInbox(1, 4, 1);
  const wire = toWireRouterStats({ ...router.snapshot(), delivery: { inMailboxes: 0, lostWithHost: 0 } }, 1234);
  assert.equal(wire.at, 1234);
  assert.equal(wire.running, true);
  assert.equal(wire.mode, 'lockstep');
  assert.deepEqual([wire.totals.sent, wire.totals.delivered, wire.totals.failed, wire.totals.pending], [3, 1, 1, 0]);
  assert.deepEqual(wire.totals.latency, { p50Us: 10_000, p99Us: 10_000 });
  const pair = wire.kernelPairs.find((p) => p.from === 'a' && p.to === 'b');
  assert.deepEqual(
    [pair?.delivered, pair?.failed, pair?.route, pair?.fromDevice, pair?.toDevice],
    [1, 1, 'hostMediated', 'webgpu:0', 'webgpu:1'],
  );
  assert.deepEqual(
    wire.devicePairs.map((p) => [p.from, p.to, p.route, p.delivered]),
    [['webgpu:0', 'webgpu:1', 'hostMediated', 1]],
  );
  assert.deepEqual(
    wire.routes.find((r) => r.route === 'hostMediated'),
    { route: 'hostMediated', decisions: 1, messages: 1 },
  );
  assert.deepEqual(
    wire.failures.map((f) => [f.kind, f.count]),
    [
      ['unknownDestination', 1],
      ['pendingFull', 1],
      ['outboxOverflow', 2],
    ],
  );
  const idle = toWireRouterStats({ ...new K2KRouter().snapshot(), delivery: { inMailboxes: 0, lostWithHost: 0 } });
  assert.equal(idle.running, false);
  assert.match(idle.note ?? '', /no kernels run/);
});
