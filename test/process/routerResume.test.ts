// A restarted server loses and repeats no K2K message: two WGSL kernels in their own device hosts
// send each other numbered messages at their own rates, checkpointed to files at their own
// times; the runtime goes away mid-flow (killed: its hosts die, only the periodic files remain;
// or shut down: every kernel stops and leaves a file), a new runtime resumes each kernel from its
// newest file with the router seeded from the files' PEND chunks, and each kernel's log must hold
// every message of the other exactly once, in order.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readCheckpointFile } from '../../server/src/checkpoint/checkpointDecoder';
import type { Logger } from '../../server/src/logger';
import { parseManifest, type Manifest } from '../../server/src/manifest/manifest';
import { MultiGpuCoordinator } from '../../server/src/coordinator/multiGpuCoordinator';
import { probeBackends } from '../../server/src/probe/machineProbe';
import { coordinatorPlacer } from '../../server/src/runtime/coordinatorPlacer';
import { KernelRuntime } from '../../server/src/runtime/kernelRuntime';
import { WGSL_ABI } from '../support/kernelSources';
import { pollUntil } from '../support/poll';
import { distFile, repoRoot } from '../support/repo';

const TOTAL = 400;
const BURST = 2;

// Each step: log the inbox (state[1] counts, state[2 + i] is the payload), then send up to BURST
// messages to the other kernel numbered by state[0], until TOTAL are sent.
const PEER = `${WGSL_ABI}
@compute @workgroup_size(1)
fn main() {
  for (var i = 0u; i < control.inbox_count; i = i + 1u) {
    let n = state[1];
    state[1] = n + 1u;
    if (n < ${TOTAL}u) { state[2u + n] = inbox[i].payload[0]; }
  }
  for (var k = 0u; k < ${BURST}u; k = k + 1u) {
    let seq = state[0];
    if (seq >= ${TOTAL}u) { break; }
    let slot = atomicAdd(&outbox.count, 1u);
    if (slot >= control.outbox_capacity) { break; }
    state[0] = seq + 1u;
    outbox.slots[slot].destination = 1u - control.kernel_index;
    outbox.slots[slot].kind = 3u;
    outbox.slots[slot].length = 4u;
    outbox.slots[slot].payload[0] = seq;
  }
}`;

const warnings: string[] = [];
const log: Logger = {
  error: (m) => warnings.push(m),
  warn: (m) => warnings.push(m),
  info: () => undefined,
  debug: () => undefined,
};

function workspace(prefix: string): { manifest: Manifest; folder: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(join(dir, 'peer.wgsl'), PEER);
  const text = JSON.stringify({
    version: 1,
    kernels: ['left', 'right'].map((id, i) => ({
      id,
      source: 'peer.wgsl',
      entryPoint: 'main',
      backend: 'webgpu',
      stateBytes: 4 * (2 + TOTAL),
      inboxCapacity: 3,
      outboxCapacity: BURST,
      // Different rates: the two kernels' checkpoints fall at different steps and times.
      rateHz: i === 0 ? 120 : 70,
    })),
  });
  const path = join(dir, 'ringkernel.json');
  writeFileSync(path, text);
  const manifest = parseManifest(text, path);
  assert.deepEqual(
    manifest.problems.filter((p) => p.severity === 'error'),
    [],
  );
  return { manifest, folder: join(dir, 'checkpoints') };
}

async function newRuntime(manifest: Manifest, folder: string): Promise<KernelRuntime> {
  const coordinator = new MultiGpuCoordinator();
  coordinator.syncDevices(await probeBackends({}));
  const runtime = new KernelRuntime({
    log,
    placer: coordinatorPlacer(coordinator),
    hostScript: distFile('deviceHost.js'),
    stepTimeoutMs: 20_000,
    checkpointIntervalMs: 150,
    validate: () => Promise.resolve([]),
  });
  runtime.useCheckpointFolder(folder);
  await runtime.setManifest(manifest);
  assert.deepEqual((await runtime.start()).failed, []);
  return runtime;
}

async function logOf(runtime: KernelRuntime, id: string): Promise<{ sent: number; received: number[] }> {
  const words = new Uint32Array((await runtime.readState(id)).state.slice().buffer);
  const count = Math.min(words[1] ?? 0, TOTAL);
  return { sent: words[0] ?? 0, received: Array.from(words.subarray(2, 2 + count)) };
}

