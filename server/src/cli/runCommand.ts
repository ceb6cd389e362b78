// `ringkernel run MANIFEST [--steps N] [--json] [--webgpu-instances N] [--cuda-instances N] [--migrate ID=DEVICE@STEP] [--snapshot VIEW@STEP=FILE]`:
// runs the manifest's kernels headless for exactly N steps each, placed by the coordinator as the
// editor places them, and prints per kernel its id, device, step and the SHA-256 of its state, so
// two runs (or two machines) can be compared. The kernels run together in lockstep
// (runtime/lockstepRun.ts), their messages delivered by the K2K router between steps, so the
// digests do not depend on placement. A --migrate moves a kernel (KernelMigrator) between two
// lockstep steps: the run stops after STEP steps, the kernel moves, the router follows it, the run
// goes on. --json adds each migration and the router's totals.
// Each --snapshot writes a manifest view as it is after a step, as PNG or CSV (snapshotWriter.ts).
// --checkpoint-dir DIR resumes every kernel from its newest file there written by the same code
// (all at one step; --steps N then runs N more) and writes each kernel's final state there, with
// the router's messages for and from it, which the next run delivers
// (checkpointResume.ts).
import { resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { probeMachine } from '../probe/machineProbe';
import { instancesSetting, withWebGpuInstances } from '../probe/deviceInstances';
import { cudaInstancesSetting, withCudaInstances, MAX_CUDA_INSTANCES_PER_DEVICE } from '../probe/cudaInstances';
import type { BackendName, BackendReport } from '../backends/backendReport';
import type { KernelSource } from '../backends/backend';
import { MultiGpuCoordinator } from '../coordinator/multiGpuCoordinator';
import { DeviceHost } from '../hosts/deviceHost';
import { DeviceKernel, type KernelPlacement } from '../hosts/deviceKernel';
import { DEFAULT_COORDINATOR_CONFIG } from '../coordinator/coordinatorTypes';
import { K2KRouter, type RouterStatsSnapshot } from '../router';
import { runLockstep, type LockstepKernel } from '../runtime/lockstepRun';
import { errorMessage } from '../logger';
import { loadManifest, problemRange, runsOn, type KernelSpec } from '../manifest/manifest';
import { backendSource, noSourceReason } from '../manifest/backendSources';
import { buildTopology } from '../topology/buildTopology';
import { KernelMigrator } from '../migration/kernelMigrator';
import { migrationRoute, routeLabel } from '../migration/migrationRoute';
import type { MigrationReport, MigrationSubject, PreparedTarget } from '../migration/migrationTypes';
import { parseMigration, type PlannedMigration } from './migrationPlan';
import { coordinatorPlacer } from '../runtime/coordinatorPlacer';
import { sha256Hex } from '../checkpoint/kernelCheckpoint';
import { kernelMemoryBytes } from '../runtime/kernelRuntime';
import { COMMANDS } from './commandHelp';
import { printDriverLine } from '../driverNoise';
import { parseSnapshot, resolveSnapshot, type ResolvedSnapshot, type SnapshotRequest } from './snapshotOption';
import { runStops, writeSnapshot, type WrittenSnapshot } from './snapshotWriter';
import { CheckpointStore } from '../checkpoint/checkpointStore';
import type { KernelCheckpoint } from '../checkpoint/kernelCheckpoint';
import { codeSha256, finalRecord, findResumePoints, type ResumeDecision } from './checkpointResume';

const USAGE = `usage: ${COMMANDS.run.usage} (ringkernel run --help says more)`;
/** Steps per request to the device host when no kernel can receive: enough to hide the IPC. */
const BATCH = 1_000;

interface KernelRun {
  id: string;
  device?: string;
  step: number;
  sha256?: string;
  stateBytes: number;
  migrations?: MigrationJson[];
  error?: string;
  /** The --snapshot files written for this kernel. */
  snapshots?: WrittenSnapshot[];
  /** --checkpoint-dir: the file the run resumed from, and the one it wrote at its end. */
  resumedFrom?: { file: string; step: number };
  checkpoint?: string;
}

/** A migration as --json reports it. */
interface MigrationJson {
  from: string;
  to: string;
  step: number;
  bytes: number;
  route: string;
  /** The route in words: "same physical GPU, device to device", "staged through the host", ... */
  routeLabel: string;
  /** The state was copied device to device (CUDA IPC between device hosts, or within one), not through host memory. */
  deviceToDevice: boolean;
  ms: number;
  gbPerSecond: number;
  pausedMs: number;
  /** The phases' shares: checkpoint (device to shared memory), transfer (to the target device), verify. */
  checkpointMs: number;
  transferMs: number;
  verifyMs: number;
  verified: boolean;
  /** Where the verify's digests were computed: 'gpu' (the digest kernel, device to device) or 'cpu'; absent unverified. */
  verifiedOn?: 'gpu' | 'cpu';
  status: MigrationReport['status'];
  message: string;
}

interface RunArgs {
  manifest: string;
  steps: number;
  json: boolean;
  instances: number;
  /** --cuda-instances: CUDA device instances per GPU, each a device host of its own. */
  cudaInstances: number;
  migrations: PlannedMigration[];
  snapshots: SnapshotRequest[];
  checkpointDir: string | undefined;
}

function parseArgs(args: readonly string[]): RunArgs | string {
  let manifest: string | undefined;
  let steps = 100;
  let json = false;
  let instances = 1;
  let cudaInstances = 1;
  const migrations: PlannedMigration[] = [];
  const snapshots: SnapshotRequest[] = [];
  let checkpointDir: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const valueOf = (name: string): string | undefined => (arg === name ? args[++i] : arg.slice(name.length + 1));
    if (arg === '--json') json = true;
    else if (arg === '--snapshot' || arg.startsWith('--snapshot=')) {
      const snapshot = parseSnapshot(arg === '--snapshot' ? args[++i] : arg.slice('--snapshot='.length));
      if (typeof snapshot === 'string') return snapshot;
      snapshots.push(snapshot);
    } else if (arg === '--steps' || arg.startsWith('--steps=')) {
      const value = valueOf('--steps');
      const parsed = Number(value);
      if (value === undefined || !Number.isSafeInteger(parsed) || parsed < 0)
        return `--steps needs a whole number of steps, 0 or more (got ${value ?? 'nothing'})`;
      steps = parsed;
    } else if (arg === '--webgpu-instances' || arg.startsWith('--webgpu-instances=')) {
      const value = valueOf('--webgpu-instances');
      const setting = instancesSetting(value === undefined || value === '' ? value : Number(value));
      if (setting.issue !== undefined || value === undefined)
        return `--webgpu-instances needs a whole number from 1 to 8 (got ${value ?? 'nothing'})`;
      instances = setting.instances;
    } else if (arg === '--cuda-instances' || arg.startsWith('--cuda-instances=')) {
      const value = valueOf('--cuda-instances');
      const setting = cudaInstancesSetting(value === undefined || value === '' ? value : Number(value));
      if (setting.issue !== undefined || value === undefined)
        return `--cuda-instances needs a whole number from 1 to ${MAX_CUDA_INSTANCES_PER_DEVICE} (got ${value ?? 'nothing'})`;
      cudaInstances = setting.instances;
    } else if (arg === '--checkpoint-dir' || arg.startsWith('--checkpoint-dir=')) {
      const value = valueOf('--checkpoint-dir');
      if (value === undefined || value === '') return '--checkpoint-dir needs a folder';
      checkpointDir = resolve(value);
    } else if (arg === '--migrate' || arg.startsWith('--migrate=')) {
      const migration = parseMigration(valueOf('--migrate'));
      if (typeof migration === 'string') return migration;
      migrations.push(migration);
    } else if (arg.startsWith('-')) return `unknown option ${arg}`;
    else if (manifest === undefined) manifest = arg;
    else return `one manifest only (got ${manifest} and ${arg})`;
  }
  if (manifest === undefined) return 'which manifest? Pass the path of a ringkernel.json';
  for (const m of migrations) {
    if (m.step > steps)
      return `--migrate ${m.kernelId}=${m.device}@${m.step}: the run has only ${steps} steps (--steps)`;
    if (migrations.some((other) => other !== m && other.kernelId === m.kernelId && other.step === m.step))
      return `--migrate: "${m.kernelId}" is moved twice at step ${m.step}; give one move per kernel and step`;
  }
  return {
    manifest: resolve(manifest),
    steps,
    json,
    instances,
    cudaInstances,
    migrations: [...migrations].sort((a, b) => a.step - b.step),
    snapshots,
    checkpointDir,
  };
}

