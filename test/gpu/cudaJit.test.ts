// The CUDA JIT runs off the JavaScript thread (RINGKERNEL_TEST_GPU=1): while a large PTX module
// compiles, the same process keeps launching and waiting for kernels, and in the shared CUDA device
// host a running kernel keeps stepping in its loop. Before, cuModuleLoadDataEx ran on the JavaScript
// thread (and, even on a worker thread, holds the context lock for the whole JIT): every loop and
// heartbeat of the host stopped until the compile ended. Figures are printed, and written as JSON
// to $RINGKERNEL_GPU_RESULTS (with a .jit suffix) when set.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { GpuError } from '../../server/src/backends/gpuError';
import { isCudaError, type CudaAddon } from '../../server/src/backends/cuda/cudaAddon';
import { loadCudaAddon } from '../../server/src/backends/cuda/cudaAddonLoader';
import { DeviceHost, type LoopEvent } from '../../server/src/hosts/deviceHost';
import { DeviceKernel } from '../../server/src/hosts/deviceKernel';
import { pollUntil } from '../support/poll';
import { distFile, fixture } from '../support/repo';
import { slowPtx } from '../support/slowPtx';

const skip =
  process.env.RINGKERNEL_TEST_GPU === '1'
    ? false
    : 'needs an NVIDIA GPU: set RINGKERNEL_TEST_GPU=1 on a machine with one';
const timeout = 180_000;
/** About 0.55 s of JIT on an H100; the tests check the premise (at least 100 ms) themselves. */
const SLOW_INSTRUCTIONS = 8000;
const MIN_JIT_MS = 100;
const figures: Record<string, unknown> = {};

function record(key: string, value: unknown): void {
  figures[key] = value;
  console.log(`${key}: ${JSON.stringify(value)}`);
}

before(() => {
  // Every compile must really compile: no answers from the driver's JIT cache (the seeds differ
  // too). Set before the addon initialises the driver here, and inherited by device hosts.
  process.env.CUDA_CACHE_DISABLE = '1';
});

after(() => {
  const file = process.env.RINGKERNEL_GPU_RESULTS;
  if (file && Object.keys(figures).length > 0) writeFileSync(`${file}.jit`, `${JSON.stringify(figures, null, 2)}\n`);
});

function cuda(): CudaAddon {
  const loaded = loadCudaAddon();
  assert.ok(loaded.ok, loaded.ok ? '' : loaded.reason);
  return loaded.addon;
}

const seed = (): number => Math.floor(Math.random() * 2 ** 31);
const round = (value: number): number => Number(value.toFixed(2));

test(
  'the JavaScript thread keeps launching and waiting for kernels while a large module compiles',
  { skip, timeout },
  async () => {
    const addon = cuda();
    const { module } = await addon.moduleLoad(0, readFileSync(fixture('ptx', 'kernels.ptx'), 'utf8'));
    const spin = addon.getFunction(module, 'spin');
    const stream = addon.streamCreate(0, { nonBlocking: true });
    const step = async (): Promise<void> => {
      addon.launchKernel(spin, { grid: 1, block: 1, stream }, [{ type: 'u64', value: 1000n }]);
      await addon.streamSynchronizeAsync(stream);
    };
    for (let i = 0; i < 20; i++) await step(); // warm up

    // Steps before the compile, as the rate to compare with.
    let started = performance.now();
    let before = 0;
    while (performance.now() - started < 300) {
      await step();
      before++;
    }
    const rateBefore = before / ((performance.now() - started) / 1000);

    const ptxSeed = seed();
    let jitDone = false;
    const jit = addon.moduleLoad(0, slowPtx(SLOW_INSTRUCTIONS, ptxSeed)).finally(() => {
      jitDone = true;
    });
    started = performance.now();
    let during = 0;
    let last = started;
    let longestGapMs = 0;
    while (!jitDone) {
      await step();
      const now = performance.now();
      longestGapMs = Math.max(longestGapMs, now - last);
      last = now;
      during++;
    }
    const loaded = await jit;
    const wallMs = performance.now() - started;
    const rateDuring = during / (wallMs / 1000);
    record('inProcess', {
      seed: ptxSeed,
      instructions: SLOW_INSTRUCTIONS,
      jitMs: round(loaded.jitMs),
      wallTimeMs: round(loaded.wallTimeMs),
      stepsPerSecondBefore: Math.round(rateBefore),
      stepsPerSecondDuring: Math.round(rateDuring),
      longestGapMs: round(longestGapMs),
    });

    assert.ok(
      loaded.jitMs >= MIN_JIT_MS,
      `the JIT took only ${loaded.jitMs} ms, too short to show anything: raise SLOW_INSTRUCTIONS`,
    );
    assert.equal(addon.getFunction(loaded.module, 'slow').name, 'slow');
    // Blocked, the loop would make no step for the whole JIT; here it runs at a good part of its rate.
    assert.ok(
      rateDuring >= rateBefore * 0.25,
      `${Math.round(rateDuring)} steps/s during the JIT against ${Math.round(rateBefore)} before`,
    );
    assert.ok(
      longestGapMs < loaded.jitMs / 4,
      `one step waited ${round(longestGapMs)} ms during a JIT of ${round(loaded.jitMs)} ms`,
    );
    addon.moduleUnload(loaded.module);
    addon.moduleUnload(module);
    addon.streamDestroy(stream);
  },
);