async function restartMidFlow(prefix: string, end: (runtime: KernelRuntime) => Promise<void>): Promise<void> {
  warnings.length = 0;
  const { manifest, folder } = workspace(prefix);
  const startedAt = Date.now();
  const first = await newRuntime(manifest, folder);
  try {
    await pollUntil(
      'a third of the messages delivered, with checkpoint files written',
      () => (first.routerStats().totals.delivered >= (2 * TOTAL) / 3 ? true : undefined),
      { timeoutMs: 60_000 },
    );
  } finally {
    await end(first);
  }
  const files = readdirSync(folder).filter((name) => name.endsWith('.rkcp'));
  assert.ok(files.length >= 2, `both kernels left files: ${files.join(', ')}`);
  const withPending = await Promise.all(files.map((name) => readCheckpointFile(join(folder, name))));
  assert.ok(
    withPending.some((record) => (record.pendingMessages?.messages.length ?? 0) > 0),
    'some file carried messages the router held',
  );
  // Every file has its kernel's clock (the HLC chunk): its node is the kernel, its time this run's.
  for (const record of withPending) {
    const { hlc, control, checkpoint } = record;
    assert.ok(hlc, `${checkpoint.kernelId}'s file at step ${checkpoint.step} has the kernel's clock`);
    assert.equal(hlc.nodeId, control.kernelIndex);
    const ms = hlc.physicalMicros / 1000;
    assert.ok(
      ms >= startedAt - 1000 && ms <= Date.now() + 1000,
      `its time is this run's (${new Date(ms).toISOString()})`,
    );
  }

  const second = await newRuntime(manifest, folder);
  try {
    const expected = Array.from({ length: TOTAL }, (_, i) => i);
    for (const id of ['left', 'right']) {
      const got = await pollUntil(
        `${id} to receive all ${TOTAL} messages after the restart`,
        async () => {
          const log = await logOf(second, id);
          return log.received.length >= TOTAL ? log : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 100 },
      );
      assert.deepEqual(got.received, expected, `${id}: every message of the other kernel once, in order`);
    }
    // Nothing more arrives later (a duplicate would be past TOTAL in the count).
    await second.stop();
    for (const id of ['left', 'right']) {
      const words = new Uint32Array((await second.readState(id)).state.slice().buffer);
      assert.equal(words[1], TOTAL, `${id} received exactly ${TOTAL} messages`);
    }
    const stats = second.routerStats();
    assert.equal(stats.totals.failed, 0, JSON.stringify(stats.failures));
    assert.equal(stats.totals.refused, 0);
    assert.deepEqual(
      warnings.filter((w) => w.includes('router')),
      [],
    );
  } finally {
    await second.dispose();
  }
}

test(
  'killed mid-flow: a new runtime resumes both kernels from their periodic files and every message arrives exactly once, in order',
  { timeout: 300_000 },
  () => restartMidFlow('ringkernel-k2k-kill-', (runtime) => runtime.dispose()),
);

test(
  'shut down mid-flow: every kernel stops with the router’s messages in its file; the next runtime delivers each exactly once, in order',
  { timeout: 300_000 },
  () => restartMidFlow('ringkernel-k2k-shutdown-', (runtime) => runtime.shutdown()),
);

test('ringkernel run --checkpoint-dir: the ring token pending at the end of a run is delivered by the next; 31 + 29 steps end as 60 do', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'ringkernel-k2k-cli-'));
  interface RunJson {
    kernels: { id: string; step: number; sha256: string }[];
    router: { totals: { pending: number; delivered: number }; lost: number; restored: number };
  }
  const run = async (...args: string[]): Promise<RunJson> => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      join(repoRoot, 'bin', 'ringkernel'),
      'run',
      join(repoRoot, 'examples', 'ring', 'ringkernel.json'),
      '--json',
      ...args,
    ]);
    return JSON.parse(stdout) as RunJson;
  };
  const first = await run('--steps', '31', '--checkpoint-dir', folder);
  assert.equal(first.router.totals.pending, 1, 'the token was on its way when the run ended');
  const second = await run('--steps', '29', '--checkpoint-dir', folder);
  assert.equal(second.router.restored, 1, 'the next run got it from the files');
  assert.equal(second.router.lost, 0);
  const whole = await run('--steps', '60');
  assert.deepEqual(
    second.kernels.map((k) => [k.id, k.step, k.sha256]),
    whole.kernels.map((k) => [k.id, k.step, k.sha256]),
    'the same digests as one run of 60 steps',
  );
  assert.equal(first.router.totals.delivered + second.router.totals.delivered, whole.router.totals.delivered);
});