const quiet = {
  error: () => undefined,
  warn: (m: string) => process.stderr.write(`${m}\n`),
  info: () => undefined,
  debug: () => undefined,
};

/** The command line's device hosts: one per WebGPU device instance, one for CUDA (one per CUDA instance with --cuda-instances). */
class CliHosts {
  private readonly hosts = new Map<string, DeviceHost>();

  constructor(private readonly cudaInstances = 1) {}

  for(key: string): DeviceHost {
    const [backend, index] = splitKey(key);
    const instanced = backend === 'cuda' && this.cudaInstances > 1;
    const slot = backend === 'cuda' && !instanced ? 'cuda' : key;
    let host = this.hosts.get(slot);
    if (!host) {
      host = new DeviceHost({
        backend,
        log: quiet,
        ...(backend === 'webgpu' || instanced ? { instance: index } : {}),
        ...(instanced ? { cudaInstancesPerDevice: this.cudaInstances } : {}),
      });
      this.hosts.set(slot, host);
    }
    return host;
  }

  dispose(): void {
    for (const host of this.hosts.values()) host.dispose();
    this.hosts.clear();
  }
}

function splitKey(key: string): [BackendName, number] {
  const at = key.indexOf(':');
  return [key.slice(0, at) as BackendName, Number(key.slice(at + 1))];
}

