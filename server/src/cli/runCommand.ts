// `ringkernel run MANIFEST [--steps N] [--json] [--snapshot VIEW@STEP=FILE]...`: runs the manifest's
// kernels headless for exactly N steps each, placed by the coordinator as the editor places them,
// and prints per kernel its id, device, step and the SHA-256 of its state, so two runs (or two
// machines) can be compared. Each --snapshot writes a manifest view at a step as PNG or CSV.
import { resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { probeBackends } from '../probe/machineProbe';
import type { BackendName, BackendReport } from '../backends/backendReport';
import { MultiGpuCoordinator } from '../coordinator/multiGpuCoordinator';
import { DeviceHost } from '../hosts/deviceHost';
import { DeviceKernel } from '../hosts/deviceKernel';
import { errorMessage } from '../logger';
import { loadManifest, problemRange, runsOn, type KernelSpec } from '../manifest/manifest';
import { coordinatorPlacer } from '../runtime/coordinatorPlacer';
import { sha256Hex } from '../checkpoint/kernelCheckpoint';
import { kernelMemoryBytes } from '../runtime/kernelRuntime';
import { COMMANDS } from './commandHelp';
import { parseSnapshot, resolveSnapshot, type ResolvedSnapshot, type SnapshotRequest } from './snapshotOption';
import { runWithSnapshots, type WrittenSnapshot } from './snapshotWriter';

const USAGE = `usage: ${COMMANDS.run.usage} (ringkernel run --help says more)`;
/** Steps per request to the device host: enough to hide the IPC, few enough to report progress. */
const BATCH = 1_000;

interface KernelRun {
  id: string;
  device?: string;
  step: number;
  sha256?: string;
  stateBytes: number;
  error?: string;
  /** The --snapshot files written for this kernel. */
  snapshots?: WrittenSnapshot[];
}

function parseArgs(args: readonly string[]): { manifest: string; steps: number; json: boolean; snapshots: SnapshotRequest[] } | string {
  let manifest: string | undefined;
  let steps = 100;
  let json = false;
  const snapshots: SnapshotRequest[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--json') json = true;
    else if (arg === '--snapshot' || arg.startsWith('--snapshot=')) {
      const snapshot = parseSnapshot(arg === '--snapshot' ? args[++i] : arg.slice('--snapshot='.length));
      if (typeof snapshot === 'string') return snapshot;
      snapshots.push(snapshot);
    }
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
  return { manifest: resolve(manifest), steps, json, snapshots };
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
  const snapshots: ResolvedSnapshot[] = [];
  for (const request of parsed.snapshots) {
    const snapshot = resolveSnapshot(request, manifest.kernels, parsed.steps);
    if (typeof snapshot === 'string') {
      process.stderr.write(`ringkernel run: ${snapshot}\n`);
      return 2;
    }
    snapshots.push(snapshot);
  }
  const reports = await probeBackends({ onOutput: (line) => process.stderr.write(`[driver] ${line}\n`) });
  const coordinator = new MultiGpuCoordinator();
  coordinator.syncDevices(reports);
  const placer = coordinatorPlacer(coordinator);
  const hosts = new Map<BackendName, DeviceHost>();
  const runs: KernelRun[] = [];
  try {
    for (const [index, spec] of manifest.kernels.entries()) {
      const own = snapshots.filter((snapshot) => snapshot.kernelId === spec.id);
      runs.push(await runKernel(spec, index, parsed.steps, own, reports, placer, (backend) => {
        let host = hosts.get(backend);
        if (!host) {
          host = new DeviceHost({ backend, log: { error: () => undefined, warn: (m) => process.stderr.write(`${m}\n`), info: () => undefined, debug: () => undefined } });
          hosts.set(backend, host);
        }
        return host;
      }));
    }
  } finally {
    for (const host of hosts.values()) host.dispose();
  }
  if (parsed.json) process.stdout.write(`${JSON.stringify({ manifest: manifest.path, steps: parsed.steps, kernels: runs }, null, 2)}\n`);
  else {
    for (const run of runs) {
      process.stdout.write(run.error !== undefined
        ? `${run.id}\t${run.device ?? '-'}\tfailed: ${run.error}\n`
        : `${run.id}\t${run.device ?? '-'}\tstep ${run.step}\tsha256 ${run.sha256 ?? ''}\n`);
    }
  }
  return runs.some((run) => run.error !== undefined) || manifest.problems.some((p) => p.severity === 'error') ? 1 : 0;
}

async function runKernel(spec: KernelSpec, index: number, steps: number, snapshots: readonly ResolvedSnapshot[], reports: readonly BackendReport[], placer: ReturnType<typeof coordinatorPlacer>, hostFor: (backend: BackendName) => DeviceHost): Promise<KernelRun> {
  const run: KernelRun = { id: spec.id, step: 0, stateBytes: spec.stateBytes };
  const backend = runsOn(spec);
  if (!backend || spec.language === 'msl') return { ...run, error: `${spec.language.toUpperCase()} kernels cannot run here` };
  const report = reports.find((r) => r.backend === backend);
  if (report?.available === false) return { ...run, error: `needs ${backend === 'cuda' ? 'CUDA' : 'WebGPU'}, which is unavailable here: ${report.reason ?? 'no reason given'}` };
  const request = { backend, memoryBytes: kernelMemoryBytes(spec), stateBytes: spec.stateBytes };
  const placement = spec.device === 'auto' ? await placer.place(spec.id, request) : placer.assign(spec.id, `${backend}:${spec.device}`, request);
  if (!placement.ok) return { ...run, error: placement.error.message };
  run.device = placement.device;
  let kernel: DeviceKernel | undefined;
  try {
    const code = await readFile(spec.source, 'utf8');
    const device = Number(placement.device.slice(placement.device.indexOf(':') + 1));
    kernel = await DeviceKernel.create(hostFor(backend), { language: spec.language, label: spec.id, code, entryPoint: spec.entryPoint }, {
      index, device, stateBytes: spec.stateBytes, grid: spec.grid, inboxCapacity: spec.inboxCapacity, outboxCapacity: spec.outboxCapacity,
      ...(backend === 'cuda' ? { block: spec.block } : {}),
    });
    const written = await runWithSnapshots(kernel, steps, BATCH, snapshots);
    for (const snapshot of written) process.stderr.write(`wrote ${snapshot.view} at step ${snapshot.step} to ${snapshot.file}\n`);
    const state = await kernel.readState();
    return { ...run, step: kernel.stepCount, sha256: sha256Hex(state), ...(written.length > 0 ? { snapshots: written } : {}) };
  } catch (error) {
    return { ...run, step: kernel?.stepCount ?? 0, error: errorMessage(error) };
  } finally {
    await kernel?.release();
    // A finished kernel gives its place back: the next ones are placed by the same coordinator.
    placer.remove(spec.id);
  }
}
