// HotReloadManager and ManagedKernel in milliseconds, on the in-memory host (test/support/
// fakeKernelHost.ts): the paths the process tests cannot reach quickly or at all. The real
// device hosts are covered by test/unit/hotReloadWebgpu.test.ts and the CUDA and GPU tiers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GpuError } from '../../server/src/backends/gpuError';
import type { KernelPlacement } from '../../server/src/hosts/deviceKernel';
import { KernelMigrator } from '../../server/src/migration/kernelMigrator';
import type { MigrationSubject } from '../../server/src/migration/migrationTypes';
import { relocationSubject } from '../../server/src/runtime/kernelRelocation';
import { FakeKernelHost } from '../support/fakeKernelHost';
import { STATE_BYTES, counterIn, fakeLocation, harness, source, startKernel } from '../support/fakeKernelHarness';
import { pollUntil } from '../support/poll';

const quickly = { timeoutMs: 2000, intervalMs: 1 };

test("a reload's phases run in order, each one visible on the kernel, and the state carries over", async () => {
  const h = harness();
  await startKernel(h, 'v1', 4);
  const before = h.host.counterOf('heat');
  const outcome = await h.manager.reload(h.kernel, source('v2'));
  assert.equal(outcome.status, 'reloaded', outcome.message);
  assert.deepEqual([outcome.fromVersion, outcome.toVersion, outcome.statePreserved], [1, 2, true]);
  assert.deepEqual(h.seen, [
    'starting: compiling',
    'starting: resuming',
    'running',
    'reloading: compiling',
    'reloading: draining',
    'reloading: checkpointing',
    'reloading: swapping',
    'reloading: resuming',
    'running',
  ]);
  // The new version's first step ran on the old state.
  assert.equal(h.host.counterOf('heat'), (before ?? NaN) + 1);
  assert.equal(h.kernel.rollbackPoint?.version, 1);
  assert.equal(h.kernel.fallback?.number, 1);
  assert.ok(h.debug.includes('kernel "heat" on webgpu:0: running → reloading: compiling'), h.debug.join('\n'));
  assert.equal(h.kernel.view().lastReload, outcome);
});

test('a save while a reload runs waits; of the saves waiting only the newest runs, the others are superseded', async () => {
  const h = harness();
  await startKernel(h);
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  h.host.intercept('stopLoop', () => held);
  const first = h.manager.reload(h.kernel, source('v2'));
  await pollUntil('the first reload to be draining', () => (h.kernel.phase === 'draining' ? true : undefined), quickly);
  // What the client sees meanwhile: "heat v1 · reloading: draining".
  assert.deepEqual(
    [h.kernel.view().state, h.kernel.view().phase, h.kernel.view().version],
    ['reloading', 'draining', 1],
  );
  assert.equal(h.manager.isReloadInProgress('heat'), true);
  const second = h.manager.reload(h.kernel, source('v3'));
  const third = h.manager.reload(h.kernel, source('v4'));
  assert.equal((await second).status, 'superseded');
  h.host.intercept('stopLoop', undefined);
  release();
  assert.deepEqual([(await first).status, (await first).toVersion], ['reloaded', 2]);
  const last = await third;
  assert.deepEqual([last.status, last.fromVersion, last.toVersion], ['reloaded', 2, 3]);
  assert.equal(h.manager.stats().superseded, 1);
  assert.equal(h.kernel.state, 'running');
});

