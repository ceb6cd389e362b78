// A KernelRuntime on real device hosts: counter kernels (faultHarness.ts) on device instances of
// the WebGPU adapter (lavapipe here and in CI), so a migration really moves bytes between two
// processes. The fault tests start it with short watchdogs (a stalled host's cost stays small);
// the migration, checkpoint-file and full-disk tests build theirs from the same parts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { MultiGpuCoordinator } from '../../server/src/coordinator/multiGpuCoordinator';
import type { Logger } from '../../server/src/logger';
import { parseManifest, type Manifest } from '../../server/src/manifest/manifest';
import { migrationRoute } from '../../server/src/migration/migrationRoute';
import { probeMachine, type MachineProbe } from '../../server/src/probe/machineProbe';
import { withWebGpuInstances } from '../../server/src/probe/deviceInstances';
import { coordinatorPlacer } from '../../server/src/runtime/coordinatorPlacer';
import type { ReloadOutcome } from '../../server/src/runtime/kernelReports';
import { KernelRuntime, type KernelRuntimeOptions } from '../../server/src/runtime/kernelRuntime';
import type { ReloadPhase } from '../../server/src/runtime/reloadPhases';
import { buildTopology } from '../../server/src/topology/buildTopology';
import { COUNTER_WGSL, releaseAll, type FaultLedger } from './faultHarness';
import { distFile } from './repo';

/** A step silent this long restarts its host (a SIGSTOP is caught this fast while a loop runs). */
export const FAULT_STEP_TIMEOUT_MS = 1_500;
/** A request unanswered this long restarts its host (a SIGSTOP while no loop runs); opening a device on a loaded 2-core machine took over 6 s. */
export const FAULT_REQUEST_TIMEOUT_MS = 15_000;

const quiet: Logger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

let probed: Promise<MachineProbe> | undefined;

/** Why the fault tests cannot run here (no WebGPU adapter), or undefined. */
export async function webgpuSkipReason(): Promise<string | undefined> {
  probed ??= probeMachine({});
  const report = (await probed).reports.find((r) => r.backend === 'webgpu');
  return report?.available ? undefined : `WebGPU is unavailable: ${report?.reason ?? 'not probed'}`;
}

export interface FaultRuntime {
  runtime: KernelRuntime;
  coordinator: MultiGpuCoordinator;
  dir: string;
  /** Every reload outcome (reloads, recoveries, rollbacks), in order. */
  outcomes: ReloadOutcome[];
  /** The hook each reload phase calls (set by the test, cleared after the fault). */
  onReloadPhase: ((kernelId: string, phase: ReloadPhase) => void) | undefined;
  /** The source file of kernel `id`. */
  sourceOf: (id: string) => string;
  dispose(): Promise<void>;
}

export interface CounterWorkspaceOptions {
  /** Counter kernel ids (faultHarness.ts's COUNTER_WGSL), placed on webgpu:0 unless `devices` says otherwise. */
  kernels?: string[];
  /** Each counter's device: an instance index, or 'auto' (the coordinator places it). */
  devices?: (number | 'auto')[];
  stateBytes?: number;
  rateHz?: number;
  /** Extra manifest kernels (the message tests' senders and receiver), as written. */
  manifestKernels?: object[];
  files?: Record<string, string>;
}

export interface CounterWorkspace {
  dir: string;
  manifestPath: string;
  manifest: Manifest;
  /** The source file of kernel `id`. */
  sourceOf: (id: string) => string;
}

/** A fresh folder with the counter kernels (and any other files and kernels) and their manifest, checked. */
export function counterWorkspace(options: CounterWorkspaceOptions = {}): CounterWorkspace {
  const dir = mkdtempSync(join(tmpdir(), 'ringkernel-faults-'));
  const ids = options.kernels ?? (options.manifestKernels ? [] : ['counter']);
  for (const id of ids) writeFileSync(join(dir, `${id}.wgsl`), COUNTER_WGSL);
  for (const [name, text] of Object.entries(options.files ?? {})) writeFileSync(join(dir, name), text);
  // 1 MiB by default: checkpoints and migrations go through shared-memory files (256 KiB and up).
  const stateBytes = options.stateBytes ?? 1 << 20;
  const text = JSON.stringify({
    version: 1,
    kernels: [
      ...ids.map((id, i) => ({
        id,
        source: `${id}.wgsl`,
        entryPoint: 'step',
        backend: 'webgpu',
        device: options.devices?.[i] ?? 0,
        stateBytes,
        grid: [stateBytes / 256, 1, 1],
        rateHz: options.rateHz ?? 0,
      })),
      ...(options.manifestKernels ?? []),
    ],
  });
  const manifestPath = join(dir, 'ringkernel.json');
  writeFileSync(manifestPath, text);
  const manifest = parseManifest(text, manifestPath);
  assert.deepEqual(
    manifest.problems.filter((p) => p.severity === 'error'),
    [],
  );
  return { dir, manifestPath, manifest, sourceOf: (id) => join(dir, `${id}.wgsl`) };
}

