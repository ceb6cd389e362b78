// Hot reload: save-to-new-version-running latency through the kernel runtime (validate, compile,
// drain, checkpoint, swap, restore, resume), beside the raw cost of the same work done directly
// in this process: compiling the kernel (WebGPU: shader module + compute pipeline; CUDA: module
// load + function lookup) and copying its state to host memory once. The target is an
// engine total within 1.5x of that raw sum.
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeBackends } from '../server/src/backends/backendProbe';
import type { BackendName } from '../server/src/backends/backendReport';
import type { CudaAddon } from '../server/src/backends/cuda/cudaAddon';
import { loadCudaAddon } from '../server/src/backends/cuda/cudaAddonLoader';
import { dawnInstance } from '../server/src/backends/webgpu/dawn';
import { MultiGpuCoordinator } from '../server/src/coordinator/multiGpuCoordinator';
import type { Logger } from '../server/src/logger';
import { parseManifest } from '../server/src/manifest/manifest';
import { bundlePath } from '../server/src/paths';
import { coordinatorPlacer } from '../server/src/runtime/coordinatorPlacer';
import { KernelRuntime } from '../server/src/runtime/kernelRuntime';
import type { ReloadPhaseTimings } from '../server/src/runtime/kernelTypes';
import { ValidatorSet } from '../server/src/validation';
import { gbPerSecond, ratio, summarize, type LatencySummary } from './stats';

const MIB = 1024 * 1024;
const TARGET_RATIO = 1.5;
const WARM_UP = 2;
/**
 * TICKs for this run: a random base, so no compile (engine or raw, in this run or a later one)
 * finds its code in a cache (the CUDA driver keeps JIT results on disk across runs). Engine and
 * raw samples of each size get ranges of their own.
 */
const RUN_TICK_BASE = randomInt(1, 2 ** 18) * 4096;
const tickFor = (stateBytes: number, side: 'engine' | 'raw', i: number): number =>
  RUN_TICK_BASE + (Math.log2(stateBytes) % 32) * 64 + (side === 'raw' ? 32 : 0) + i;
/** Threads that touch the state each step: enough to be a real kernel, too few to cost anything. */
const THREADS = 64;

type Phase = Exclude<keyof ReloadPhaseTimings, 'totalMs'>;
const PHASES: Phase[] = ['validateMs', 'compileMs', 'drainMs', 'checkpointMs', 'swapMs', 'restoreMs', 'resumeMs'];

export interface HotReloadSizeResult {
  stateBytes: number;
  engine: {
    totalMs: LatencySummary;
    phases: Record<Phase, LatencySummary>;
    /** totalMs less the phases that run one after another (max(validate, compile), drain, swap,
     *  restore, resume; the checkpoint overlaps resume), per sample: waits no phase names. */
    betweenPhasesMs: LatencySummary;
  };
  raw: { compile: LatencySummary; copy: LatencySummary; copyGBps: number };
  /** raw compile p50 + raw copy p50: what a reload cannot avoid doing. */
  rawTotalP50Ms: number;
  ratioP50: number;
  /** engine total p95 / (raw compile p95 + raw copy p95). */
  ratioP95: number;
  targetRatio: number;
  /** Both ratios within the target. */
  meetsTarget: boolean;
}

export type Skipped = { skipped: string };
export type HotReloadBackendResult = { device: string; sizes: Record<string, HotReloadSizeResult | Skipped> } | Skipped;

export interface HotReloadBenchResult {
  samples: number;
  webgpu: HotReloadBackendResult;
  cuda: HotReloadBackendResult;
}

/** A kernel language as the bench needs it: the code for a given TICK, and how to time it raw. */
interface BenchKernel {
  backend: BackendName;
  extension: 'wgsl' | 'ptx';
  entryPoint: string;
  code(tick: number): string;
  block: [number, number, number];
}

