// migration: a running kernel moved between two devices by the KernelMigrator, end to end, for
// every pair of device kinds present (two WebGPU device instances of one adapter everywhere Dawn
// runs; CUDA <-> WebGPU, and CUDA <-> CUDA with two GPUs, where CUDA runs), at 4, 64, 256 MiB and
// 1 GiB of state (4 and 64 with --quick; RINGKERNEL_BENCH_MIGRATION_MIB=64,1024 picks others). This process plays the server: a KernelRuntime as the
// server builds it (probe with two WebGPU instances, coordinator, device hosts), its `migrate`.
//
// - transfer (GB/s): the state's bytes over the migration's two legs (checkpoint into the shared
//   region, region into the target's device; overlapped between two host processes), as the
//   MigrationReport gives them (bytes / gbPerSecond); raw: the slower of the two raw legs of the
//   same bytes (bench/raw.ts: device to host on the source's kind, host to device on the target's),
//   each measured alone. Target: ours at least 80% of raw (ratio at most 1.25) from 64 MiB up.
// - pause beyond the transfer (ms): the kernel's pause (quiesce to its first step on the target)
//   minus the two legs' time: quiescing, restoring, verifying (what is left after the last byte of
//   the read back and the per-block SHA-256s, which run beside the transfer; on by default) and
//   resuming. No raw (the target is 5 ms); `detail` gives the pause and the verify time.
// - CUDA <-> CUDA device to device: where CUDA runs, cuda:0 and its second device instance
//   (ringkernel.cuda.instancesPerDevice 2: two device hosts, two CUDA contexts on one GPU), whose
//   state moves through CUDA IPC; raw: cuMemcpyDtoD of the same bytes in one process. Between two
//   GPUs with peer access the state moves by a peer copy; raw: cuMemcpyPeer of the same bytes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackendName } from '../../server/src/backends/backendReport';
import { MultiGpuCoordinator } from '../../server/src/coordinator/multiGpuCoordinator';
import { errorMessage, type Logger } from '../../server/src/logger';
import { parseManifest } from '../../server/src/manifest/manifest';
import { copiesDeviceToDevice, migrationRoute } from '../../server/src/migration/migrationRoute';
import { withCudaInstances } from '../../server/src/probe/cudaInstances';
import type { MigrationReport } from '../../server/src/migration/migrationTypes';
import { bundlePath } from '../../server/src/paths';
import { withWebGpuInstances } from '../../server/src/probe/deviceInstances';
import { probeMachine } from '../../server/src/probe/machineProbe';
import { coordinatorPlacer } from '../../server/src/runtime/coordinatorPlacer';
import { KernelRuntime } from '../../server/src/runtime/kernelRuntime';
import { buildTopology } from '../../server/src/topology/buildTopology';
import { kernelCode } from '../kernels';
import { percentile, tidy, type BenchContext } from '../method';
import { MIB, openRaw, rawPeerCopy, type RawBackend, type RawTransfer } from '../raw';

const quiet: Logger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

/** Threads that step: the state is large, the step small, so the kernel runs but the transfer is measured. */
const GRID: [number, number, number] = [16, 1, 1];
/** The kernel keeps stepping at this rate while it is moved (a running kernel, leaving the CPU to the copies). */
const RATE_HZ = 100;

interface Pair {
  from: string;
  to: string;
  fromBackend: BackendName;
  toBackend: BackendName;
  /** CUDA device instances per GPU of the runtime (and the probe it places by); default 1. */
  cudaInstances?: number;
}

type Probe = Awaited<ReturnType<typeof probeMachine>>;

function sizeName(bytes: number): string {
  return bytes >= 1024 * MIB ? `${bytes / (1024 * MIB)} GiB` : `${bytes / MIB} MiB`;
}

function backendOf(key: string): BackendName {
  return key.startsWith('cuda') ? 'cuda' : 'webgpu';
}

/** One pair of devices per pair of device kinds present: webgpu/webgpu, cuda/webgpu, cuda/cuda. */
function pairsOf(devices: string[]): Pair[] {
  const webgpu = devices.filter((d) => d.startsWith('webgpu:'));
  const cuda = devices.filter((d) => d.startsWith('cuda:'));
  const pairs: Array<[string, string]> = [];
  if (webgpu.length >= 2) pairs.push([webgpu[0] as string, webgpu[1] as string]);
  if (cuda.length >= 1 && webgpu.length >= 1) pairs.push([cuda[0] as string, webgpu[0] as string]);
  if (cuda.length >= 2) pairs.push([cuda[0] as string, cuda[1] as string]);
  return pairs.map(([from, to]) => ({ from, to, fromBackend: backendOf(from), toBackend: backendOf(to) }));
}

