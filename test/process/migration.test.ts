// Migration between two device instances of the WebGPU adapter (lavapipe here and in CI): a
// running kernel moves back and forth with its state and step count, a target host killed during
// a migration or a cancel leaves it running on its source, and `ringkernel run --migrate` ends
// with the same state as a run without it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { MultiGpuCoordinator } from '../../server/src/coordinator/multiGpuCoordinator';
import type { KernelRuntime } from '../../server/src/runtime/kernelRuntime';
import {
  checkedCounter as checkedState,
  counterWorkspace,
  runtimeOnInstances,
  webgpuSkipReason as skipReason,
} from '../support/faultRuntime';
import { pollUntil } from '../support/poll';
import { repoRoot } from '../support/repo';

const execFileAsync = promisify(execFile);

/** The counter (faultHarness.ts: its words show a lost or repeated step) on webgpu:0 of two instances, 1 MiB of state, started. */
async function harness(): Promise<{
  runtime: KernelRuntime;
  coordinator: MultiGpuCoordinator;
  dispose(): Promise<void>;
}> {
  const workspace = counterWorkspace({ devices: [0], stateBytes: 1 << 20, rateHz: 0 });
  const { runtime, coordinator } = await runtimeOnInstances(workspace.manifest, 2, { checkpointIntervalMs: 0 });
  const started = await runtime.start();
  assert.deepEqual(started.failed, []);
  return {
    runtime,
    coordinator,
    dispose: async () => {
      await runtime.dispose();
      rmSync(workspace.dir, { recursive: true, force: true });
    },
  };
}

test('a running kernel moves webgpu:0 -> webgpu:1 -> webgpu:0 with its state and steps, verified', async (t) => {
  const skip = await skipReason();
  if (skip) return t.skip(skip);
  const h = await harness();
  try {
    await pollUntil('10 steps', async () => ((await checkedState(h.runtime)).step >= 10 ? true : undefined));
    const there = await h.runtime.migrate('counter', 'webgpu:1');
    assert.equal(there.status, 'migrated', there.message);
    assert.equal(there.verified, true);
    assert.equal(there.verifiedOn, 'gpu', 'the WebGPU target digested its state on its device, nothing read back');
    assert.equal(there.route, 'samePhysicalGpu');
    // Two hosts, pipelined: the target's import says how long it waited for the source's chunks.
    const { importWaitMs, firstChunkMs } = there;
    assert.ok(importWaitMs !== undefined && firstChunkMs !== undefined, 'the import timed its waits');
    assert.ok(
      importWaitMs >= 0 && importWaitMs <= there.transferMs,
      `waited ${importWaitMs} of ${there.transferMs} ms`,
    );
    assert.ok(firstChunkMs >= 0 && firstChunkMs <= there.transferMs, `first chunk at ${firstChunkMs} ms`);
    assert.equal(h.runtime.views()[0]?.device, 'webgpu:1', 'the view says where it runs');
    assert.equal(h.coordinator.kernelDevice('counter'), 'webgpu:1', 'the coordinator record followed');
    const afterFirst = await pollUntil('steps on webgpu:1', async () => {
      const state = await checkedState(h.runtime);
      return state.step > (there.step ?? 0) + 5 ? state : undefined;
    });
    const back = await h.runtime.migrate('counter', 'webgpu:0');
    assert.equal(back.status, 'migrated', back.message);
    assert.ok((back.step ?? 0) >= afterFirst.step, 'the step count carried on');
    assert.equal(h.coordinator.kernelDevice('counter'), 'webgpu:0');
    await pollUntil('steps on webgpu:0 again', async () =>
      (await checkedState(h.runtime)).step > (back.step ?? 0) + 5 ? true : undefined,
    );
    assert.equal(h.runtime.migrator.stats.snapshot().successful, 2);
    // The Migrate picker's "last move here" comes from these two moves, one per direction.
    const lastThere = h.runtime.migrator.stats.lastMove('webgpu:0', 'webgpu:1');
    assert.deepEqual(lastThere && [lastThere.kernelId, lastThere.bytes, lastThere.at], [
      'counter',
      there.bytes,
      there.at,
    ]);
    assert.equal(h.runtime.migrator.stats.lastMove('webgpu:1', 'webgpu:0')?.pausedMs, back.pausedMs);
  } finally {
    await h.dispose();
  }
});