const WGSL: BenchKernel = {
  backend: 'webgpu',
  extension: 'wgsl',
  entryPoint: 'step',
  block: [1, 1, 1],
  code: (tick) => `
struct Control { step: u32, kernel_index: u32, inbox_count: u32, outbox_capacity: u32 }
@group(0) @binding(0) var<storage, read> control: Control;
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
const TICK: u32 = ${tick}u;

@compute @workgroup_size(${THREADS})
fn step(@builtin(local_invocation_index) i: u32) {
  state[i] = state[i] + TICK;
}
`,
};

const PTX: BenchKernel = {
  backend: 'cuda',
  extension: 'ptx',
  entryPoint: 'step',
  block: [THREADS, 1, 1],
  code: (tick) => `.version 7.0
.target sm_52
.address_size 64

.visible .entry step(
  .param .u64 control,
  .param .u64 state,
  .param .u64 inbox,
  .param .u64 outbox
)
{
  .reg .b32 %r<3>;
  .reg .b64 %rd<4>;
  ld.param.u64 %rd1, [state];
  cvta.to.global.u64 %rd1, %rd1;
  mov.u32 %r1, %tid.x;
  mul.wide.u32 %rd2, %r1, 4;
  add.s64 %rd3, %rd1, %rd2;
  ld.global.u32 %r2, [%rd3];
  add.u32 %r2, %r2, ${tick};
  st.global.u32 [%rd3], %r2;
  ret;
}
`,
};

const quiet: Logger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

const progress = (line: string): void => { process.stderr.write(`hotReload: ${line}\n`); };

const sizeKey = (bytes: number): string => `${bytes / MIB}MiB`;

/** The raw side of one backend, opened once for all sizes. */
interface RawSide {
  device: string;
  /** Why `stateBytes` cannot be allocated here, or undefined when it can. */
  cannotHold(stateBytes: number): string | undefined;
  /** One compile of `code` (never seen before by this process), ms. */
  compile(code: string): Promise<number>;
  /** Copy samples of `stateBytes` device → host, ms each (after a warm-up). */
  copies(stateBytes: number, count: number): Promise<number[]>;
  close(): void;
}

