// hotReload: a save of a running kernel's source, through the kernel runtime the server runs
// (KernelRuntime.sourceSaved: validate, compile, drain, checkpoint, swap, restore, resume), until
// (1) the new version has run its first step, and (2) its rollback point (the state as it was at
// the swap) is stored in the server's memory: the reload's outcome arrives only then. Raw, in the
// same rounds: compile the same code directly, queue the state's copy to host memory and the new
// code's first step behind it; (1) when that step is done, (2) when the bytes are in host memory.
//
// The kernel steps as fast as it can (rateHz 0) on a state of 4 and 256 MiB (4 and 16 with
// --quick). Each round starts the kernels, reloads once untimed, times the next reloads, and
// stops them, so raw never shares the GPU with a running loop.
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeBackends } from '../../server/src/probe/machineProbe';
import type { BackendName } from '../../server/src/backends/backendReport';
import { MultiGpuCoordinator } from '../../server/src/coordinator/multiGpuCoordinator';
import { errorMessage, type Logger } from '../../server/src/logger';
import { parseManifest } from '../../server/src/manifest/manifest';
import { bundlePath } from '../../server/src/paths';
import { coordinatorPlacer } from '../../server/src/runtime/coordinatorPlacer';
import { KernelRuntime } from '../../server/src/runtime/kernelRuntime';
import type { ReloadPhaseTimings } from '../../server/src/runtime/kernelReports';
import { ValidatorSet } from '../../server/src/validation';
import { benchKernel, kernelCode } from '../kernels';
import { percentile, tidy, type BenchContext } from '../method';
import { MIB, openRaw, type RawBackend } from '../raw';

const quiet: Logger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

/** The words the reloaded kernel steps: a real kernel, cheap beside any state size. */
const KERNEL_WORDS = 4096;

/**
 * TICKs for this run start at a random base, so no compile (ours or raw, this run or a later
 * one) finds its code in a cache (the CUDA driver keeps JIT results on disk across runs).
 */
let nextTick = randomInt(1, 2 ** 20) * 1024;

type Phase = Exclude<keyof ReloadPhaseTimings, 'totalMs'>;
const PHASES: Phase[] = ['validateMs', 'compileMs', 'drainMs', 'checkpointMs', 'swapMs', 'restoreMs', 'resumeMs'];

