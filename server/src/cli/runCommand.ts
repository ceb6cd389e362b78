// `ringkernel run MANIFEST [--steps N] [--json] [--webgpu-instances N] [--migrate ID=DEVICE@STEP]`:
// runs the manifest's kernels headless for exactly N steps each, placed by the coordinator as the
// editor places them, moves kernels between devices at the steps asked for (KernelMigrator), and
// prints per kernel its id, device, step and the SHA-256 of its state, so two runs (or two
// machines, or a run with migrations and one without) can be compared.
import { resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { probeMachine } from '../probe/machineProbe';
import { instancesSetting, withWebGpuInstances } from '../probe/deviceInstances';
import type { BackendName, BackendReport } from '../backends/backendReport';
import type { KernelSource } from '../backends/backend';
import { MultiGpuCoordinator } from '../coordinator/multiGpuCoordinator';
import { DeviceHost } from '../hosts/deviceHost';
import { DeviceKernel, type KernelPlacement } from '../hosts/deviceKernel';
import { errorMessage } from '../logger';
import { loadManifest, problemRange, runsOn, type KernelSpec } from '../manifest/manifest';
import { backendSource, noSourceReason } from '../manifest/backendSources';
import { buildTopology } from '../topology/buildTopology';
import { KernelMigrator } from '../migration/kernelMigrator';
import { migrationRoute } from '../migration/migrationRoute';
import type { MigrationReport, MigrationSubject, PreparedTarget } from '../migration/migrationTypes';
import { migrationsOf, parseMigration, type PlannedMigration } from './migrationPlan';
import { coordinatorPlacer } from '../runtime/coordinatorPlacer';
import { sha256Hex } from '../checkpoint/kernelCheckpoint';
import { kernelMemoryBytes } from '../runtime/kernelRuntime';
import { COMMANDS } from './commandHelp';

const USAGE = `usage: ${COMMANDS.run.usage} (ringkernel run --help says more)`;
/** Steps per request to the device host: enough to hide the IPC, few enough to report progress. */
const BATCH = 1_000;

interface KernelRun {
  id: string;
  device?: string;
  step: number;
  sha256?: string;
  stateBytes: number;
  migrations?: MigrationJson[];
  error?: string;
}

/** A migration as --json reports it. */
interface MigrationJson {
  from: string;
  to: string;
  step: number;
  bytes: number;
  route: string;
  ms: number;
  gbPerSecond: number;
  pausedMs: number;
  /** The phases' shares: checkpoint (device to shared memory), transfer (to the target device), verify. */
  checkpointMs: number;
  transferMs: number;
  verifyMs: number;
  verified: boolean;
  status: MigrationReport['status'];
  message: string;
}

interface RunArgs {
  manifest: string;
  steps: number;
  json: boolean;
  instances: number;
  migrations: PlannedMigration[];
}

function parseArgs(args: readonly string[]): RunArgs | string {
  let manifest: string | undefined;
  let steps = 100;
  let json = false;
  let instances = 1;
  const migrations: PlannedMigration[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const valueOf = (name: string): string | undefined => (arg === name ? args[++i] : arg.slice(name.length + 1));
    if (arg === '--json') json = true;
    else if (arg === '--steps' || arg.startsWith('--steps=')) {
      const value = valueOf('--steps');
      const parsed = Number(value);
      if (value === undefined || !Number.isSafeInteger(parsed) || parsed < 0) return `--steps needs a whole number of steps, 0 or more (got ${value ?? 'nothing'})`;
      steps = parsed;
    } else if (arg === '--webgpu-instances' || arg.startsWith('--webgpu-instances=')) {
      const value = valueOf('--webgpu-instances');
      const setting = instancesSetting(value === undefined || value === '' ? value : Number(value));
      if (setting.issue !== undefined || value === undefined) return `--webgpu-instances needs a whole number from 1 to 8 (got ${value ?? 'nothing'})`;
      instances = setting.instances;
    } else if (arg === '--migrate' || arg.startsWith('--migrate=')) {
      const migration = parseMigration(valueOf('--migrate'));
      if (typeof migration === 'string') return migration;
      migrations.push(migration);
    } else if (arg.startsWith('-')) return `unknown option ${arg}`;
    else if (manifest === undefined) manifest = arg;
    else return `one manifest only (got ${manifest} and ${arg})`;
  }
  if (manifest === undefined) return 'which manifest? Pass the path of a ringkernel.json';
  return { manifest: resolve(manifest), steps, json, instances, migrations };
}

const quiet = { error: () => undefined, warn: (m: string) => process.stderr.write(`${m}\n`), info: () => undefined, debug: () => undefined };

/** The command line's device hosts: one per WebGPU device instance, one for CUDA. */
class CliHosts {
  private readonly hosts = new Map<string, DeviceHost>();

  for(key: string): DeviceHost {
    const [backend, index] = splitKey(key);
    const slot = backend === 'cuda' ? 'cuda' : key;
    let host = this.hosts.get(slot);
    if (!host) {
      host = new DeviceHost({ backend, log: quiet, ...(backend === 'webgpu' ? { instance: index } : {}) });
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
  const unknown = parsed.migrations.filter((m) => !manifest.kernels.some((k) => k.id === m.kernelId));
  if (unknown.length > 0) {
    process.stderr.write(`ringkernel run: --migrate names ${unknown.map((m) => `"${m.kernelId}"`).join(', ')}, which ${manifest.path} does not declare (kernels: ${manifest.kernels.map((k) => k.id).join(', ')})\n`);
    return 2;
  }
  const probe = withWebGpuInstances(await probeMachine({ onOutput: (line) => process.stderr.write(`[driver] ${line}\n`) }), parsed.instances);
  const { reports } = probe;
  const coordinator = new MultiGpuCoordinator();
  coordinator.syncDevices(reports);
  const topology = buildTopology(probe.topology);
  coordinator.setTopology(topology);
  const placer = coordinatorPlacer(coordinator);
  const migrator = new KernelMigrator({
    records: { moved: (kernelId, _from, to) => { coordinator.assignKernel(kernelId, to, { force: true }); } },
    route: (from, to) => migrationRoute(topology, from, to),
  });
  const hosts = new CliHosts();
  const runs: KernelRun[] = [];
  try {
    for (const [index, spec] of manifest.kernels.entries()) {
      runs.push(await runKernel(spec, index, parsed.steps, migrationsOf(spec.id, parsed.migrations), { reports, placer, hosts, migrator, deviceExists: (key) => coordinator.device(key) !== undefined }));
    }
  } finally {
    hosts.dispose();
  }
  if (parsed.json) process.stdout.write(`${JSON.stringify({ manifest: manifest.path, steps: parsed.steps, kernels: runs }, null, 2)}\n`);
  else {
    for (const run of runs) {
      for (const migration of run.migrations ?? []) process.stdout.write(`${run.id}\tmigration at step ${migration.step}: ${migration.message}\n`);
      process.stdout.write(run.error !== undefined
        ? `${run.id}\t${run.device ?? '-'}\tfailed: ${run.error}\n`
        : `${run.id}\t${run.device ?? '-'}\tstep ${run.step}\tsha256 ${run.sha256 ?? ''}\n`);
    }
  }
  const failed = runs.some((run) => run.error !== undefined || run.migrations?.some((m) => m.status !== 'migrated'));
  return failed || manifest.problems.some((p) => p.severity === 'error') ? 1 : 0;
}

interface RunContext {
  reports: readonly BackendReport[];
  placer: ReturnType<typeof coordinatorPlacer>;
  hosts: CliHosts;
  migrator: KernelMigrator;
  deviceExists(key: string): boolean;
}

async function sourceOn(spec: KernelSpec, backend: BackendName): Promise<KernelSource> {
  const found = backendSource(spec, backend);
  if (!found) throw new Error(noSourceReason(spec, backend));
  return { language: found.language, label: spec.id, code: await readFile(found.path, 'utf8'), entryPoint: spec.entryPoint };
}

function placementOn(spec: KernelSpec, index: number, key: string): KernelPlacement {
  const [backend, device] = splitKey(key);
  return {
    index, device, stateBytes: spec.stateBytes, grid: spec.grid, inboxCapacity: spec.inboxCapacity, outboxCapacity: spec.outboxCapacity,
    ...(backend === 'cuda' ? { block: spec.block } : {}),
  };
}

async function runKernel(spec: KernelSpec, index: number, steps: number, planned: readonly PlannedMigration[], context: RunContext): Promise<KernelRun> {
  const run: KernelRun = { id: spec.id, step: 0, stateBytes: spec.stateBytes };
  const backend = runsOn(spec);
  if (!backend || spec.language === 'msl') return { ...run, error: `${spec.language.toUpperCase()} kernels cannot run here` };
  const report = context.reports.find((r) => r.backend === backend);
  if (report?.available === false) return { ...run, error: `needs ${backend === 'cuda' ? 'CUDA' : 'WebGPU'}, which is unavailable here: ${report.reason ?? 'no reason given'}` };
  const request = { backend, memoryBytes: kernelMemoryBytes(spec), stateBytes: spec.stateBytes };
  const { placer } = context;
  const placement = spec.device === 'auto' ? await placer.place(spec.id, request) : placer.assign(spec.id, `${backend}:${spec.device}`, request);
  if (!placement.ok) return { ...run, error: placement.error.message };
  run.device = placement.device;
  let kernel: DeviceKernel | undefined;
  try {
    kernel = await DeviceKernel.create(context.hosts.for(placement.device), await sourceOn(spec, backend), placementOn(spec, index, placement.device));
    let done = 0;
    const stepTo = async (until: number): Promise<void> => {
      while (done < until) {
        const count = Math.min(BATCH, until - done);
        await (kernel as DeviceKernel).run(count);
        done += count;
      }
    };
    for (const migration of planned) {
      if (migration.step > steps) throw new Error(`--migrate ${spec.id}=${migration.device}@${migration.step}: the kernel runs only ${steps} steps`);
      await stepTo(migration.step);
      if (!context.deviceExists(migration.device)) throw new Error(`--migrate ${spec.id}=${migration.device}@${migration.step}: there is no device ${migration.device} (use --webgpu-instances for more WebGPU devices)`);
      const subject = cliSubject(spec, index, run.device, kernel, context, (moved) => { kernel = moved; });
      const result = await context.migrator.migrate(subject, migration.device);
      (run.migrations ??= []).push({
        from: result.from, to: result.to, step: result.step ?? done, bytes: result.bytes, route: result.route, ms: round(result.totalMs), gbPerSecond: round(result.gbPerSecond),
        pausedMs: round(result.pausedMs), checkpointMs: round(result.checkpointMs), transferMs: round(result.transferMs), verifyMs: round(result.verifyMs), verified: result.verified, status: result.status, message: result.message,
      });
      if (result.status !== 'migrated') process.stderr.write(`ringkernel run: ${result.message}\n`);
      else run.device = migration.device;
    }
    await stepTo(steps);
    const state = await kernel.readState();
    return { ...run, step: kernel.stepCount, sha256: sha256Hex(state) };
  } catch (error) {
    return { ...run, step: kernel?.stepCount ?? 0, error: errorMessage(error) };
  } finally {
    await kernel?.release();
    // A finished kernel gives its place back: the next ones are placed by the same coordinator.
    placer.remove(spec.id);
  }
}

/** The command line's kernel as the migrator sees it: stepped in batches, so quiescing stops nothing. */
function cliSubject(spec: KernelSpec, index: number, from: string, current: DeviceKernel, context: RunContext, moved: (kernel: DeviceKernel) => void): MigrationSubject {
  return {
    id: spec.id,
    stateBytes: spec.stateBytes,
    from,
    prepare: async (to): Promise<PreparedTarget> => {
      const [backend] = splitKey(to);
      const kernel = await DeviceKernel.create(context.hosts.for(to), await sourceOn(spec, backend), placementOn(spec, index, to), { step: current.stepCount });
      return { device: to, kernel };
    },
    quiesce: () => Promise.resolve({ source: current, step: current.stepCount }),
    resumeSource: () => Promise.resolve(),
    switchTo: (target) => moved(target.kernel),
    resumeTarget: () => Promise.resolve(),
    freeSource: (source) => source.release(),
    release: (target) => target.kernel.release(),
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