test('a broken module compiled on the worker rejects with the JIT log', { skip, timeout }, async () => {
  const broken = slowPtx(2000, seed()).replace('fma.rn.f32', 'fmaa.rn.f32');
  await assert.rejects(cuda().moduleLoad(0, broken), (error: unknown) => {
    assert.ok(isCudaError(error), String(error));
    assert.equal(error.name, 'CUDA_ERROR_INVALID_PTX');
    assert.match(error.errorLog ?? '', /line \d+; error/);
    assert.match(error.message, /fmaa/);
    return true;
  });
});

test(
  'a CUDA kernel keeps stepping in its loop while another kernel compiles in the same device host',
  { skip, timeout },
  async () => {
    const host = new DeviceHost({
      backend: 'cuda',
      script: distFile('deviceHost.js'),
      stepTimeoutMs: 20_000,
      requestTimeoutMs: 120_000,
    });
    try {
      const abi = readFileSync(fixture('kernels', 'abi_kernels.ptx'), 'utf8');
      const kernel = await DeviceKernel.create(
        host,
        { language: 'ptx', label: 'affine', code: abi, entryPoint: 'affine' },
        {
          index: 0,
          device: 0,
          stateBytes: 1024 * 4,
          grid: [16, 1, 1],
          block: [64, 1, 1],
          inboxCapacity: 1,
          outboxCapacity: 1,
        },
      );
      const progress: Array<{ at: number; step: number }> = [];
      const failures: string[] = [];
      await kernel.startLoop(0, (event: LoopEvent) => {
        if (event.kind === 'failed') failures.push(event.error.message);
        else progress.push({ at: performance.now(), step: event.step });
      });
      // A second of stepping first: the rate to compare with.
      await pollUntil('a second of loop progress', () =>
        progress.length > 0 && performance.now() - progress[0]!.at > 1000 ? true : undefined,
      );
      const sent = performance.now();
      const ptxSeed = seed();
      const compiled = await host.compile(0, {
        language: 'ptx',
        label: 'slow',
        code: slowPtx(SLOW_INSTRUCTIONS, ptxSeed),
        entryPoint: 'slow',
      });
      const answered = performance.now();
      const compileMs = answered - sent;

      const stepAt = (time: number): { at: number; step: number } =>
        [...progress].reverse().find((p) => p.at <= time) ?? progress[0]!;
      const beforeStart = stepAt(sent - 500);
      const atSend = stepAt(sent);
      const rateBefore = (atSend.step - beforeStart.step) / ((atSend.at - beforeStart.at) / 1000);
      // Progress that left the host while the compile was surely under way (it goes out every 100 ms
      // while the loop steps, and a heartbeat with an unchanged step when it does not).
      const inside = progress.filter((p) => p.at > sent + 50 && p.at <= answered);
      const first = inside[0];
      const last = inside[inside.length - 1];
      const stepsDuring = first && last ? last.step - first.step : 0;
      const spanMs = first && last ? last.at - first.at : 0;
      const rateDuring = spanMs > 0 ? stepsDuring / (spanMs / 1000) : 0;
      record('deviceHost', {
        seed: ptxSeed,
        instructions: SLOW_INSTRUCTIONS,
        compileMs: round(compileMs),
        progressMessagesDuring: inside.length,
        stepsDuring,
        stepsPerSecondBefore: Math.round(rateBefore),
        stepsPerSecondDuring: Math.round(rateDuring),
      });

      assert.deepEqual(failures, []);
      assert.ok(
        compileMs >= MIN_JIT_MS,
        `the compile took only ${round(compileMs)} ms, too short to show anything: raise SLOW_INSTRUCTIONS`,
      );
      assert.ok(
        inside.length >= 2 && spanMs >= compileMs / 3,
        `only ${inside.length} progress messages over ${round(spanMs)} ms of a ${round(compileMs)} ms compile`,
      );
      assert.ok(
        stepsDuring > 0 && rateDuring >= rateBefore * 0.25,
        `${stepsDuring} steps (${Math.round(rateDuring)}/s) during the compile against ${Math.round(rateBefore)}/s before`,
      );

      const steps = await kernel.stopLoop();
      assert.ok(steps >= last!.step);
      await host.releaseKernel(compiled);
      await kernel.release();
    } finally {
      host.dispose();
    }
  },
);

test(
  'disposing a device host while its JIT runs fails the compile at once, and a new host compiles',
  { skip, timeout },
  async () => {
    const source = (s: number): { language: 'ptx'; label: string; code: string; entryPoint: string } => ({
      language: 'ptx',
      label: 'slow',
      code: slowPtx(SLOW_INSTRUCTIONS * 2, s),
      entryPoint: 'slow',
    });
    const host = new DeviceHost({ backend: 'cuda', script: distFile('deviceHost.js'), requestTimeoutMs: 120_000 });
    await host.devices(); // started and holding its context
    const compiling = host.compile(0, source(seed()));
    const settled = compiling.then(
      () => 'compiled',
      (error: unknown) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, 100)); // the JIT is under way (it takes about a second)
    const disposedAt = performance.now();
    host.dispose();
    const outcome = await settled;
    const waitedMs = performance.now() - disposedAt;
    assert.ok(
      outcome instanceof GpuError && outcome.code === 'HOST_EXITED',
      `the compile ended with ${String(outcome)}`,
    );
    assert.ok(waitedMs < 1000, `the compile was failed ${round(waitedMs)} ms after the host was disposed`);

    const fresh = new DeviceHost({ backend: 'cuda', script: distFile('deviceHost.js'), requestTimeoutMs: 120_000 });
    try {
      const handle = await fresh.compile(0, { ...source(seed()), code: slowPtx(500, seed()) });
      assert.equal(handle.entryPoint, 'slow');
    } finally {
      fresh.dispose();
    }
  },
);