type Started = LockstepKernel & { run: KernelRun; spec: KernelSpec };

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
    process.stderr.write(
      `${manifest.path}:${start.line + 1}:${start.character + 1}: ${problem.severity}: ${problem.message}\n`,
    );
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
  const unknown = parsed.migrations.filter((m) => !manifest.kernels.some((k) => k.id === m.kernelId));
  if (unknown.length > 0) {
    process.stderr.write(
      `ringkernel run: --migrate names ${unknown.map((m) => `"${m.kernelId}"`).join(', ')}, which ${manifest.path} does not declare (kernels: ${manifest.kernels.map((k) => k.id).join(', ')})\n`,
    );
    return 2;
  }
  const probe = withCudaInstances(
    withWebGpuInstances(await probeMachine({ onOutput: printDriverLine }), parsed.instances),
    parsed.cudaInstances,
  );
  const { reports } = probe;
  // Lockstep runs every kernel at once; the editor's per-device cap is a setting the command line does not have.
  const coordinator = new MultiGpuCoordinator({
    maxKernelsPerDevice: Math.max(DEFAULT_COORDINATOR_CONFIG.maxKernelsPerDevice, manifest.kernels.length),
  });
  coordinator.syncDevices(reports);
  const topology = buildTopology(probe.topology);
  coordinator.setTopology(topology);
  const missing = parsed.migrations.filter((m) => coordinator.device(m.device) === undefined);
  if (missing.length > 0) {
    process.stderr.write(
      `ringkernel run: --migrate to ${missing.map((m) => m.device).join(', ')}: no such device here (devices: ${
        coordinator
          .devices()
          .map((d) => d.key)
          .join(', ') || 'none'
      }; --webgpu-instances N opens more WebGPU devices, --cuda-instances N more CUDA devices)\n`,
    );
    return 2;
  }
  const placer = coordinatorPlacer(coordinator);
  const migrator = new KernelMigrator({
    records: {
      moved: (kernelId, _from, to) => {
        coordinator.assignKernel(kernelId, to, { force: true });
      },
    },
    route: (from, to) => migrationRoute(topology, from, to),
  });
  let store: CheckpointStore | undefined;
  let resume: ResumeDecision | undefined;
  if (parsed.checkpointDir !== undefined) {
    try {
      store = await CheckpointStore.open(parsed.checkpointDir, { logger: quiet });
      resume = await findResumePoints(store, await resumeCandidates(manifest.kernels, reports));
    } catch (error) {
      process.stderr.write(`ringkernel run: --checkpoint-dir: ${errorMessage(error)}\n`);
      return 1;
    }
    for (const note of resume.notes) process.stderr.write(`ringkernel run: ${note}\n`);
  }
  const hosts = new CliHosts(parsed.cudaInstances);
  // Lockstep after a resume: the router's steps carry on from the checkpoints' step.
  const router = new K2KRouter({ mode: 'lockstep', ...(resume?.step !== undefined ? { firstStep: resume.step } : {}) });
  const runs: KernelRun[] = [];
  const started: Started[] = [];
  /** Messages the files handed this run's router (the last run's pending ones). */
  let restoredMessages = 0;
  const failures = new Map<string, string>();
  try {
    for (const [index, spec] of manifest.kernels.entries()) {
      const run: KernelRun = { id: spec.id, step: 0, stateBytes: spec.stateBytes };
      runs.push(run);
      const from = resume?.points.get(spec.id);
      const kernel = await createKernel(spec, index, run, reports, placer, hosts, from?.checkpoint);
      if (kernel && from) run.resumedFrom = { file: from.file, step: from.checkpoint.step };
      if (!kernel || run.device === undefined) continue;
      router.addKernel({ index, id: spec.id, device: run.device });
      started.push({ index, id: spec.id, device: run.device, kernel, inboxCapacity: spec.inboxCapacity, run, spec });
    }
    // The messages the last run's router held, and its sequence numbers, from the files' PEND chunks.
    if (resume?.step !== undefined) {
      const saved = started.flatMap((entry) => {
        const point = resume?.points.get(entry.id);
        return point?.pendingMessages && point.kernelIndex === entry.index ? [point.pendingMessages] : [];
      });
      const restored = router.restoreMessages(saved);
      restoredMessages = restored.restored;
      for (const note of restored.notes) process.stderr.write(`ringkernel run: ${note}\n`);
    }
    // Run to each step a migration or a snapshot asks for, do what is due there between two
    // lockstep steps, go on; a kernel that failed sits the rest out.
    let done = 0;
    const runTo = async (step: number): Promise<void> => {
      const live = started.filter((entry) => !failures.has(entry.id));
      for (const [id, failure] of await runLockstep(router, live, step - done, { batch: BATCH }))
        failures.set(id, failure);
      done = step;
    };
    const stops = [...new Set([...parsed.migrations.map((m) => m.step), ...runStops(snapshots, parsed.steps)])].sort(
      (a, b) => a - b,
    );
    for (const stop of stops) {
      if (stop > done) await runTo(stop);
      for (const planned of parsed.migrations.filter((m) => m.step === stop)) {
        const entry = started.find((e) => e.id === planned.kernelId);
        const run = runs.find((r) => r.id === planned.kernelId);
        if (!entry || !run || failures.has(entry.id)) {
          process.stderr.write(
            `ringkernel run: --migrate ${planned.kernelId}=${planned.device}@${planned.step}: the kernel is not running (${run?.error ?? (entry ? failures.get(entry.id) : undefined) ?? 'it did not start'})\n`,
          );
          continue;
        }
        const result = await migrator.migrate(lockstepSubject(entry, hosts, router), planned.device);
        (run.migrations ??= []).push(migrationJson(result, done));
        if (result.status !== 'migrated') process.stderr.write(`ringkernel run: ${result.message}\n`);
      }
      for (const snapshot of snapshots.filter((s) => s.step === stop)) {
        const entry = started.find((e) => e.id === snapshot.kernelId && !failures.has(e.id));
        if (!entry) continue;
        try {
          const written = await writeSnapshot(entry.kernel, snapshot);
          (entry.run.snapshots ??= []).push(written);
          process.stderr.write(`wrote ${written.view} at step ${written.step} to ${written.file}\n`);
        } catch (error) {
          entry.run.error = errorMessage(error);
        }
      }
    }
    for (const entry of started) {
      const failure = failures.get(entry.id) ?? entry.run.error;
      entry.run.step = entry.kernel.stepCount;
      if (failure !== undefined) {
        entry.run.error = failure;
        continue;
      }
      try {
        const state = await entry.kernel.readState();
        entry.run.sha256 = sha256Hex(state);
        if (store) {
          const [backend] = splitKey(entry.device);
          const outcome = await store.write(
            finalRecord({
              id: entry.id,
              version: from(resume, entry.id)?.version ?? 1,
              step: entry.kernel.stepCount,
              state,
              code: entry.kernel.source.code,
              backend,
              deviceKey: entry.device,
              kernelIndex: entry.index,
              outboxCapacity: entry.spec.outboxCapacity,
              pendingMessages: router.checkpointMessages(entry.index, entry.id, entry.kernel.stepCount),
            }),
          );
          if (outcome.written) entry.run.checkpoint = outcome.file;
        }
      } catch (error) {
        entry.run.error = errorMessage(error);
      }
    }
  } finally {
    await Promise.allSettled(started.map((entry) => entry.kernel.release()));
    for (const run of runs) placer.remove(run.id);
    hosts.dispose();
  }
  const stats = router.snapshot();
  if (parsed.json)
    process.stdout.write(
      `${JSON.stringify({ manifest: manifest.path, steps: parsed.steps, kernels: runs, router: routerSummary(stats, restoredMessages) }, null, 2)}\n`,
    );
  else {
    for (const run of runs) {
      if (run.resumedFrom)
        process.stdout.write(
          `${run.id}\tresumed from checkpoint ${run.resumedFrom.file} at step ${run.resumedFrom.step}\n`,
        );
      for (const migration of run.migrations ?? [])
        process.stdout.write(`${run.id}\tmigration at step ${migration.step}: ${migration.message}\n`);
      process.stdout.write(
        run.error !== undefined
          ? `${run.id}\t${run.device ?? '-'}\tfailed: ${run.error}\n`
          : `${run.id}\t${run.device ?? '-'}\tstep ${run.step}\tsha256 ${run.sha256 ?? ''}\n`,
      );
    }
    const t = stats.totals;
    if (t.submitted > 0 || t.outboxFull > 0) {
      process.stdout.write(
        `router\tsent ${t.submitted}\tdelivered ${t.delivered}\tpending ${t.pending}\trefused ${t.refused}\toutbox full ${t.outboxFull}\tfailed ${t.failed}\n`,
      );
    }
  }
  const failed = runs.some((run) => run.error !== undefined || run.migrations?.some((m) => m.status !== 'migrated'));
  return failed || manifest.problems.some((p) => p.severity === 'error') ? 1 : 0;
}

