// Start-up of a free-running ring (issue 14): the runtime registers every kernel of the manifest
// with the router before the first one starts, so a message the first kernel sends at step 0 to a
// kernel listed after it (still starting, in a device host of its own) waits for it instead of
// failing as an unknown destination; a kernel that then fails to start turns what waited for it
// into counted failures (destinationNotStarted). Real kernels in real device hosts (lavapipe here).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Logger } from '../../server/src/logger';
import { parseManifest, type Manifest } from '../../server/src/manifest/manifest';
import { MultiGpuCoordinator } from '../../server/src/coordinator/multiGpuCoordinator';
import { probeBackends } from '../../server/src/probe/machineProbe';
import { coordinatorPlacer } from '../../server/src/runtime/coordinatorPlacer';
import { KernelRuntime } from '../../server/src/runtime/kernelRuntime';
import { WGSL_ABI } from '../support/kernelSources';
import { pollUntil } from '../support/poll';
import { distFile } from '../support/repo';

const quiet: Logger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };
const LOG_ENTRIES = 2000;

// Every step, from step 0, one message to kernel 1 numbered by its own counter (state[0]).
const FIRST = `${WGSL_ABI}
@compute @workgroup_size(1)
fn main() {
  let seq = state[0];
  state[0] = seq + 1u;
  let slot = atomicAdd(&outbox.count, 1u);
  if (slot >= control.outbox_capacity) { return; }
  outbox.slots[slot].destination = 1u;
  outbox.slots[slot].kind = 3u;
  outbox.slots[slot].length = 4u;
  outbox.slots[slot].payload[0] = seq;
}`;

// Logs the numbers it receives, in inbox order: state[0] counts them, state[1 + i] is the i-th.
const SECOND = `${WGSL_ABI}
@compute @workgroup_size(1)
fn main() {
  for (var i = 0u; i < control.inbox_count; i = i + 1u) {
    let n = state[0];
    state[0] = n + 1u;
    if (n < ${LOG_ENTRIES}u) { state[1u + n] = inbox[i].payload[0]; }
  }
}`;

function writeManifest(second: string): Manifest {
  const dir = mkdtempSync(join(tmpdir(), 'ringkernel-k2k-start-'));
  writeFileSync(join(dir, 'first.wgsl'), FIRST);
  writeFileSync(join(dir, 'second.wgsl'), second);
  const common = { entryPoint: 'main', backend: 'webgpu', grid: [1, 1, 1], outboxCapacity: 4 };
  const text = JSON.stringify({
    version: 1,
    kernels: [
      // 50 steps a second: the pending queue (1024) holds what it sends while the second starts.
      { ...common, id: 'first', source: 'first.wgsl', stateBytes: 4, inboxCapacity: 0, rateHz: 50 },
      {
        ...common,
        id: 'second',
        source: 'second.wgsl',
        stateBytes: 4 * (1 + LOG_ENTRIES),
        inboxCapacity: 4,
        rateHz: 0,
      },
    ],
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

async function newRuntime(): Promise<KernelRuntime> {
  const coordinator = new MultiGpuCoordinator();
  coordinator.syncDevices(await probeBackends({}));
  return new KernelRuntime({
    log: quiet,
    placer: coordinatorPlacer(coordinator),
    hostScript: distFile('deviceHost.js'),
    stepTimeoutMs: 20_000,
    checkpointIntervalMs: 0,
    validate: () => Promise.resolve([]),
  });
}

const sentBy = async (runtime: KernelRuntime): Promise<number> =>
  new Uint32Array((await runtime.readState('first')).state.buffer)[0] ?? 0;

test(
  'a ring whose first kernel sends from step 0 to a kernel listed after it loses nothing while that one starts',
  { timeout: 180_000 },
  async () => {
    const runtime = await newRuntime();
    try {
      await runtime.setManifest(writeManifest(SECOND));
      assert.deepEqual((await runtime.start()).failed, []);
      // Consumed by the receiver, not only handed to its host: up to 4 inboxes may wait in its
      // mailbox, and the stop takes those back.
      await pollUntil(
        '100 messages logged by the receiver',
        async () =>
          (new Uint32Array((await runtime.readState('second')).state.buffer)[0] ?? 0) >= 100 ? true : undefined,
        { timeoutMs: 60_000 },
      );
      await runtime.stop();
      const stats = runtime.routerStats();
      const sent = await sentBy(runtime);
      assert.equal(stats.failures.unknownDestination, 0, 'no message found its receiver unregistered');
      assert.equal(stats.totals.refused, 0);
      const words = new Uint32Array((await runtime.readState('second')).state.buffer);
      const received = words[0] ?? 0;
      assert.ok(received >= 100 && received <= LOG_ENTRIES, `${received} messages logged`);
      // The step-0 message first, then every number once, in order.
      assert.deepEqual(
        Array.from(words.subarray(1, 1 + received)),
        Array.from({ length: received }, (_, i) => i),
      );
      // The rest was handed out and came back from the mailbox at the stop, waits, or failed after the receiver stopped.
      const pair = stats.pairs.find((p) => p.source === 0 && p.destination === 1);
      assert.ok(pair);
      assert.equal(received + stats.delivery.inMailboxes, pair.messages);
      assert.equal(pair.messages + pair.pending + pair.failed, sent, 'every message sent is accounted for');
    } finally {
      await runtime.dispose();
    }
  },
);

test(
  'a kernel that fails to start turns the messages that waited for it into counted failures (destinationNotStarted)',
  { timeout: 180_000 },
  async () => {
    const runtime = await newRuntime();
    try {
      await runtime.setManifest(
        writeManifest(`${WGSL_ABI}\n@compute @workgroup_size(1)\nfn main() { let x: u32 = ; }`),
      );
      const started = await runtime.start();
      assert.deepEqual(started.started, ['first']);
      assert.deepEqual(
        started.failed.map((f) => f.id),
        ['second'],
      );
      // The first kernel's start waited for its first step, whose message was in before the second's start failed.
      assert.ok(runtime.routerStats().failures.destinationNotStarted >= 1, 'the step-0 message waited, then failed');
      await pollUntil('20 messages sent', async () => ((await sentBy(runtime)) >= 20 ? true : undefined), {
        timeoutMs: 60_000,
      });
      await runtime.stop();
      const stats = runtime.routerStats();
      const sent = await sentBy(runtime);
      // Before the failure they waited (destinationNotStarted); after it, kernel 1 names no kernel.
      assert.equal(stats.failures.destinationNotStarted + stats.failures.unknownDestination, sent);
      assert.equal(stats.totals.failed, sent);
      assert.equal(stats.totals.pending, 0);
      assert.equal(stats.totals.delivered, 0);
    } finally {
      await runtime.dispose();
    }
  },
);
