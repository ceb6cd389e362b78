// K2K messages between real WGSL kernels in real device hosts (lavapipe here; the GPU on a GPU
// machine), each kernel in a host process of its own, so every message crosses processes: under
// load (many senders, a small inbox, a full pending queue) none is lost, duplicated or reordered,
// and every one not delivered is counted. Lockstep (runLockstep) and free-running (KernelRuntime).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DeviceHost } from '../../server/src/hosts/deviceHost';
import { DeviceKernel } from '../../server/src/hosts/deviceKernel';
import type { Logger } from '../../server/src/logger';
import { parseManifest, type Manifest } from '../../server/src/manifest/manifest';
import { MultiGpuCoordinator } from '../../server/src/coordinator/multiGpuCoordinator';
import { probeBackends, probeMachine } from '../../server/src/probe/machineProbe';
import { withWebGpuInstances } from '../../server/src/probe/deviceInstances';
import { buildTopology } from '../../server/src/topology/buildTopology';
import { migrationRoute } from '../../server/src/migration/migrationRoute';
import { K2KRouter } from '../../server/src/router';
import { coordinatorPlacer } from '../../server/src/runtime/coordinatorPlacer';
import { KernelRuntime } from '../../server/src/runtime/kernelRuntime';
import { runLockstep, type LockstepKernel } from '../../server/src/runtime/lockstepRun';
import { BURST, SENDER_WGSL, floodKernel, readReceiverLog, receiverWgsl } from '../support/floodKernels';
import { pollUntil } from '../support/poll';
import { distFile } from '../support/repo';

const quiet: Logger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };
const LOG_ENTRIES = 4000;
const RECEIVER = receiverWgsl(LOG_ENTRIES);

/** The receiver's log, checked: per source, numbers strictly increase (no duplicate, no reorder). */
function checkLog(state: Uint8Array): { received: number; perSource: Map<number, number[]> } {
  const log = readReceiverLog(state, LOG_ENTRIES);
  assert.deepEqual(log.outOfOrder, [], 'a duplicate or a reorder');
  return log;
}

/** Writes the two kernels' WGSL and a manifest of `kernels` (entries without the common fields) into a fresh folder. */
function writeManifest(prefix: string, kernels: object[]): Manifest {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(join(dir, 'sender.wgsl'), SENDER_WGSL);
  writeFileSync(join(dir, 'receiver.wgsl'), RECEIVER);
  const text = JSON.stringify({
    version: 1,
    kernels: kernels.map(floodKernel),
  });
  const manifestPath = join(dir, 'ringkernel.json');
  writeFileSync(manifestPath, text);
  const manifest = parseManifest(text, manifestPath);
  assert.deepEqual(
    manifest.problems.filter((p) => p.severity === 'error'),
    [],
  );
  return manifest;
}

const hosts: DeviceHost[] = [];
after(() => {
  for (const host of hosts) host.dispose();
});