function migrationJson(result: MigrationReport, step: number): MigrationJson {
  return {
    from: result.from,
    to: result.to,
    step: result.step ?? step,
    bytes: result.bytes,
    route: result.route,
    routeLabel: routeLabel(result.route, result.from, result.to),
    deviceToDevice: result.deviceToDevice === true,
    ms: round(result.totalMs),
    gbPerSecond: round(result.gbPerSecond),
    pausedMs: round(result.pausedMs),
    checkpointMs: round(result.checkpointMs),
    transferMs: round(result.transferMs),
    verifyMs: round(result.verifyMs),
    verified: result.verified,
    ...(result.verifiedOn ? { verifiedOn: result.verifiedOn } : {}),
    status: result.status,
    message: result.message,
  };
}

/** What `--json` reports of the router: its totals, routes, failures by reason, and latency in steps. */
function routerSummary(
  stats: RouterStatsSnapshot,
  restored = 0,
): Pick<RouterStatsSnapshot, 'mode' | 'totals' | 'routes' | 'failures' | 'latencySteps'> & {
  lost: number;
  restored: number;
} {
  const { totals } = stats;
  // Every message read from an outbox is delivered, still pending, or counted as refused, failed or
  // a duplicate; `lost` is what none of those account for (0 unless the router has a bug). A
  // sender removed mid-step fails its staged messages before they count as submitted. Messages
  // restored from checkpoint files (`restored`) were handed in by the run before.
  const accounted =
    totals.delivered +
    totals.pending +
    totals.staged +
    totals.refused +
    totals.duplicates +
    totals.failed -
    stats.failures.sourceRemoved;
  const lost = totals.submitted + restored - accounted;
  return {
    restored,
    mode: stats.mode,
    totals,
    routes: stats.routes,
    failures: stats.failures,
    latencySteps: stats.latencySteps,
    lost,
  };
}