test('the target host killed during a migration leaves the kernel running on its source', async (t) => {
  const skip = await skipReason();
  if (skip) return t.skip(skip);
  const h = await harness();
  try {
    await pollUntil('5 steps', async () => ((await checkedState(h.runtime)).step >= 5 ? true : undefined));
    const { execSync } = await import('node:child_process');
    const report = await h.runtime.migrate('counter', 'webgpu:1', {
      onPhase: (phase) => {
        if (phase !== 'transferring') return;
        // The target host is the one device host that is not the kernel's: kill it by its pid.
        const ours = h.runtime.views()[0]?.hostPid;
        const children = execSync(`pgrep -P ${process.pid}`).toString().trim().split('\n').map(Number);
        const target = children
          .filter((pid) => pid !== ours)
          .find((pid) => execSync(`ps -o args= -p ${pid}`).toString().includes('deviceHost.js webgpu 1'));
        assert.ok(target, 'the target device host runs');
        process.kill(target, 'SIGKILL');
      },
    });
    assert.equal(report.status, 'failed', report.message);
    assert.equal(report.failedPhase, 'transferring');
    assert.equal(h.runtime.migrator.stats.lastMove('webgpu:0', 'webgpu:1'), undefined, 'a failed move is no last move');
    assert.match(report.message, /keeps running on webgpu:0/);
    assert.equal(h.runtime.views()[0]?.device, 'webgpu:0');
    assert.equal(h.coordinator.kernelDevice('counter'), 'webgpu:0');
    const paused = report.step ?? 0;
    await pollUntil('steps on the source again', async () =>
      (await checkedState(h.runtime)).step > paused + 5 ? true : undefined,
    );
    assert.equal(h.runtime.views()[0]?.state, 'running');
  } finally {
    await h.dispose();
  }
});

test('a cancelled migration leaves the kernel running on its source; no state file is left', async (t) => {
  const skip = await skipReason();
  if (skip) return t.skip(skip);
  const h = await harness();
  try {
    await pollUntil('5 steps', async () => ((await checkedState(h.runtime)).step >= 5 ? true : undefined));
    const controller = new AbortController();
    const report = await h.runtime.migrate('counter', 'webgpu:1', {
      signal: controller.signal,
      onPhase: (phase) => {
        if (phase === 'checkpointing') controller.abort();
      },
    });
    assert.equal(report.status, 'cancelled', report.message);
    assert.equal(h.runtime.views()[0]?.device, 'webgpu:0');
    assert.equal(h.coordinator.kernelDevice('counter'), 'webgpu:0');
    const paused = report.step ?? 0;
    await pollUntil('steps on the source again', async () =>
      (await checkedState(h.runtime)).step > paused + 5 ? true : undefined,
    );
    assert.deepEqual(
      readdirSync('/dev/shm').filter((name) => name.startsWith(`ringkernel-bulk-${process.pid}-migrate`)),
      [],
    );
  } finally {
    await h.dispose();
  }
});

test('ringkernel run --migrate heat=webgpu:1@30 ends with the same sha256 as the run without it', async (t) => {
  const skip = await skipReason();
  if (skip) return t.skip(skip);
  const cli = join(repoRoot, 'bin', 'ringkernel');
  const manifest = join(repoRoot, 'examples', 'ringkernel.json');
  const run = async (
    extra: string[],
  ): Promise<{
    kernels: {
      id: string;
      sha256?: string;
      step: number;
      device?: string;
      migrations?: { status: string; verified: boolean; from: string; to: string }[];
    }[];
  }> => {
    const { stdout } = await execFileAsync(process.execPath, [
      cli,
      'run',
      manifest,
      '--steps',
      '60',
      '--webgpu-instances',
      '2',
      '--json',
      ...extra,
    ]).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
    return JSON.parse(stdout) as never;
  };
  const [plain, moved] = [await run([]), await run(['--migrate', 'heat=webgpu:1@30'])];
  const heat = plain.kernels.find((k) => k.id === 'heat');
  const heatMoved = moved.kernels.find((k) => k.id === 'heat');
  assert.ok(heat?.sha256, 'the plain run has a state');
  assert.equal(heatMoved?.step, 60);
  assert.equal(heatMoved?.device, 'webgpu:1');
  assert.deepEqual(
    heatMoved?.migrations?.map((m) => [m.from, m.to, m.status, m.verified]),
    [['webgpu:0', 'webgpu:1', 'migrated', true]],
  );
  assert.equal(heatMoved?.sha256, heat.sha256, 'placement never changes results');
});
