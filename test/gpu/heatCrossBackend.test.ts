// The example heat kernel (examples/ringkernel.json: heat.wgsl with its CUDA twin heat.ptx in
// "sources") moves WebGPU -> CUDA -> WebGPU while it runs, on a machine with an NVIDIA GPU
// (RINGKERNEL_TEST_GPU=1). At each move the state's bytes arrive unchanged (the target's state read
// back has the checkpoint's SHA-256), and the rod's integer counters, which both backends keep the
// same way, show every step ran exactly once on one backend or the other.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { Logger } from '../../server/src/logger';
import { loadManifest } from '../../server/src/manifest/manifest';
import { MultiGpuCoordinator } from '../../server/src/coordinator/multiGpuCoordinator';
import { migrationRoute } from '../../server/src/migration/migrationRoute';
import { probeMachine } from '../../server/src/probe/machineProbe';
import { buildTopology } from '../../server/src/topology/buildTopology';
import { coordinatorPlacer } from '../../server/src/runtime/coordinatorPlacer';
import { KernelRuntime } from '../../server/src/runtime/kernelRuntime';
import { pollUntil } from '../support/poll';
import { distFile, repoRoot } from '../support/repo';

const skip =
  process.env.RINGKERNEL_TEST_GPU === '1'
    ? false
    : 'needs an NVIDIA GPU: set RINGKERNEL_TEST_GPU=1 on a machine with one';
const quiet: Logger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };
const EXAMPLE = join(repoRoot, 'examples', 'ringkernel.json');

/** The rod's header: steps run and heat added (one unit a step), both counted by the kernel itself. */
async function rodHeader(
  runtime: KernelRuntime,
): Promise<{ step: number; steps: number; heatAdded: number; sha256: string }> {
  const snapshot = await runtime.readState('heat');
  const words = new Uint32Array(snapshot.state.buffer, snapshot.state.byteOffset, 2);
  return { step: snapshot.step, steps: words[0] ?? NaN, heatAdded: words[1] ?? NaN, sha256: snapshot.sha256 };
}

test(
  'heat moves webgpu:0 -> cuda:0 -> webgpu:0 while it runs; the state arrives intact at each move and every step runs once',
  { skip, timeout: 240_000 },
  async () => {
    const manifest = loadManifest(EXAMPLE);
    assert.deepEqual(
      manifest.problems.filter((p) => p.severity === 'error'),
      [],
    );
    assert.ok(
      manifest.kernels.find((k) => k.id === 'heat')?.sources?.cuda?.endsWith('heat.ptx'),
      'the example heat kernel has its CUDA twin',
    );
    const probe = await probeMachine({});
    const coordinator = new MultiGpuCoordinator();
    coordinator.syncDevices(probe.reports);
    const topology = buildTopology(probe.topology);
    coordinator.setTopology(topology);
    const runtime = new KernelRuntime({
      log: quiet,
      placer: coordinatorPlacer(coordinator),
      hostScript: distFile('deviceHost.js'),
      checkpointIntervalMs: 0,
      stepTimeoutMs: 20_000,
      validate: () => Promise.resolve([]),
      migrationRoute: (from, to) => migrationRoute(topology, from, to),
    });
    try {
      await runtime.setManifest(manifest);
      const started = await runtime.start();
      assert.deepEqual(
        started.failed.filter((f) => f.id === 'heat').map((f) => f.message),
        [],
      );
      let last = 0;
      for (const to of ['cuda:0', 'webgpu:0']) {
        await pollUntil(
          `heat stepping past ${last + 10}`,
          async () => ((await rodHeader(runtime)).step > last + 10 ? true : undefined),
          { timeoutMs: 60_000, intervalMs: 50 },
        );
        const report = await runtime.migrate('heat', to);
        assert.equal(report.status, 'migrated', report.message);
        assert.equal(report.to, to);
        assert.equal(
          report.verified,
          true,
          `the state read back on ${to} has the checkpoint's SHA-256 (${report.sha256 ?? 'none'})`,
        );
        assert.equal(report.bytes, 4194304);
        // The target digests what it imported on its device (CUDA's digest kernel; WebGPU's in WGSL).
        assert.equal(report.verifiedOn, 'gpu', `${to} verified the staged import on its device`);
        assert.equal(runtime.views().find((v) => v.id === 'heat')?.device, to);
        // It steps on the other backend, carrying on from the step it left at.
        const moved = report.step ?? NaN;
        await pollUntil(
          `heat stepping on ${to}`,
          async () => ((await rodHeader(runtime)).step > moved + 5 ? true : undefined),
          { timeoutMs: 60_000, intervalMs: 50 },
        );
        const header = await rodHeader(runtime);
        assert.deepEqual(
          [header.steps, header.heatAdded],
          [header.step, header.step],
          `on ${to}: the rod counted each of its ${header.step} steps once`,
        );
        last = header.step;
      }
    } finally {
      await runtime.dispose();
    }
  },
);

test(
  'ringkernel run --migrate heat=cuda:0@20 --migrate heat=webgpu:0@40: both moves verified, 60 steps counted once',
  { skip, timeout: 180_000 },
  async () => {
    const exec = promisify(execFile);
    const { stdout } = await exec(
      process.execPath,
      [
        join(repoRoot, 'bin', 'ringkernel.js'),
        'run',
        EXAMPLE,
        '--steps',
        '60',
        '--json',
        '--migrate',
        'heat=cuda:0@20',
        '--migrate',
        'heat=webgpu:0@40',
      ],
      { timeout: 170_000 },
    );
    const result = JSON.parse(stdout) as {
      kernels: {
        id: string;
        step: number;
        device?: string;
        sha256?: string;
        migrations?: { from: string; to: string; step: number; status: string; verified: boolean }[];
      }[];
    };
    const heat = result.kernels.find((k) => k.id === 'heat');
    assert.deepEqual(
      heat?.migrations?.map((m) => [m.from, m.to, m.step, m.status, m.verified]),
      [
        ['webgpu:0', 'cuda:0', 20, 'migrated', true],
        ['cuda:0', 'webgpu:0', 40, 'migrated', true],
      ],
    );
    assert.deepEqual([heat?.step, heat?.device], [60, 'webgpu:0']);
    assert.match(heat?.sha256 ?? '', /^[0-9a-f]{64}$/);
  },
);
