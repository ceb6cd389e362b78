// `ringkernel run MANIFEST [--steps N] [--json]`: runs the manifest's kernels headless for exactly
// N steps each, placed by the coordinator as the editor places them, and prints per kernel its id,
// device, step and the SHA-256 of its state, so two runs (or two machines) can be compared. The
// kernels run together in lockstep (runtime/lockstepRun.ts), their messages delivered by the K2K
// router between steps, so the digests do not depend on placement; --json adds the router's totals.
import { resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { probeBackends } from '../probe/machineProbe';
import type { BackendName, BackendReport } from '../backends/backendReport';
import { MultiGpuCoordinator } from '../coordinator/multiGpuCoordinator';
import { DeviceHost } from '../hosts/deviceHost';
import { DeviceKernel } from '../hosts/deviceKernel';
import { DEFAULT_COORDINATOR_CONFIG } from '../coordinator/coordinatorTypes';
import { K2KRouter, type RouterStatsSnapshot } from '../router';
import { runLockstep, type LockstepKernel } from '../runtime/lockstepRun';
import { errorMessage } from '../logger';
import { loadManifest, problemRange, runsOn, type KernelSpec } from '../manifest/manifest';
import { coordinatorPlacer } from '../runtime/coordinatorPlacer';
import { sha256Hex } from '../checkpoint/kernelCheckpoint';
import { kernelMemoryBytes } from '../runtime/kernelRuntime';
import { COMMANDS } from './commandHelp';

const USAGE = `usage: ${COMMANDS.run.usage} (ringkernel run --help says more)`;
/** Steps per request to the device host when no kernel can receive: enough to hide the IPC. */
const BATCH = 1_000;

interface KernelRun {
  id: string;
  device?: string;
  step: number;
  sha256?: string;
  stateBytes: number;
  error?: string;
}

function parseArgs(args: readonly string[]): { manifest: string; steps: number; json: boolean } | string {
  let manifest: string | undefined;
  let steps = 100;
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--json') json = true;
    else if (arg === '--steps' || arg.startsWith('--steps=')) {
      const value = arg === '--steps' ? args[++i] : arg.slice('--steps='.length);
      const parsed = Number(value);
      if (value === undefined || !Number.isSafeInteger(parsed) || parsed < 0) return `--steps needs a whole number of steps, 0 or more (got ${value ?? 'nothing'})`;
      steps = parsed;
    } else if (arg.startsWith('-')) return `unknown option ${arg}`;
    else if (manifest === undefined) manifest = arg;
    else return `one manifest only (got ${manifest} and ${arg})`;
  }
  if (manifest === undefined) return 'which manifest? Pass the path of a ringkernel.json';
  return { manifest: resolve(manifest), steps, json };
}