async function sourceOn(spec: KernelSpec, backend: BackendName): Promise<KernelSource> {
  const found = backendSource(spec, backend);
  if (!found) throw new Error(noSourceReason(spec, backend));
  return {
    language: found.language,
    label: spec.id,
    code: await readFile(found.path, 'utf8'),
    entryPoint: spec.entryPoint,
  };
}

function placementOn(spec: KernelSpec, index: number, key: string): KernelPlacement {
  const [backend, device] = splitKey(key);
  return {
    index,
    device,
    stateBytes: spec.stateBytes,
    grid: spec.grid,
    inboxCapacity: spec.inboxCapacity,
    outboxCapacity: spec.outboxCapacity,
    ...(backend === 'cuda' ? { block: spec.block } : {}),
  };
}

/** Places and creates one kernel; records why not in `run` and returns undefined when it cannot run. */
async function createKernel(
  spec: KernelSpec,
  index: number,
  run: KernelRun,
  reports: readonly BackendReport[],
  placer: ReturnType<typeof coordinatorPlacer>,
  hosts: CliHosts,
  from?: KernelCheckpoint,
): Promise<DeviceKernel | undefined> {
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
  const placement =
    spec.device === 'auto'
      ? await placer.place(spec.id, request)
      : placer.assign(spec.id, `${backend}:${spec.device}`, request);
  if (!placement.ok) {
    run.error = placement.error.message;
    return undefined;
  }
  run.device = placement.device;
  try {
    const kernel = await DeviceKernel.create(
      hosts.for(placement.device),
      await sourceOn(spec, backend),
      placementOn(spec, index, placement.device),
      from ? { step: from.step } : {},
    );
    if (from) {
      try {
        from.verify();
        await kernel.writeState(new Uint8Array(from.state));
      } catch (error) {
        await kernel.release();
        throw error;
      }
    }
    return kernel;
  } catch (error) {
    run.error = errorMessage(error);
    return undefined;
  }
}