/** A runtime running one kernel of `stateBytes` on `pair.from`, with sources for both backends. */
async function startKernel(
  pair: Pair,
  stateBytes: number,
  probe: Probe,
): Promise<{ runtime: KernelRuntime; dispose(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'ringkernel-bench-migrate-'));
  writeFileSync(join(dir, 'move.wgsl'), kernelCode('webgpu'));
  writeFileSync(join(dir, 'move.ptx'), kernelCode('cuda'));
  const [, index] = pair.from.split(':');
  const text = JSON.stringify({
    version: 1,
    kernels: [
      {
        id: 'move',
        source: pair.fromBackend === 'webgpu' ? 'move.wgsl' : 'move.ptx',
        sources: { webgpu: 'move.wgsl', cuda: 'move.ptx' },
        entryPoint: 'step',
        backend: pair.fromBackend,
        device: Number(index),
        stateBytes,
        grid: GRID,
        block: [256, 1, 1],
        rateHz: RATE_HZ,
      },
    ],
  });
  writeFileSync(join(dir, 'ringkernel.json'), text);
  const coordinator = new MultiGpuCoordinator();
  coordinator.syncDevices(probe.reports);
  const topology = buildTopology(probe.topology);
  coordinator.setTopology(topology);
  const runtime = new KernelRuntime({
    log: quiet,
    placer: coordinatorPlacer(coordinator),
    hostScript: bundlePath('deviceHost.js'),
    stepTimeoutMs: 60_000,
    checkpointIntervalMs: 0,
    validate: () => Promise.resolve([]),
    migrationRoute: (from, to) => migrationRoute(topology, from, to),
    ...(pair.cudaInstances !== undefined ? { cudaInstancesPerDevice: pair.cudaInstances } : {}),
  });
  try {
    await runtime.setManifest(parseManifest(text, join(dir, 'ringkernel.json')));
    const started = await runtime.start();
    if (started.failed.length > 0)
      throw new Error(`the kernel did not start on ${pair.from}: ${started.failed.map((f) => f.message).join('; ')}`);
  } catch (error) {
    await runtime.dispose();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    runtime,
    dispose: async () => {
      await runtime.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** RINGKERNEL_BENCH_MIGRATION_MIB (e.g. "64,1024"): the state sizes to move, in MiB, when set. */
function migrationSizesMib(): number[] | undefined {
  const text = process.env.RINGKERNEL_BENCH_MIGRATION_MIB;
  if (text === undefined || text.trim() === '') return undefined;
  const sizes = text.split(',').map((part) => Number(part.trim()));
  if (sizes.some((mib) => !Number.isInteger(mib) || mib < 1 || mib > 4096))
    throw new Error(
      `RINGKERNEL_BENCH_MIGRATION_MIB must list whole MiB from 1 to 4096, separated by commas, not "${text}"`,
    );
  return sizes;
}

export async function migrationSuite(bench: BenchContext): Promise<void> {
  const suite = 'migration';
  const { quick } = bench.plan;
  const probe = withWebGpuInstances(await probeMachine({}), 2);
  const devices = probe.reports
    .filter((r) => r.available)
    .flatMap((r) => r.devices.map((d) => `${r.backend}:${d.index}`));
  const pairs = pairsOf(devices);
  // Two CUDA device instances of GPU 0: cuda:0 and the first instance after the GPUs' own indices.
  const gpus = probe.reports.find((r) => r.backend === 'cuda' && r.available)?.devices.length ?? 0;
  const instanced = gpus > 0 ? withCudaInstances(probe, 2) : undefined;
  if (instanced)
    pairs.push({ from: 'cuda:0', to: `cuda:${gpus}`, fromBackend: 'cuda', toBackend: 'cuda', cudaInstances: 2 });
  if (pairs.length === 0) {
    bench.skip(suite, '*', `no two devices to move a kernel between (devices here: ${devices.join(', ') || 'none'})`);
    return;
  }
  const raws = new Map<BackendName, RawBackend>();
  for (const backend of new Set(pairs.flatMap((p) => [p.fromBackend, p.toBackend]))) {
    try {
      raws.set(backend, await openRaw(backend));
    } catch (error) {
      bench.skip(suite, `${backend} pairs`, `${backend} cannot run here: ${errorMessage(error)}`);
    }
  }
  const sizes = (migrationSizesMib() ?? (quick ? [4, 64] : [4, 64, 256, 1024])).map((mib) => mib * MIB);
  const moves = quick ? 2 : 4;
  for (const pair of pairs) {
    const rawFrom = raws.get(pair.fromBackend);
    const rawTo = raws.get(pair.toBackend);
    if (!rawFrom || !rawTo) continue;
    for (const bytes of sizes) {
      const label = `${pair.from} ↔ ${pair.to}, ${sizeName(bytes)}`;
      const transferName = `migration transfer, ${label}`;
      const pauseName = `migration pause beyond the transfer, ${label}`;
      const largest = Math.min(rawFrom.largestBuffer, rawTo.largestBuffer);
      if (bytes > largest) {
        const small = rawFrom.largestBuffer <= rawTo.largestBuffer ? rawFrom : rawTo;
        bench.skip(
          suite,
          transferName,
          `${sizeName(bytes)} of state is more than ${small.deviceName} (${small.backend}) holds in one buffer (${sizeName(largest)})`,
        );
        continue;
      }
      const pairProbe = pair.cudaInstances !== undefined && instanced ? instanced : probe;
      const route = migrationRoute(buildTopology(pairProbe.topology), pair.from, pair.to);
      let kernel: Awaited<ReturnType<typeof startKernel>>;
      try {
        kernel = await startKernel(pair, bytes, pairProbe);
      } catch (error) {
        bench.skip(suite, transferName, errorMessage(error));
        continue;
      }
      // Device to device (CUDA): raw is one copy of the same bytes, DtoD on one GPU, peer across two.
      let direct: RawTransfer | undefined;
      if (copiesDeviceToDevice(route, pair.from, pair.to)) {
        try {
          direct =
            route === 'samePhysicalGpu'
              ? rawFrom.copy(bytes)
              : rawPeerCopy(Number(pair.from.slice(5)), Number(pair.to.slice(5)), bytes);
        } catch (error) {
          bench.skip(suite, transferName, `the raw device-to-device copy could not be set up: ${errorMessage(error)}`);
          await kernel.dispose();
          continue;
        }
      }
      const read = rawFrom.read(bytes);
      const write = rawTo.write(bytes);
      const pauses = new Map<number, number[]>();
      const reports: MigrationReport[] = [];
      let at = pair.from;
      try {
        await bench.pair({
          suite,
          figures: [{ name: transferName, unit: 'GB/s', bytes }],
          ours: async (round) => {
            const legs: number[] = [];
            const beyond: number[] = [];
            for (let i = 0; i < moves; i++) {
              const to = at === pair.from ? pair.to : pair.from;
              const report = await kernel.runtime.migrate('move', to);
              if (report.status !== 'migrated') throw new Error(`${label}: ${report.message}`);
              at = to;
              const legsMs = bytes / (report.gbPerSecond * 1e6);
              legs.push(legsMs);
              beyond.push(Math.max(0, report.pausedMs - legsMs));
              reports.push(report);
            }
            pauses.set(round, beyond);
            return { [transferName]: legs };
          },
          raw: async () => {
            const slower: number[] = [];
            for (let i = 0; i < moves && direct; i++) {
              const started = performance.now();
              await direct.once();
              slower.push(performance.now() - started);
            }
            if (direct) return { [transferName]: slower };
            for (let i = 0; i < moves; i++) {
              let started = performance.now();
              await read.once();
              const readMs = performance.now() - started;
              started = performance.now();
              await write.once();
              slower.push(Math.max(readMs, performance.now() - started));
            }
            return { [transferName]: slower };
          },
          detail: () => {
            const of = (pick: (r: MigrationReport) => number): number => tidy(percentile(reports.map(pick), 0.5));
            return {
              from: pair.from,
              to: pair.to,
              bytes,
              routes: [...new Set(reports.map((r) => r.route))],
              deviceToDevice: reports.every((r) => r.deviceToDevice === true),
              raw: direct
                ? route === 'samePhysicalGpu'
                  ? 'cuMemcpyDtoD'
                  : 'cuMemcpyPeer'
                : 'device to host + host to device',
              oursP50Ms: {
                checkpoint: of((r) => r.checkpointMs),
                transfer: of((r) => r.transferMs),
                verify: of((r) => r.verifyMs),
                quiesce: of((r) => r.quiesceMs ?? 0),
                resume: of((r) => r.resumeMs ?? 0),
                sourceWait: of((r) => r.sourceWaitMs ?? 0),
                importWait: of((r) => r.importWaitMs ?? 0),
                firstChunk: of((r) => r.firstChunkMs ?? 0),
                pause: of((r) => r.pausedMs),
                total: of((r) => r.totalMs),
              },
              verified: reports.every((r) => r.verified),
            };
          },
        });
        await bench.pair({
          suite,
          figures: [{ name: pauseName, unit: 'ms' }],
          // The same migrations' pauses, round by round, as the transfer figure measured them.
          ours: (round) => Promise.resolve({ [pauseName]: pauses.get(round) ?? [] }),
          detail: () => ({
            targetMs: 5,
            pauseP50Ms: tidy(
              percentile(
                reports.map((r) => r.pausedMs),
                0.5,
              ),
            ),
            verifyP50Ms: tidy(
              percentile(
                reports.map((r) => r.verifyMs),
                0.5,
              ),
            ),
          }),
        });
      } finally {
        direct?.destroy();
        read.destroy();
        write.destroy();
        await kernel.dispose();
      }
    }
  }
}