async function rawWebGpu(): Promise<RawSide> {
  const adapter = await dawnInstance('vulkan').requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('no WebGPU adapter: the bench needs a Vulkan driver');
  // The adapter's own limits, as the engine's backend asks for: the defaults cap buffers at 256 MiB.
  const device = await adapter.requestDevice({ requiredLimits: { maxBufferSize: adapter.limits.maxBufferSize, maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize } });
  device.addEventListener('uncapturederror', (event) => event.preventDefault());
  const largest = Math.min(device.limits.maxBufferSize, device.limits.maxStorageBufferBindingSize);
  return {
    device: adapter.info.description || adapter.info.device,
    cannotHold: (stateBytes) => stateBytes > largest ? `${sizeKey(stateBytes)} of state exceeds this device's largest storage binding (${sizeKey(largest)})` : undefined,
    async compile(code) {
      const started = performance.now();
      const module = device.createShaderModule({ code });
      await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: WGSL.entryPoint } });
      return performance.now() - started;
    },
    async copies(stateBytes, count) {
      const state = device.createBuffer({ size: stateBytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
      // Staging buffer and landing memory made (and touched) before the clock: the cheapest raw
      // read a program could do, so the baseline is the copy itself.
      const staging = device.createBuffer({ size: stateBytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      const landing = new Uint8Array(stateBytes).fill(0);
      const once = async (): Promise<number> => {
        const started = performance.now();
        const encoder = device.createCommandEncoder();
        encoder.copyBufferToBuffer(state, 0, staging, 0, stateBytes);
        device.queue.submit([encoder.finish()]);
        await staging.mapAsync(GPUMapMode.READ);
        landing.set(new Uint8Array(staging.getMappedRange()));
        staging.unmap();
        return performance.now() - started;
      };
      try {
        await once();
        const samples: number[] = [];
        for (let i = 0; i < count; i++) samples.push(await once());
        return samples;
      } finally {
        state.destroy();
        staging.destroy();
      }
    },
    close: () => device.destroy(),
  };
}

function rawCuda(cuda: CudaAddon): RawSide {
  const stream = cuda.streamCreate(0, { nonBlocking: true });
  return {
    device: cuda.deviceInfo(0).name,
    cannotHold(stateBytes) {
      // The engine holds one state buffer, the raw side one more; leave room for both.
      const { free } = cuda.memGetInfo(0);
      return free < 2 * stateBytes ? `${sizeKey(stateBytes)} of state twice (engine and raw) does not fit in ${sizeKey(Math.floor(free / MIB) * MIB)} of free device memory` : undefined;
    },
    async compile(code) {
      const started = performance.now();
      const { module } = await cuda.moduleLoad(0, code);
      cuda.getFunction(module, PTX.entryPoint);
      const ms = performance.now() - started;
      cuda.moduleUnload(module);
      return ms;
    },
    async copies(stateBytes, count) {
      const state = cuda.memAlloc(0, stateBytes);
      try {
        cuda.memsetD8(state, 0, stateBytes);
        // Pageable memory, as the engine's host reads into, touched before the clock so page
        // faults are not timed as copy time.
        const landing = new Uint8Array(stateBytes).fill(0);
        const once = async (): Promise<number> => {
          const started = performance.now();
          cuda.memcpyDtoHAsync(stream, landing, state);
          await cuda.streamSynchronizeAsync(stream);
          return performance.now() - started;
        };
        await once();
        const samples: number[] = [];
        for (let i = 0; i < count; i++) samples.push(await once());
        return samples;
      } finally {
        cuda.memFree(state);
      }
    },
    close: () => cuda.streamDestroy(stream),
  };
}

/** The engine's reload samples for one size: a runtime with one kernel, saved `samples` times. */
async function engineReloads(kernel: BenchKernel, stateBytes: number, samples: number, reports: ReturnType<typeof probeBackends>): Promise<ReloadPhaseTimings[] | Skipped> {
  const dir = mkdtempSync(join(tmpdir(), 'ringkernel-bench-reload-'));
  const file = `bench.${kernel.extension}`;
  const source = join(dir, file);
  writeFileSync(source, kernel.code(1));
  const manifestPath = join(dir, 'ringkernel.json');
  const manifestText = JSON.stringify({
    version: 1,
    kernels: [{ id: 'bench', source: file, entryPoint: kernel.entryPoint, backend: kernel.backend, stateBytes, grid: [1, 1, 1], block: kernel.block, rateHz: 0 }],
  });
  writeFileSync(manifestPath, manifestText);
  const manifest = parseManifest(manifestText, manifestPath);
  const problems = manifest.problems.filter((p) => p.severity === 'error');
  if (problems.length > 0) throw new Error(`the bench's manifest is invalid: ${problems.map((p) => p.message).join('; ')}`);
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
      return outcome.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.range.start.line + 1}:${d.range.start.character + 1}: ${d.message}`);
    },
  });
  try {
    await runtime.setManifest(manifest);
    const started = await runtime.start();
    const failed = started.failed[0];
    if (failed) return { skipped: `the kernel did not start: ${failed.message}` };
    const timings: ReloadPhaseTimings[] = [];
    for (let i = 0; i < WARM_UP + samples; i++) {
      // A new TICK every time: the code always differs from the running version, never `unchanged`.
      const code = kernel.code(tickFor(stateBytes, 'engine', i));
      writeFileSync(source, code);
      const outcomes = await Promise.all(runtime.sourceSaved(source, code));
      const outcome = outcomes[0];
      if (outcomes.length !== 1 || !outcome) throw new Error(`saving ${file} reloaded ${outcomes.length} kernels, not 1`);
      if (outcome.status !== 'reloaded' || !outcome.timings) throw new Error(`reload ${i + 1} of ${kernel.backend} ${sizeKey(stateBytes)}: ${outcome.status}: ${outcome.message}`);
      if (i >= WARM_UP) timings.push(outcome.timings);
    }
    return timings;
  } finally {
    await runtime.dispose();
    validators.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchSize(kernel: BenchKernel, raw: RawSide, stateBytes: number, samples: number, reports: ReturnType<typeof probeBackends>): Promise<HotReloadSizeResult | Skipped> {
  const tooBig = raw.cannotHold(stateBytes);
  if (tooBig !== undefined) return { skipped: tooBig };
  progress(`${kernel.backend} ${sizeKey(stateBytes)}: engine`);
  const engine = await engineReloads(kernel, stateBytes, samples, reports);
  if (!Array.isArray(engine)) return engine;
  // Raw after the engine's runtime is gone: its step loop (rateHz 0) would otherwise share the GPU.
  progress(`${kernel.backend} ${sizeKey(stateBytes)}: raw`);
  const compile: number[] = [];
  for (let i = 0; i < WARM_UP + samples; i++) {
    const ms = await raw.compile(kernel.code(tickFor(stateBytes, 'raw', i)));
    if (i >= WARM_UP) compile.push(ms);
  }
  const copies = await raw.copies(stateBytes, samples);
  const total = summarize(engine.map((t) => t.totalMs));
  const phases = Object.fromEntries(PHASES.map((phase) => [phase, summarize(engine.map((t) => t[phase]))])) as Record<Phase, LatencySummary>;
  // The phases in a row: validation and compilation run side by side, and the checkpoint's bytes
  // arrive while the new version resumes, so neither adds on its own.
  const inARow = (t: ReloadPhaseTimings): number => Math.max(t.validateMs, t.compileMs) + t.drainMs + t.swapMs + t.restoreMs + t.resumeMs;
  const betweenPhases = summarize(engine.map((t) => t.totalMs - inARow(t)));
  const rawCompile = summarize(compile);
  const rawCopy = summarize(copies);
  const rawTotalP50Ms = Math.round((rawCompile.p50Ms + rawCopy.p50Ms) * 1000) / 1000;
  const ratioP50 = ratio(total.p50Ms, rawTotalP50Ms);
  const ratioP95 = ratio(total.p95Ms, rawCompile.p95Ms + rawCopy.p95Ms);
  return {
    stateBytes,
    engine: { totalMs: total, phases, betweenPhasesMs: betweenPhases },
    raw: { compile: rawCompile, copy: rawCopy, copyGBps: gbPerSecond(stateBytes, rawCopy.p50Ms) },
    rawTotalP50Ms, ratioP50, ratioP95,
    targetRatio: TARGET_RATIO,
    meetsTarget: ratioP50 <= TARGET_RATIO && ratioP95 <= TARGET_RATIO,
  };
}

async function benchBackend(kernel: BenchKernel, openRaw: () => Promise<RawSide>, sizes: number[], samples: number,
  reports: ReturnType<typeof probeBackends>): Promise<HotReloadBackendResult> {
  const raw = await openRaw();
  try {
    const results: Record<string, HotReloadSizeResult | Skipped> = {};
    for (const stateBytes of sizes) results[sizeKey(stateBytes)] = await benchSize(kernel, raw, stateBytes, samples, reports);
    return { device: raw.device, sizes: results };
  } finally {
    raw.close();
  }
}

export async function benchHotReload(options: { quick: boolean }): Promise<HotReloadBenchResult> {
  // CI machines are small: 16 MiB there; 256 MiB on a GPU machine, where a copy is long enough to see.
  const sizes = (options.quick ? [4, 16] : [4, 256]).map((mib) => mib * MIB);
  const samples = options.quick ? 5 : 20;
  // One probe for every runtime: it opens each backend in a child process, which takes seconds.
  const reports = probeBackends({});
  // WebGPU always runs (lavapipe at worst), so a failure there fails the bench like webgpuBench's.
  const webgpu = await benchBackend(WGSL, rawWebGpu, sizes, samples, reports);
  let cuda: HotReloadBackendResult;
  const loaded = loadCudaAddon();
  if (!loaded.ok) cuda = { skipped: loaded.reason };
  else {
    const status = loaded.addon.driverStatus();
    if (!status.available) cuda = { skipped: status.reason ?? 'the CUDA driver did not initialise' };
    else cuda = await benchBackend(PTX, () => Promise.resolve(rawCuda(loaded.addon)), sizes, samples, reports);
  }
  return { samples, webgpu, cuda };
}