export async function runCommand(args: readonly string[]): Promise<number> {
  const parsed = parseArgs(args);
  if (typeof parsed === 'string') {
    process.stderr.write(`ringkernel run: ${parsed}\n${USAGE}\n`);
    return 2;
  }
  const manifest = loadManifest(parsed.manifest);
  let text = '';
  try {
    text = await readFile(manifest.path, 'utf8');
  } catch {
    // loadManifest already reported the missing file as a problem.
  }
  for (const problem of manifest.problems) {
    const { start } = problemRange(text, problem);
    process.stderr.write(`${manifest.path}:${start.line + 1}:${start.character + 1}: ${problem.severity}: ${problem.message}\n`);
  }
  if (manifest.kernels.length === 0) {
    process.stderr.write(`ringkernel run: ${manifest.path} declares no kernel that can run\n`);
    return 1;
  }
  const reports = await probeBackends({ onOutput: (line) => process.stderr.write(`[driver] ${line}\n`) });
  // Lockstep runs every kernel at once; the editor's per-device cap is a setting the command line does not have.
  const coordinator = new MultiGpuCoordinator({ maxKernelsPerDevice: Math.max(DEFAULT_COORDINATOR_CONFIG.maxKernelsPerDevice, manifest.kernels.length) });
  coordinator.syncDevices(reports);
  const placer = coordinatorPlacer(coordinator);
  const hosts = new Map<BackendName, DeviceHost>();
  const hostFor = (backend: BackendName): DeviceHost => {
    let host = hosts.get(backend);
    if (!host) {
      host = new DeviceHost({ backend, log: { error: () => undefined, warn: (m) => process.stderr.write(`${m}\n`), info: () => undefined, debug: () => undefined } });
      hosts.set(backend, host);
    }
    return host;
  };
  const router = new K2KRouter({ mode: 'lockstep' });
  const runs: KernelRun[] = [];
  const started: (LockstepKernel & { run: KernelRun })[] = [];
  try {
    for (const [index, spec] of manifest.kernels.entries()) {
      const run: KernelRun = { id: spec.id, step: 0, stateBytes: spec.stateBytes };
      runs.push(run);
      const kernel = await createKernel(spec, index, run, reports, placer, hostFor);
      if (!kernel || run.device === undefined) continue;
      router.addKernel({ index, id: spec.id, device: run.device });
      started.push({ index, id: spec.id, device: run.device, kernel, inboxCapacity: spec.inboxCapacity, run });
    }
    const failures = await runLockstep(router, started, parsed.steps, { batch: BATCH });
    for (const entry of started) {
      const failure = failures.get(entry.id);
      entry.run.step = entry.kernel.stepCount;
      if (failure !== undefined) {
        entry.run.error = failure;
        continue;
      }
      try {
        entry.run.sha256 = sha256Hex(await entry.kernel.readState());
      } catch (error) {
        entry.run.error = errorMessage(error);
      }
    }
  } finally {
    await Promise.allSettled(started.map((entry) => entry.kernel.release()));
    for (const run of runs) placer.remove(run.id);
    for (const host of hosts.values()) host.dispose();
  }
  const stats = router.snapshot();
  if (parsed.json) process.stdout.write(`${JSON.stringify({ manifest: manifest.path, steps: parsed.steps, kernels: runs, router: routerSummary(stats) }, null, 2)}\n`);
  else {
    for (const run of runs) {
      process.stdout.write(run.error !== undefined
        ? `${run.id}\t${run.device ?? '-'}\tfailed: ${run.error}\n`
        : `${run.id}\t${run.device ?? '-'}\tstep ${run.step}\tsha256 ${run.sha256 ?? ''}\n`);
    }
    const t = stats.totals;
    if (t.submitted > 0 || t.outboxFull > 0) {
      process.stdout.write(`router\tsent ${t.submitted}\tdelivered ${t.delivered}\tpending ${t.pending}\trefused ${t.refused}\toutbox full ${t.outboxFull}\tfailed ${t.failed}\n`);
    }
  }
  return runs.some((run) => run.error !== undefined) || manifest.problems.some((p) => p.severity === 'error') ? 1 : 0;
}

/** What `--json` reports of the router: its totals, routes, failures by reason, and latency in steps. */
function routerSummary(stats: RouterStatsSnapshot): Pick<RouterStatsSnapshot, 'mode' | 'totals' | 'routes' | 'failures' | 'latencySteps'> & { lost: number } {
  const { totals } = stats;
  // Every message read from an outbox is delivered, still pending, or counted as refused, failed or
  // a duplicate; `lost` is what none of those account for (0 unless the router has a bug). A
  // sender removed mid-step fails its staged messages before they count as submitted.
  const accounted = totals.delivered + totals.pending + totals.staged + totals.refused + totals.duplicates + totals.failed - stats.failures.sourceRemoved;
  const lost = totals.submitted - accounted;
  return { mode: stats.mode, totals, routes: stats.routes, failures: stats.failures, latencySteps: stats.latencySteps, lost };
}

/** Places and creates one kernel; records why not in `run` and returns undefined when it cannot run. */
async function createKernel(spec: KernelSpec, index: number, run: KernelRun, reports: readonly BackendReport[], placer: ReturnType<typeof coordinatorPlacer>, hostFor: (backend: BackendName) => DeviceHost): Promise<DeviceKernel | undefined> {
  const backend = runsOn(spec);
  if (!backend || spec.language === 'msl') {
    run.error = `${spec.language.toUpperCase()} kernels cannot run here`;
    return undefined;
  }
  const report = reports.find((r) => r.backend === backend);
  if (report?.available === false) {
    run.error = `needs ${backend === 'cuda' ? 'CUDA' : 'WebGPU'}, which is unavailable here: ${report.reason ?? 'no reason given'}`;
    return undefined;
  }
  const request = { backend, memoryBytes: kernelMemoryBytes(spec), stateBytes: spec.stateBytes };
  const placement = spec.device === 'auto' ? await placer.place(spec.id, request) : placer.assign(spec.id, `${backend}:${spec.device}`, request);
  if (!placement.ok) {
    run.error = placement.error.message;
    return undefined;
  }
  run.device = placement.device;
  try {
    const code = await readFile(spec.source, 'utf8');
    const device = Number(placement.device.slice(placement.device.indexOf(':') + 1));
    return await DeviceKernel.create(hostFor(backend), { language: spec.language, label: spec.id, code, entryPoint: spec.entryPoint }, {
      index, device, stateBytes: spec.stateBytes, grid: spec.grid, inboxCapacity: spec.inboxCapacity, outboxCapacity: spec.outboxCapacity,
      ...(backend === 'cuda' ? { block: spec.block } : {}),
    });
  } catch (error) {
    run.error = errorMessage(error);
    return undefined;
  }
}