test(
  'lockstep, each kernel in its own host: 3 senders flood a receiver with a 2-slot inbox; nothing lost, duplicated or reordered; refusals counted',
  { timeout: 180_000 },
  async () => {
    const router = new K2KRouter({ mode: 'lockstep', pendingLimit: 8 });
    const kernels: LockstepKernel[] = [];
    for (let index = 0; index < 4; index++) {
      const host = new DeviceHost({ backend: 'webgpu', script: distFile('deviceHost.js'), stepTimeoutMs: 20_000 });
      hosts.push(host);
      const receiver = index === 0;
      const kernel = await DeviceKernel.create(
        host,
        { language: 'wgsl', label: `k${index}`, code: receiver ? RECEIVER : SENDER_WGSL, entryPoint: 'main' },
        {
          index,
          device: 0,
          stateBytes: receiver ? 4 * (1 + LOG_ENTRIES) : 4,
          grid: [1, 1, 1],
          inboxCapacity: receiver ? 2 : 0,
          outboxCapacity: 4,
        },
      );
      router.addKernel({ index, id: `k${index}`, device: 'webgpu:0' });
      kernels.push({ index, id: `k${index}`, device: 'webgpu:0', kernel, inboxCapacity: receiver ? 2 : 0 });
    }
    const steps = 40;
    const failures = await runLockstep(router, kernels, steps);
    assert.deepEqual([...failures], []);
    const { received, perSource } = checkLog(await kernels[0]!.kernel.readState());
    const stats = router.snapshot();
    assert.equal(received, stats.totals.delivered, 'every delivered message reached the kernel, once');
    assert.ok(stats.totals.refused > 0, 'the 8-message pending queue filled: backpressure happened');
    for (let source = 1; source <= 3; source++) {
      const sent = new Uint32Array((await kernels[source]!.kernel.readState()).buffer)[0];
      assert.equal(sent, steps * BURST);
      const pair = stats.pairs.find((p) => p.source === source && p.destination === 0);
      assert.ok(pair);
      const got = perSource.get(source) ?? [];
      assert.equal(got.length, pair.messages);
      // Every message the sender wrote is delivered, waiting, or refused (its outbox overflow, counted).
      assert.equal(
        pair.messages + pair.pending + pair.refused,
        sent,
        `kernel ${source}: delivered ${pair.messages} + pending ${pair.pending} + refused ${pair.refused}`,
      );
      assert.equal(stats.kernels.find((k) => k.index === source)?.outboxOverflow.pendingFull, pair.refused);
    }
    // Lockstep order: per step, sources in index order; a source's messages in send order.
    assert.equal(stats.totals.failed, 0);
  },
);

test(
  'free-running, each kernel in its own host: senders at 100 steps/s flood a receiver with a 2-slot inbox; its log has every delivered message once, in order',
  { timeout: 180_000 },
  async () => {
    const manifest = writeManifest('ringkernel-k2k-', [
      { id: 'receiver', source: 'receiver.wgsl', stateBytes: 4 * (1 + LOG_ENTRIES), inboxCapacity: 2, rateHz: 0 },
      ...[1, 2, 3].map((i) => ({
        id: `sender${i}`,
        source: 'sender.wgsl',
        stateBytes: 4,
        inboxCapacity: 0,
        rateHz: 100,
      })),
    ]);
    const coordinator = new MultiGpuCoordinator();
    coordinator.syncDevices(await probeBackends({}));
    const runtime = new KernelRuntime({
      log: quiet,
      placer: coordinatorPlacer(coordinator),
      hostScript: distFile('deviceHost.js'),
      stepTimeoutMs: 20_000,
      checkpointIntervalMs: 0,
      validate: () => Promise.resolve([]),
    });
    try {
      await runtime.setManifest(manifest);
      const started = await runtime.start();
      assert.deepEqual(started.failed, []);
      // Enough traffic that the receiver's pending queue (1024) is not the limit, but it is used.
      await pollUntil(
        '600 messages delivered',
        () => (runtime.routerStats().totals.delivered >= 600 ? true : undefined),
        { timeoutMs: 60_000 },
      );
      const mid = runtime.routerStats();
      assert.ok(mid.messagesPerSecond > 0, 'a message rate is reported');
      const senderPids = new Set(runtime.views().map((v) => v.hostPid));
      assert.equal(senderPids.size, 4, 'each WebGPU kernel has its own host process');
      await runtime.stop();
      const stats = runtime.routerStats();
      const { received, perSource } = checkLog((await runtime.readState('receiver')).state);
      // What the router handed out either reached the kernel or came back from its mailbox at the stop.
      assert.equal(received + stats.delivery.inMailboxes, stats.totals.delivered);
      assert.equal(stats.delivery.lostWithHost, 0);
      for (let source = 1; source <= 3; source++) {
        const sent = new Uint32Array((await runtime.readState(`sender${source}`)).state.buffer)[0] ?? 0;
        const senderStats = stats.kernels.find((k) => k.index === source);
        assert.equal(senderStats?.sent, sent, `sender${source}: the router saw every message it wrote`);
        const pair = stats.pairs.find((p) => p.source === source && p.destination === 0);
        assert.ok(pair);
        assert.ok((perSource.get(source)?.length ?? 0) <= pair.messages);
        assert.equal(
          pair.messages + pair.pending + pair.refused + pair.failed,
          sent,
          `sender${source}: delivered + pending + refused + failed (after the receiver stopped)`,
        );
      }
    } finally {
      await runtime.dispose();
    }
  },
);

