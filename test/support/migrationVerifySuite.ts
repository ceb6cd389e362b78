// Migration's verify catches a corrupted chunk: every target device host here flips one byte of the
// state it imports right after writing the chunk that holds it (the test hook
// RINGKERNEL_TEST_CORRUPT_IMPORT, read by hosts/child/stateTransfer.ts). The target verifies on its
// device (the WebGPU digest kernel, after the last write: test/process/migrationVerify.test.ts) or,
// with RINGKERNEL_TEST_CPU_VERIFY=1, by reading back and hashing beside the import
// (migrationVerifyCpu.test.ts). The migration fails in 'verifying', names the block that differs
// (64 KiB on the device, 2 MiB on the CPU), and the kernel keeps running on its source with its
// state intact; with verify off the same move succeeds with the flipped byte on the target, so the
// failure was the check's doing.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { MultiGpuCoordinator } from '../../server/src/coordinator/multiGpuCoordinator';
import { CORRUPT_IMPORT_ENV, CPU_VERIFY_ENV } from '../../server/src/hosts/child/stateTransfer';
import { DIGEST_BLOCK_BYTES, GPU_DIGEST_BLOCK_BYTES } from '../../server/src/hosts/stateDigests';
import type { Logger } from '../../server/src/logger';
import { parseManifest } from '../../server/src/manifest/manifest';
import { migrationRoute } from '../../server/src/migration/migrationRoute';
import { withWebGpuInstances } from '../../server/src/probe/deviceInstances';
import { probeMachine } from '../../server/src/probe/machineProbe';
import { coordinatorPlacer } from '../../server/src/runtime/coordinatorPlacer';
import { KernelRuntime } from '../../server/src/runtime/kernelRuntime';
import { buildTopology } from '../../server/src/topology/buildTopology';
import { COUNTER_WGSL } from './faultHarness';
import { pollUntil } from './poll';
import { distFile } from './repo';

const quiet: Logger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

const STATE_BYTES = 8 * 1024 * 1024;
/** In 2 MiB block 2 of 4 (64 KiB block 64), beyond what the kernel writes. */
const CORRUPT_AT = 2 * DIGEST_BLOCK_BYTES + 4099;

/** The suite, with the target's verify on its device (`cpu` false) or forced onto the CPU. */
export function migrationVerifySuite(cpu: boolean): void {
  let runtime: KernelRuntime | undefined;
  let coordinator: MultiGpuCoordinator | undefined;
  let skip: string | undefined;
  const blockBytes = cpu ? DIGEST_BLOCK_BYTES : GPU_DIGEST_BLOCK_BYTES;
  const block = Math.floor(CORRUPT_AT / blockBytes);

  before(async () => {
    const probe = withWebGpuInstances(await probeMachine({}), 2);
    const webgpu = probe.reports.find((r) => r.backend === 'webgpu');
    if (!webgpu?.available) {
      skip = `WebGPU is unavailable: ${webgpu?.reason ?? 'not probed'}`;
      return;
    }
    // Before any device host starts: the hosts inherit it.
    process.env[CORRUPT_IMPORT_ENV] = String(CORRUPT_AT);
    if (cpu) process.env[CPU_VERIFY_ENV] = '1';
    const dir = mkdtempSync(join(tmpdir(), 'ringkernel-migrate-verify-'));
    // The counter (words 0 and 1 count the steps): its threads reach the first 1 MiB only, so the
    // rest of the 8 MiB state stays zero and the flipped byte is known.
    writeFileSync(join(dir, 'counter.wgsl'), COUNTER_WGSL);
    const text = JSON.stringify({
      version: 1,
      kernels: [
        {
          id: 'counter',
          source: 'counter.wgsl',
          entryPoint: 'step',
          backend: 'webgpu',
          device: 0,
          stateBytes: STATE_BYTES,
          grid: [4096, 1, 1],
          rateHz: 0,
        },
      ],
    });
    writeFileSync(join(dir, 'ringkernel.json'), text);
    coordinator = new MultiGpuCoordinator();
    coordinator.syncDevices(probe.reports);
    const topology = buildTopology(probe.topology);
    coordinator.setTopology(topology);
    runtime = new KernelRuntime({
      log: quiet,
      placer: coordinatorPlacer(coordinator),
      hostScript: distFile('deviceHost.js'),
      checkpointIntervalMs: 0,
      validate: () => Promise.resolve([]),
      migrationRoute: (from, to) => migrationRoute(topology, from, to),
    });
    await runtime.setManifest(parseManifest(text, join(dir, 'ringkernel.json')));
    const started = await runtime.start();
    assert.deepEqual(started.failed, []);
  });

  after(async () => {
    delete process.env[CORRUPT_IMPORT_ENV];
    delete process.env[CPU_VERIFY_ENV];
    await runtime?.dispose();
  });

  /** The state now, checked: every step counted once, and the byte the hook flips on imports. */
  async function counted(r: KernelRuntime): Promise<{ step: number; corruptByte: number }> {
    const snapshot = await r.readState('counter');
    const words = new Uint32Array(snapshot.state.buffer, snapshot.state.byteOffset, 2);
    const steps = words[0] ?? 0;
    assert.equal(steps, snapshot.step, 'word 0 counts every step');
    assert.equal(words[1], ((steps * (steps + 1)) / 2) >>> 0, 'word 1 sums every step exactly once');
    return { step: snapshot.step, corruptByte: snapshot.state[CORRUPT_AT] ?? -1 };
  }

  test(`a chunk corrupted on the target is caught by the verify (${cpu ? 'read back beside the import' : 'on the device'}); the kernel stays on its source, nothing lost`, async (t) => {
    if (skip) return t.skip(skip);
    const r = runtime;
    assert.ok(r && coordinator);
    await pollUntil('5 steps', async () => ((await counted(r)).step >= 5 ? true : undefined));
    const report = await r.migrate('counter', 'webgpu:1');
    assert.equal(report.status, 'failed', report.message);
    assert.equal(report.failedPhase, 'verifying');
    assert.equal(report.verified, false);
    const bytes = `bytes ${block * blockBytes}-${(block + 1) * blockBytes - 1} \\(block ${block}\\)`;
    assert.match(report.message, new RegExp(`differs from the checkpoint taken on webgpu:0.* in ${bytes}`));
    assert.match(report.message, /keeps running on webgpu:0/);
    assert.equal(r.views()[0]?.device, 'webgpu:0');
    assert.equal(coordinator.kernelDevice('counter'), 'webgpu:0');
    const paused = report.step ?? 0;
    const resumed = await pollUntil('steps on the source again', async () => {
      const state = await counted(r);
      return state.step > paused + 5 ? state : undefined;
    });
    assert.equal(resumed.corruptByte, 0, "the source's state is untouched");
    assert.equal(r.views()[0]?.state, 'running');
  });

  test('the same corruption with verify off moves the kernel, flipped byte and all: the check above is what caught it', async (t) => {
    if (skip) return t.skip(skip);
    const r = runtime;
    assert.ok(r);
    const report = await r.migrate('counter', 'webgpu:1', { verify: false });
    assert.equal(report.status, 'migrated', report.message);
    assert.equal(report.verified, false);
    assert.match(report.message, /state not verified/);
    const moved = await pollUntil('steps on webgpu:1', async () => {
      const state = await counted(r);
      return state.step > (report.step ?? 0) + 2 ? state : undefined;
    });
    assert.equal(moved.corruptByte, 0xff, 'the hook flipped the byte on the target');
  });
}