test('a reload that loses its device host is retried once the kernel is back, and ends with the new version running', async () => {
  const h = harness({ maxRetries: 2 });
  await startKernel(h);
  await h.kernel.exclusive(() => h.kernel.checkpointAtStepBoundary());
  const saved = h.kernel.lastCheckpoint;
  h.host.intercept('stopLoop', () => {
    h.host.intercept('stopLoop', undefined);
    h.host.restart('the fake host died during the drain');
    throw new GpuError('HOST_EXITED', 'the fake host died during the drain');
  });
  const outcome = await h.manager.reload(h.kernel, source('v2'));
  assert.equal(outcome.status, 'reloaded', outcome.message);
  assert.equal(outcome.toVersion, 2);
  assert.equal(h.manager.stats().retries, 1);
  // The lost attempt left the kernel recovering; it came back on v1 from its checkpoint, then the retry swapped.
  const lost = h.seen.indexOf('recovering');
  assert.ok(lost > 0, h.seen.join(' | '));
  assert.deepEqual(h.seen.slice(lost - 1, lost + 4), [
    'reloading: draining',
    'recovering',
    'recovering: restoring',
    'recovering: resuming',
    'running',
  ]);
  assert.deepEqual(h.seen.slice(-7), [
    'running',
    'reloading: compiling',
    'reloading: draining',
    'reloading: checkpointing',
    'reloading: swapping',
    'reloading: resuming',
    'running',
  ]);
  assert.equal(
    h.host.counterOf('heat'),
    counterIn(saved?.state ?? new Uint8Array(4)) + 2,
    'v1 resumed from the checkpoint (one step), then v2 took one step',
  );
  assert.match(h.warnings.join('\n'), /reload attempt 1 lost its device host/);
});

test('a reload that keeps losing its host gives up after maxRetries, and the kernel comes back on its old version', async () => {
  const h = harness({ maxRetries: 1 });
  await startKernel(h);
  h.host.intercept('stopLoop', () => {
    h.host.restart('the fake host died again');
    throw new GpuError('HOST_EXITED', 'the fake host died again');
  });
  const outcome = await h.manager.reload(h.kernel, source('v2'));
  assert.equal(outcome.status, 'failed');
  assert.match(outcome.message, /the reload failed and v1 keeps running/);
  h.host.intercept('stopLoop', undefined);
  // The host restart's own recovery request runs after the reload and brings v1 back.
  await pollUntil(
    'v1 running again',
    () => (h.kernel.state === 'running' && h.kernel.looping ? true : undefined),
    quickly,
  );
  assert.equal(h.kernel.version.number, 1);
});

test('more than 3 failures within a minute stop the kernel with the reason, and it can still be stopped', async () => {
  const h = harness({ maxRecoveriesPerMinute: 3, probationMs: 0 });
  await startKernel(h);
  for (let failure = 1; failure <= 3; failure++) {
    h.host.restart(`the fake host died (${failure})`);
    const outcomes = await h.outcomeCount(failure);
    assert.equal(outcomes[failure - 1]?.status, 'recovered', outcomes[failure - 1]?.message);
    await pollUntil('the kernel to step again', () => (h.kernel.state === 'running' ? true : undefined), quickly);
  }
  h.host.restart('the fake host died (4)');
  const [last] = (await h.outcomeCount(4)).slice(3);
  assert.equal(last?.status, 'failed');
  assert.equal(
    last?.message,
    'heat failed 4 times within a minute (last: the fake host died (4)); it was stopped. Fix the kernel and run "RingKernel: Start Kernels".',
  );
  assert.equal(h.kernel.state, 'failed');
  assert.equal(h.kernel.view().error, last?.message);
  assert.equal(h.manager.stats().recoveries, 3);
  // A failed kernel reloads nothing, and is not brought back by a later failure either.
  const refused = await h.manager.reload(h.kernel, source('v2'));
  assert.match(refused.message, /heat is failed, not running/);
  assert.equal(await h.manager.recover(h.kernel, 'another failure', true), undefined);
  await h.kernel.exclusive(() => h.kernel.stop());
  assert.equal(h.kernel.state, 'stopped');
});