/**
 * A lockstep kernel as the migrator sees it. Between two lockstep steps nothing runs, so quiescing
 * stops nothing; the switch swaps the DeviceKernel in the lockstep list and moves the kernel's
 * router record (its pending messages are routed again to the new device).
 */
function lockstepSubject(entry: Started, hosts: CliHosts, router: K2KRouter): MigrationSubject {
  const current = entry.kernel;
  return {
    id: entry.id,
    stateBytes: entry.spec.stateBytes,
    from: entry.device,
    prepare: async (to): Promise<PreparedTarget> => {
      const [backend] = splitKey(to);
      const kernel = await DeviceKernel.create(
        hosts.for(to),
        await sourceOn(entry.spec, backend),
        placementOn(entry.spec, entry.index, to),
        { step: current.stepCount },
      );
      return { device: to, kernel };
    },
    prepareSource: () => current.prepareExport(),
    quiesce: () => Promise.resolve({ source: current, step: current.stepCount }),
    resumeSource: () => Promise.resolve(),
    switchTo: (target) => {
      entry.kernel = target.kernel;
      entry.device = target.device;
      entry.run.device = target.device;
      router.relocate(entry.index, target.device);
    },
    resumeTarget: () => Promise.resolve(),
    freeSource: (source) => source.release(),
    release: (target) => target.kernel.release(),
  };
}

/** The kernels that can run here, with the code each would run: what --checkpoint-dir looks for. */
async function resumeCandidates(
  specs: readonly KernelSpec[],
  reports: readonly BackendReport[],
): Promise<{ id: string; codeSha256: string; stateBytes: number }[]> {
  const candidates = [];
  for (const spec of specs) {
    const backend = runsOn(spec);
    if (!backend || spec.language === 'msl' || reports.find((r) => r.backend === backend)?.available === false)
      continue;
    const source = await sourceOn(spec, backend).catch(() => undefined);
    if (source) candidates.push({ id: spec.id, codeSha256: codeSha256(source.code), stateBytes: spec.stateBytes });
  }
  return candidates;
}

function from(resume: ResumeDecision | undefined, id: string): KernelCheckpoint | undefined {
  return resume?.points.get(id)?.checkpoint;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
