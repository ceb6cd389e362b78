// Migration between two device instances of the WebGPU adapter (lavapipe here and in CI): a
// running kernel moves back and forth with its state and step count, a target host killed during
// a migration or a cancel leaves it running on its source, and `ringkernel run --migrate` ends
// with the same state as a run without it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { probeMachine } from '../../server/src/probe/machineProbe';
import { withWebGpuInstances } from '../../server/src/probe/deviceInstances';
import { MultiGpuCoordinator } from '../../server/src/coordinator/multiGpuCoordinator';
import type { Logger } from '../../server/src/logger';
import { parseManifest } from '../../server/src/manifest/manifest';
import { buildTopology } from '../../server/src/topology/buildTopology';
import { migrationRoute } from '../../server/src/migration/migrationRoute';
import { coordinatorPlacer } from '../../server/src/runtime/coordinatorPlacer';
import { KernelRuntime } from '../../server/src/runtime/kernelRuntime';
import { pollUntil } from '../support/poll';
import { distFile, repoRoot } from '../support/repo';

const quiet: Logger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

// Word 0: steps run (control.step + 1); word 1: sum of the steps' numbers + 1; the rest filled
// with the step's pattern, so a state that lost a step or came from the wrong place shows it.
const COUNTER = `
struct Control { step: u32, kernel_index: u32, inbox_count: u32, outbox_capacity: u32 }
@group(0) @binding(0) var<storage, read> control: Control;
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
@compute @workgroup_size(64)
fn step(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  if (i == 0u) {
    state[0] = control.step + 1u;
    state[1] = state[1] + control.step + 1u;
  } else if (i >= 2u && i < arrayLength(&state)) {
    state[i] = state[i] * 1664525u + 1013904223u + i;
  }
}
`;

const execFileAsync = promisify(execFile);
let webgpuAvailable: Promise<string | undefined> | undefined;

async function harness(): Promise<{
  runtime: KernelRuntime;
  coordinator: MultiGpuCoordinator;
  dispose(): Promise<void>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'ringkernel-migrate-'));
  writeFileSync(join(dir, 'counter.wgsl'), COUNTER);
  const text = JSON.stringify({
    version: 1,
    kernels: [
      {
        id: 'counter',
        source: 'counter.wgsl',
        entryPoint: 'step',
        backend: 'webgpu',
        device: 0,
        stateBytes: 1 << 20,
        grid: [4096, 1, 1],
        rateHz: 0,
      },
    ],
  });
  writeFileSync(join(dir, 'ringkernel.json'), text);
  const manifest = parseManifest(text, join(dir, 'ringkernel.json'));
  const probe = withWebGpuInstances(await probeMachine({}), 2);
  const coordinator = new MultiGpuCoordinator();
  coordinator.syncDevices(probe.reports);
  const topology = buildTopology(probe.topology);
  coordinator.setTopology(topology);
  const runtime = new KernelRuntime({
    log: quiet,
    placer: coordinatorPlacer(coordinator),
    hostScript: distFile('deviceHost.js'),
    checkpointIntervalMs: 0,
    validate: () => Promise.resolve([]),
    migrationRoute: (from, to) => migrationRoute(topology, from, to),
  });
  await runtime.setManifest(manifest);
  const started = await runtime.start();
  assert.deepEqual(started.failed, []);
  return { runtime, coordinator, dispose: () => runtime.dispose() };
}

/** Reads the counters; word 1 is the sum 1 + 2 + ... + steps, so any lost or repeated step shows. */
async function checkedState(runtime: KernelRuntime): Promise<{ step: number; sha256: string }> {
  const snapshot = await runtime.readState('counter');
  const words = new Uint32Array(snapshot.state.buffer, snapshot.state.byteOffset, 2);
  const steps = words[0] ?? 0;
  assert.equal(steps, snapshot.step, 'word 0 counts every step');
  assert.equal(words[1], ((steps * (steps + 1)) / 2) >>> 0, 'word 1 sums every step exactly once');
  return { step: snapshot.step, sha256: snapshot.sha256 };
}

function skipReason(): Promise<string | undefined> {
  webgpuAvailable ??= probeMachine({}).then((probe) => {
    const report = probe.reports.find((r) => r.backend === 'webgpu');
    return report?.available ? undefined : `WebGPU is unavailable: ${report?.reason ?? 'not probed'}`;
  });
  return webgpuAvailable;
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
    assert.equal(there.route, 'samePhysicalGpu');
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