test('a new version that fails within its probation is rolled back; after its probation it comes back on its own version', async () => {
  const probationMs = 30;
  const h = harness({ probationMs, maxRecoveriesPerMinute: 10 });
  await startKernel(h);
  assert.equal((await h.manager.reload(h.kernel, source('v2'))).status, 'reloaded');
  h.host.tick(2);
  // Within probation, the new version is the culprit: back to v1 from the rollback point.
  h.host.restart('kernel "heat" did not finish a step', 'heat');
  const [rolledBack] = (await h.outcomeCount(2)).slice(1);
  assert.equal(rolledBack?.status, 'autoRolledBack', rolledBack?.message);
  assert.equal(h.kernel.version.number, 1);
  assert.equal(
    await pollUntil('the rollback to step', () => (h.kernel.state === 'running' ? h.kernel.state : undefined), quickly),
    'running',
  );
  // v3 passes its probation (polled: the clock, not a sleep, decides), then fails: it recovers as v3.
  assert.equal((await h.manager.reload(h.kernel, source('v3'))).toVersion, 3);
  await pollUntil('the probation to pass', () => (Date.now() - h.kernel.resumedAt > probationMs ? true : undefined), {
    timeoutMs: 2000,
    intervalMs: 5,
  });
  await h.kernel.exclusive(() => h.kernel.checkpointAtStepBoundary());
  const checkpointed = counterIn(h.kernel.lastCheckpoint?.state ?? new Uint8Array(4));
  h.host.restart('kernel "heat" did not finish a step', 'heat');
  const [recovered] = (await h.outcomeCount(4)).slice(3);
  assert.equal(recovered?.status, 'recovered', recovered?.message);
  assert.match(
    recovered?.message ?? '',
    /^heat v3 came back from its checkpoint at step \d+ after: kernel "heat" did not finish a step(; steps? [\d ,to]+ runs? again( \(\d+ steps\))?)?$/,
  );
  assert.equal(h.kernel.version.number, 3);
  assert.equal(h.host.counterOf('heat'), checkpointed + 1);
  assert.deepEqual(h.seen.slice(-4), ['recovering', 'recovering: restoring', 'recovering: resuming', 'running']);
});

test('a new version that faults on its first step is rolled back automatically, with the state it was given', async () => {
  const h = harness();
  await startKernel(h, 'v1', 5);
  const counter = h.host.counterOf('heat');
  const outcome = await h.manager.reload(h.kernel, source('v2 FAULT'));
  assert.equal(outcome.status, 'autoRolledBack', outcome.message);
  assert.match(
    outcome.message,
    /^heat v2 faulted .*; rolled back to v1 from its checkpoint at step \d+ \(state preserved, 64 bytes\)$/,
  );
  assert.equal(h.kernel.version.number, 1);
  assert.equal(h.kernel.state, 'running');
  assert.equal(h.host.counterOf('heat'), (counter ?? NaN) + 1);
  // v2 is never given out again: the next save is v3.
  assert.equal((await h.manager.reload(h.kernel, source('v3'))).toVersion, 3);
});

test('checkpoints reuse three buffers and never overwrite the rollback point or the last checkpoint', async () => {
  const h = harness();
  await startKernel(h);
  await h.manager.reload(h.kernel, source('v2'));
  const rollbackPoint = h.kernel.rollbackPoint;
  assert.ok(rollbackPoint);
  const rollbackBytes = new Uint8Array(rollbackPoint.state);
  const buffers = new Set<unknown>([rollbackPoint.state]);
  let previous = h.kernel.lastCheckpoint;
  for (let i = 0; i < 8; i++) {
    h.host.tick(1);
    const checkpoint = await h.kernel.exclusive(() => h.kernel.checkpointAtStepBoundary());
    assert.equal(checkpoint.stateBytes, STATE_BYTES);
    // The one just taken never lands in the previous checkpoint's memory or the rollback point's.
    assert.notEqual(checkpoint.state, previous?.state);
    assert.notEqual(checkpoint.state, rollbackPoint.state);
    assert.ok(counterIn(checkpoint.state) > counterIn(previous?.state ?? new Uint8Array(4)));
    buffers.add(checkpoint.state);
    previous = checkpoint;
  }
  assert.equal(buffers.size, 3, 'the checkpoint memory is reused: three buffers in all');
  assert.deepEqual(new Uint8Array(rollbackPoint.state), rollbackBytes);
  assert.doesNotThrow(() => rollbackPoint.verify());
  // A checkpoint outside a reload is a state of its own, with no phases.
  assert.deepEqual(h.seen.slice(-3), ['running', 'checkpointing', 'running']);
});