test(
  'free-running: the receiver migrates webgpu:0 -> webgpu:1 -> webgpu:0 under a flood; its messages follow it, none lost, duplicated or reordered',
  { timeout: 180_000 },
  async () => {
    const manifest = writeManifest('ringkernel-k2k-move-', [
      {
        id: 'receiver',
        source: 'receiver.wgsl',
        stateBytes: 4 * (1 + LOG_ENTRIES),
        inboxCapacity: 2,
        rateHz: 200,
        device: 0,
      },
      ...[1, 2].map((i) => ({ id: `sender${i}`, source: 'sender.wgsl', stateBytes: 4, inboxCapacity: 0, rateHz: 50 })),
    ]);
    const probe = withWebGpuInstances(await probeMachine({}), 2);
    const coordinator = new MultiGpuCoordinator();
    coordinator.syncDevices(probe.reports);
    const topology = buildTopology(probe.topology);
    coordinator.setTopology(topology);
    const runtime = new KernelRuntime({
      log: quiet,
      placer: coordinatorPlacer(coordinator),
      hostScript: distFile('deviceHost.js'),
      stepTimeoutMs: 20_000,
      checkpointIntervalMs: 0,
      validate: () => Promise.resolve([]),
      migrationRoute: (from, to) => migrationRoute(topology, from, to),
    });
    try {
      await runtime.setManifest(manifest);
      assert.deepEqual((await runtime.start()).failed, []);
      const deliveredAtLeast = (n: number) => () => (runtime.routerStats().totals.delivered >= n ? true : undefined);
      await pollUntil('100 messages delivered', deliveredAtLeast(100), { timeoutMs: 60_000 });
      const there = await runtime.migrate('receiver', 'webgpu:1');
      assert.equal(there.status, 'migrated', there.message);
      const afterFirst = runtime.routerStats().totals.delivered;
      await pollUntil('delivery goes on on webgpu:1', deliveredAtLeast(afterFirst + 100), { timeoutMs: 60_000 });
      const back = await runtime.migrate('receiver', 'webgpu:0');
      assert.equal(back.status, 'migrated', back.message);
      const afterSecond = runtime.routerStats().totals.delivered;
      await pollUntil('delivery goes on back on webgpu:0', deliveredAtLeast(afterSecond + 100), { timeoutMs: 60_000 });
      await runtime.stop();
      const stats = runtime.routerStats();
      const { received, perSource } = checkLog((await runtime.readState('receiver')).state);
      assert.equal(stats.delivery.lostWithHost, 0, 'no mailbox went with a host');
      assert.equal(
        received + stats.delivery.inMailboxes,
        stats.totals.delivered,
        'every message handed out reached the receiver on one of its devices, or came back at the stop',
      );
      for (const source of [1, 2]) {
        const seqs = perSource.get(source) ?? [];
        // Nothing skipped: the receiver got each sender's messages 0, 1, 2, ... up to its last (refusals aside).
        const refused = stats.pairs.find((p) => p.source === source && p.destination === 0)?.refused ?? 0;
        if (refused === 0)
          assert.deepEqual(
            seqs,
            seqs.map((_, i) => i),
            `sender${source}: every message once, in order, across both moves`,
          );
      }
    } finally {
      await runtime.dispose();
    }
  },
);