/** One kernel in a runtime of its own, as the server would run it from a one-kernel manifest. */
async function reloadingRuntime(
  backend: BackendName,
  stateBytes: number,
  reports: ReturnType<typeof probeBackends>,
): Promise<{
  runtime: KernelRuntime;
  source: string;
  dispose(): Promise<void>;
}> {
  const kernel = benchKernel(backend, KERNEL_WORDS);
  const dir = mkdtempSync(join(tmpdir(), 'ringkernel-bench-reload-'));
  const file = `bench.${kernel.source.language}`;
  const source = join(dir, file);
  writeFileSync(source, kernelCode(backend, nextTick++));
  const manifestPath = join(dir, 'ringkernel.json');
  const manifestText = JSON.stringify({
    version: 1,
    kernels: [
      {
        id: 'bench',
        source: file,
        entryPoint: 'step',
        backend,
        stateBytes,
        grid: kernel.grid,
        block: kernel.block,
        rateHz: 0,
      },
    ],
  });
  writeFileSync(manifestPath, manifestText);
  const manifest = parseManifest(manifestText, manifestPath);
  const problems = manifest.problems.filter((p) => p.severity === 'error');
  if (problems.length > 0)
    throw new Error(`the bench's manifest is invalid: ${problems.map((p) => p.message).join('; ')}`);
  const coordinator = new MultiGpuCoordinator();
  coordinator.syncDevices(await reports);
  const validators = new ValidatorSet({ logger: quiet, tintHostScript: bundlePath('tintHost.js') });
  const runtime = new KernelRuntime({
    log: quiet,
    placer: coordinatorPlacer(coordinator),
    hostScript: bundlePath('deviceHost.js'),
    // Generous: a 256 MiB checkpoint on a software rasteriser is slow, and a watchdog restart
    // would turn a slow sample into a recovery.
    stepTimeoutMs: 30_000,
    // Periodic checkpoints would land between samples and pause the kernel; reloads take their own.
    checkpointIntervalMs: 0,
    // The same validate phase as the language server's: the real compiler, errors only.
    validate: async (_id, kernelSource) => {
      const outcome = await validators.validate(kernelSource.language, kernelSource.code);
      return outcome.diagnostics
        .filter((d) => d.severity === 'error')
        .map((d) => `${d.range.start.line + 1}:${d.range.start.character + 1}: ${d.message}`);
    },
  });
  await runtime.setManifest(manifest);
  return {
    runtime,
    source,
    async dispose() {
      await runtime.dispose();
      validators.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function reloadPair(
  bench: BenchContext,
  backend: BackendName,
  raw: RawBackend,
  stateBytes: number,
  reports: ReturnType<typeof probeBackends>,
): Promise<void> {
  const suite = 'hotReload';
  const language = backend === 'webgpu' ? 'WGSL' : 'PTX';
  const size = `${stateBytes / MIB} MiB state`;
  const running = `save → new version running, ${language}, ${size}`;
  const stored = `save → rollback point stored, ${language}, ${size}`;
  const cannot =
    backend === 'webgpu'
      ? stateBytes > raw.largestBuffer
        ? `more than ${raw.deviceName} allows in one buffer (${raw.largestBuffer / MIB} MiB)`
        : undefined
      : // The engine's kernel holds one state, raw another: both must fit.
        raw.largestBuffer < 2 * stateBytes + 64 * MIB
        ? `two states of ${size} do not fit in ${Math.floor(raw.largestBuffer / MIB)} MiB of free device memory`
        : undefined;
  if (cannot !== undefined) {
    bench.skip(suite, running, cannot);
    bench.skip(suite, stored, cannot);
    return;
  }
  const saves = bench.plan.quick ? 4 : 8;
  const ours = await reloadingRuntime(backend, stateBytes, reports);
  const direct = await raw.reload(benchKernel(backend, KERNEL_WORDS), stateBytes);
  const phases: ReloadPhaseTimings[] = [];
  try {
    await bench.pair({
      suite,
      figures: [
        { name: running, unit: 'ms' },
        { name: stored, unit: 'ms' },
      ],
      ours: async () => {
        const started = await ours.runtime.start();
        const failed = started.failed[0];
        if (failed) throw new Error(`the kernel did not start: ${failed.message}`);
        const runningMs: number[] = [];
        const storedMs: number[] = [];
        try {
          for (let i = 0; i <= saves; i++) {
            // A new TICK every time: the code always differs from the running version.
            const code = kernelCode(backend, nextTick++);
            writeFileSync(ours.source, code);
            const t0 = performance.now();
            const outcomes = await Promise.all(ours.runtime.sourceSaved(ours.source, code));
            const done = performance.now() - t0;
            const outcome = outcomes[0];
            if (outcomes.length !== 1 || !outcome) throw new Error(`a save reloaded ${outcomes.length} kernels, not 1`);
            if (outcome.status !== 'reloaded' || !outcome.timings)
              throw new Error(`reload ${i + 1}: ${outcome.status}: ${outcome.message}`);
            // The first reload of a round warms the freshly started host up; it is not counted.
            if (i === 0) continue;
            // totalMs runs from the manager's clock, started synchronously inside sourceSaved.
            runningMs.push(outcome.timings.totalMs);
            storedMs.push(done);
            phases.push(outcome.timings);
          }
        } finally {
          await ours.runtime.stop();
        }
        return { [running]: runningMs, [stored]: storedMs };
      },
      raw: async () => {
        const runningMs: number[] = [];
        const storedMs: number[] = [];
        for (let i = 0; i <= saves; i++) {
          const sample = await direct.once(kernelCode(backend, nextTick++));
          if (i === 0) continue;
          runningMs.push(sample.runningMs);
          storedMs.push(sample.storedMs);
        }
        return { [running]: runningMs, [stored]: storedMs };
      },
      detail: () => ({
        device: raw.deviceName,
        savesPerRound: saves,
        oursPhasesP50Ms: Object.fromEntries(
          PHASES.map((phase) => [
            phase,
            tidy(
              percentile(
                phases.map((t) => t[phase]),
                0.5,
              ),
            ),
          ]),
        ),
      }),
    });
  } finally {
    direct.destroy();
    await ours.dispose();
  }
}

export async function hotReloadSuite(bench: BenchContext): Promise<void> {
  const sizes = (bench.plan.quick ? [4, 16] : [4, 256]).map((mib) => mib * MIB);
  // One probe for every runtime: it opens each backend in a child process, which takes seconds.
  const reports = probeBackends({});
  for (const backend of ['webgpu', 'cuda'] as const) {
    let raw: RawBackend;
    try {
      raw = await openRaw(backend);
    } catch (error) {
      bench.skip('hotReload', `${backend} reloads`, `${backend} cannot run here: ${errorMessage(error)}`);
      continue;
    }
    for (const stateBytes of sizes) await reloadPair(bench, backend, raw, stateBytes, reports);
  }
}