/** The real migrator moving `h`'s kernel between fake hosts: `target` is the host webgpu:1 gets. */
function migration(
  h: ReturnType<typeof harness>,
  target: FakeKernelHost,
): { migrator: KernelMigrator; subject: MigrationSubject; freed: FakeKernelHost[] } {
  const freed: FakeKernelHost[] = [];
  const migrator = new KernelMigrator({ records: { moved: () => undefined }, route: () => 'samePhysicalGpu' });
  const subject = relocationSubject(h.kernel, (device) => ({ ...placementOfHarness(), device }), {
    hostFor: () => target,
    adopted: () => undefined,
    done: (_id, host) => {
      freed.push(host as FakeKernelHost);
    },
    deviceName: (key) => `fake ${key}`,
    messagesFollow: () => Promise.resolve(),
  });
  return { migrator, subject, freed };
}

function placementOfHarness(): KernelPlacement {
  return { index: 0, device: 0, stateBytes: STATE_BYTES, grid: [1, 1, 1], inboxCapacity: 4, outboxCapacity: 4 };
}

test('a migration takes the kernel to another device host with its state and step, through the migrating state', async () => {
  const h = harness();
  await startKernel(h, 'v1', 6);
  const target = new FakeKernelHost();
  const counter = h.host.counterOf('heat');
  const { migrator, subject, freed } = migration(h, target);
  const report = await h.kernel.exclusive(() => migrator.migrate(subject, 'webgpu:1'));
  assert.equal(report.status, 'migrated', report.message);
  assert.equal(report.verified, true);
  assert.ok(h.seen.includes('migrating: draining'), h.seen.join(', '));
  assert.equal(h.seen.at(-1), 'running');
  assert.equal(h.kernel.host, target);
  assert.equal(h.kernel.location.key, 'webgpu:1');
  assert.equal(h.kernel.view().device, 'webgpu:1');
  assert.equal(
    target.counterOf('heat'),
    (counter ?? NaN) + 1,
    'the state moved and the kernel stepped once more on the target',
  );
  assert.equal(h.host.liveBuffers, 0, 'the source device keeps nothing of the kernel');
  assert.equal(h.host.liveLoops, 0);
  assert.deepEqual(freed, [h.host]);
  // The kernel now follows its new host: that host's restart brings it back there.
  target.restart('the target host died');
  const [recovered] = await h.outcomeCount(1);
  assert.equal(recovered?.status, 'recovered', recovered?.message);
  assert.equal(recovered?.device, 'webgpu:1');
  // The old host's restarts are no longer the kernel's business.
  h.host.restart('the source host died');
  assert.equal(h.outcomes.length, 1);
});

test('a migration that fails before the switch leaves the kernel running where it was', async () => {
  const h = harness();
  await startKernel(h);
  const target = new FakeKernelHost();
  target.intercept('importState', () => {
    throw new GpuError('OUT_OF_MEMORY', 'the target device is full');
  });
  const { migrator, subject } = migration(h, target);
  const report = await h.kernel.exclusive(() => migrator.migrate(subject, 'webgpu:1'));
  assert.equal(report.status, 'failed');
  assert.match(report.message, /the target device is full/);
  assert.deepEqual([h.kernel.state, h.kernel.location.key, h.kernel.looping], ['running', 'webgpu:0', true]);
  assert.equal(target.liveBuffers, 0);
  assert.throws(
    () =>
      h.kernel.relocate({
        host: target,
        location: fakeLocation(1),
        placement: placementOfHarness(),
        kernel: h.kernel.deviceKernel(),
      }),
    /is running, not migrating/,
  );
});