/**
 * A KernelRuntime over `instances` device instances of the WebGPU adapter, as the server makes one:
 * the coordinator with the probed devices and topology, the migration route, every device host a
 * real process. `options` adds to that (watchdogs, checkpoint folder, hooks). Not started.
 */
export async function runtimeOnInstances(
  manifest: Manifest,
  instances: number,
  options: Partial<KernelRuntimeOptions> = {},
): Promise<{ runtime: KernelRuntime; coordinator: MultiGpuCoordinator }> {
  probed ??= probeMachine({});
  const probe = withWebGpuInstances(await probed, instances);
  const coordinator = new MultiGpuCoordinator();
  coordinator.syncDevices(probe.reports);
  const topology = buildTopology(probe.topology);
  coordinator.setTopology(topology);
  const runtime = new KernelRuntime({
    log: quiet,
    placer: coordinatorPlacer(coordinator),
    hostScript: distFile('deviceHost.js'),
    validate: () => Promise.resolve([]),
    migrationRoute: (from, to) => migrationRoute(topology, from, to),
    ...options,
  });
  await runtime.setManifest(manifest);
  return { runtime, coordinator };
}

/** The counter's state, checked: word 0 counts every step, word 1 sums every step exactly once, whatever checkpoints it came through. */
export async function checkedCounter(
  runtime: KernelRuntime,
  id = 'counter',
): Promise<{ step: number; sha256: string }> {
  const snapshot = await runtime.readState(id);
  const words = new Uint32Array(snapshot.state.buffer, snapshot.state.byteOffset, 2);
  const steps = words[0] ?? 0;
  assert.equal(steps, snapshot.step, 'word 0 counts every step');
  assert.equal(words[1], ((steps * (steps + 1)) / 2) >>> 0, 'word 1 sums every step exactly once');
  return { step: snapshot.step, sha256: snapshot.sha256 };
}

export type FaultRuntimeOptions = CounterWorkspaceOptions;

/** Counter kernels on two device instances, with the fault tests' short watchdogs and unlimited recoveries; started. */
export async function startFaultRuntime(options: FaultRuntimeOptions = {}): Promise<FaultRuntime> {
  const workspace = counterWorkspace(options);
  const outcomes: ReloadOutcome[] = [];
  const fault: FaultRuntime = {
    runtime: undefined as unknown as KernelRuntime,
    coordinator: undefined as unknown as MultiGpuCoordinator,
    dir: workspace.dir,
    outcomes,
    onReloadPhase: undefined,
    sourceOf: workspace.sourceOf,
    dispose: async () => {
      await fault.runtime.dispose();
      rmSync(workspace.dir, { recursive: true, force: true });
    },
  };
  const { runtime, coordinator } = await runtimeOnInstances(workspace.manifest, 2, {
    stepTimeoutMs: FAULT_STEP_TIMEOUT_MS,
    requestTimeoutMs: FAULT_REQUEST_TIMEOUT_MS,
    checkpointIntervalMs: 0,
    // Faults come faster than any kernel fails by itself: the limit on recoveries a minute is not
    // what these tests are about, and a probation would roll every fault soon after a reload back
    // to the version before (tested on its own in reloadFaults.test.ts).
    reload: { maxRecoveriesPerMinute: 1_000_000, probationMs: 0, retryBackoffMs: 50 },
    // Likewise a device whose hosts die three times a minute is declared lost (its kernels move):
    // here the deaths are the faults, and the device is fine (device loss is tested on its own).
    deviceRestartsPerMinute: 1_000_000,
    onOutcome: (outcome) => outcomes.push(outcome),
    onReloadPhase: (kernelId, phase) => fault.onReloadPhase?.(kernelId, phase),
  });
  fault.runtime = runtime;
  fault.coordinator = coordinator;
  const started = await runtime.start();
  assert.deepEqual(started.failed, []);
  return fault;
}

/** A fault suite's one runtime, and why there is none (WebGPU cannot run here) once its tests start. */
export interface SuiteRuntime {
  readonly runtime: FaultRuntime | undefined;
  readonly skip: string | undefined;
}

/**
 * Registers a suite's runtime: started before its tests (none where WebGPU cannot run: `skip` says
 * why), disposed after them, with the ledger printed and any device host still alive killed.
 */
export function suiteRuntime(ledger: FaultLedger): SuiteRuntime {
  const suite: { runtime: FaultRuntime | undefined; skip: string | undefined } = {
    runtime: undefined,
    skip: undefined,
  };
  before(async () => {
    suite.skip = await webgpuSkipReason();
    if (!suite.skip) suite.runtime = await startFaultRuntime();
  });
  after(async () => {
    ledger.print();
    await suite.runtime?.dispose();
    const left = releaseAll();
    if (left.length > 0)
      console.log(`device hosts still running after the runtime was disposed (killed): ${left.join(', ')}`);
  });
  return suite;
}
