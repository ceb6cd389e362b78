// CUDA device instances and device-to-device migration on one NVIDIA GPU (RINGKERNEL_TEST_GPU=1):
// - the addon's CUDA IPC: a child process exports an allocation, this one opens it, reads its bytes
//   and copies it device to device; a handle whose allocation is gone, and 64 bytes of garbage,
//   fail with a clear CUDA error, never a crash;
// - `ringkernel.cuda.instancesPerDevice` 2: cuda:0 and cuda:1 are one GPU in two device hosts (two
//   processes, two CUDA contexts); a running kernel moves cuda:0 -> cuda:1 -> cuda:0 device to device
//   (route "same physical GPU, device to device"), its state verified at each move and its counters
//   showing every step ran once;
// - `ringkernel run --cuda-instances 2 --migrate ...` ends with the same SHA-256 as the run without;
// - a CUDA device instance whose host keeps dying is lost: the log names it, and its kernel comes
//   back on the other instance from its checkpoint, every step still counted once.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { isCudaError, type CudaAddon } from '../../server/src/backends/cuda/cudaAddon';
import { loadCudaAddon } from '../../server/src/backends/cuda/cudaAddonLoader';
import type { Logger } from '../../server/src/logger';
import { loadManifest } from '../../server/src/manifest/manifest';
import { MultiGpuCoordinator } from '../../server/src/coordinator/multiGpuCoordinator';
import { migrationRoute, routeLabel } from '../../server/src/migration/migrationRoute';
import { probeMachine } from '../../server/src/probe/machineProbe';
import { withCudaInstances } from '../../server/src/probe/cudaInstances';
import { buildTopology } from '../../server/src/topology/buildTopology';
import { coordinatorPlacer } from '../../server/src/runtime/coordinatorPlacer';
import { KernelRuntime, type KernelRuntimeOptions } from '../../server/src/runtime/kernelRuntime';
import type { ReloadOutcome } from '../../server/src/runtime/kernelReports';
import { pollUntil } from '../support/poll';
import { distFile, repoRoot } from '../support/repo';

const skip =
  process.env.RINGKERNEL_TEST_GPU === '1'
    ? false
    : 'needs an NVIDIA GPU: set RINGKERNEL_TEST_GPU=1 on a machine with one';
const quiet: Logger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };
const MIB = 1024 * 1024;

function cuda(): CudaAddon {
  const loaded = loadCudaAddon();
  assert.ok(loaded.ok, loaded.ok ? '' : loaded.reason);
  return loaded.addon;
}

/**
 * A child process that allocates `bytes` on CUDA device 0, fills them with `fill`, prints the
 * allocation's IPC handle as hex, and keeps it until its stdin closes ("free" on stdin frees it
 * first and says "freed"). Resolves with the handle and the process.
 */
async function exporter(
  bytes: number,
  fill: number,
): Promise<{ handle: Uint8Array; child: ReturnType<typeof spawn>; output: () => string }> {
  const loaded = loadCudaAddon();
  assert.ok(loaded.ok, loaded.ok ? '' : loaded.reason);
  const addonPath = loaded.path;
  const script = `
    const cuda = require(${JSON.stringify(addonPath)});
    const memory = cuda.memAlloc(0, ${bytes});
    cuda.memsetD8(memory, ${fill}, ${bytes});
    process.stdout.write('handle ' + Buffer.from(cuda.ipcGetMemHandle(memory)).toString('hex') + '\\n');
    process.stdin.on('data', (data) => {
      if (String(data).includes('free')) { cuda.memFree(memory); process.stdout.write('freed\\n'); }
    });
    process.stdin.on('end', () => process.exit(0));
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (output += chunk));
  const hex = await pollUntil(
    'the exporting process to print its IPC handle',
    () => /handle ([0-9a-f]{128})\n/.exec(output)?.[1],
    { timeoutMs: 30_000 },
  );
  return { handle: Uint8Array.from(Buffer.from(hex, 'hex')), child, output: () => output };
}

test(
  "CUDA IPC: another process's allocation is opened here, read, copied device to device, and closed",
  { skip, timeout: 60_000 },
  async () => {
    const addon = cuda();
    const bytes = 4 * MIB;
    const { handle, child } = await exporter(bytes, 0x5a);
    try {
      const mapping = addon.ipcOpenMemHandle(0, handle, bytes);
      assert.equal(mapping.ipc, true);
      assert.equal(mapping.bytes, bytes);
      const copy = addon.memAlloc(0, bytes);
      const stream = addon.streamCreate(0);
      addon.memcpyDtoDAsync(stream, copy, mapping, bytes);
      await addon.streamSynchronizeAsync(stream);
      const seen = new Uint8Array(bytes);
      addon.memcpyDtoH(seen, copy);
      assert.ok(
        seen.every((b) => b === 0x5a),
        'the bytes copied device to device from the other process are the ones it wrote',
      );
      assert.throws(() => addon.memFree(mapping), /close it with ipcCloseMemHandle/);
      assert.throws(() => addon.ipcCloseMemHandle(copy), /not an IPC mapping; free it with memFree/);
      addon.ipcCloseMemHandle(mapping);
      assert.throws(
        () => addon.memcpyDtoDAsync(stream, copy, mapping, bytes),
        (error: unknown) => isCudaError(error) && error.name === 'CUDA_ERROR_INVALID_HANDLE',
      );
      addon.memFree(copy);
      addon.streamDestroy(stream);
      // Asking for more than the exporter allocated is refused before any copy could run past its end.
      assert.throws(
        () => addon.ipcOpenMemHandle(0, handle, bytes * 4),
        (error: unknown) =>
          isCudaError(error) &&
          /the handle maps .* fewer than the 16\.0 MiB|16777216 bytes expected/.test(error.message),
      );
    } finally {
      child.stdin?.end();
    }
  },
);

test(
  'CUDA IPC: a stale handle (its allocation freed) and 64 bytes of garbage fail with a clear CUDA error',
  { skip, timeout: 60_000 },
  async () => {
    const addon = cuda();
    const { handle, child, output } = await exporter(MIB, 1);
    try {
      child.stdin?.write('free\n');
      await pollUntil('the exporter to free its allocation', () => (output().includes('freed') ? true : undefined));
      const refused = (what: string, bytes: Uint8Array): void => {
        assert.throws(
          () => addon.ipcOpenMemHandle(0, bytes, MIB),
          (error: unknown) => {
            assert.ok(isCudaError(error), `${what}: a structured CUDA error, got ${String(error)}`);
            assert.match(error.name, /^CUDA_ERROR_/, `${what}: ${error.name}: ${error.message}`);
            assert.equal(error.call, 'cuIpcOpenMemHandle_v2');
            assert.match(error.message, /opening an IPC memory handle of 1\.0 MiB|1048576 bytes/);
            assert.match(error.message, /allocation is still alive/);
            return true;
          },
        );
      };
      refused('a stale handle', handle);
      refused('garbage', Uint8Array.from(randomBytes(64)));
      assert.throws(() => addon.ipcOpenMemHandle(0, new Uint8Array(16), MIB), /handle must be the 64 bytes/);
      // The addon still works after the refusals.
      const memory = addon.memAlloc(0, 1024);
      addon.memFree(memory);
    } finally {
      child.stdin?.end();
    }
  },
);

/** A folder holding a manifest with one counter kernel on CUDA (examples/kernels/counter.ptx: slot i holds steps × i). */
function counterWorkspace(): { folder: string; manifest: string } {
  const folder = mkdtempSync(join(tmpdir(), 'ringkernel-cuda-instances-'));
  copyFileSync(join(repoRoot, 'examples', 'kernels', 'counter.ptx'), join(folder, 'counter.ptx'));
  const manifest = join(folder, 'ringkernel.json');
  writeFileSync(
    manifest,
    JSON.stringify({
      version: 1,
      kernels: [
        {
          id: 'counter',
          source: 'counter.ptx',
          entryPoint: 'count_up',
          backend: 'cuda',
          device: 0,
          // 4096 blocks of 256 threads: 1 Mi slots, 4 MiB of state.
          stateBytes: 4 * MIB,
          grid: [4096, 1, 1],
          block: [256, 1, 1],
          rateHz: 0,
        },
      ],
    }),
  );
  return { folder, manifest };
}

const folders: string[] = [];
after(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/** Every slot holds steps × slot (mod 2^32): each step ran exactly once. */
function countedOnce(state: Uint8Array, step: number): string | undefined {
  const words = new Uint32Array(state.buffer, state.byteOffset, state.byteLength / 4);
  for (let i = 0; i < words.length; i++) {
    const expected = Math.imul(step, i) >>> 0;
    if (words[i] !== expected) return `slot ${i} holds ${words[i]}, not ${step} × ${i} = ${expected}`;
  }
  return undefined;
}

test(
  'cuda.instancesPerDevice 2: a running kernel moves cuda:0 -> cuda:1 -> cuda:0 device to device, verified, every step once',
  { skip, timeout: 180_000 },
  async () => {
    const { runtime, probe, topology, manifest } = await instanceRuntime();
    try {
      assert.deepEqual(
        manifest.problems.filter((p) => p.severity === 'error').map((p) => p.message),
        [],
      );
      const cudaReport = probe.reports.find((r) => r.backend === 'cuda');
      assert.ok(cudaReport?.available, `CUDA is available: ${cudaReport?.reason ?? 'no report'}`);
      assert.ok(
        cudaReport.devices.some((d) => d.index === 1),
        `two CUDA instances of GPU 0: ${cudaReport.devices.map((d) => `${d.index} ${d.name}`).join(', ')}`,
      );
      assert.equal(
        topology.link('cuda:0', 'cuda:1')?.interconnect.kind,
        'samePhysicalGpu',
        'cuda:0 and cuda:1 are one physical GPU in the topology',
      );
      const started = await runtime.start();
      assert.deepEqual(started.failed, [], 'the counter starts on cuda:0');
      assert.equal(runtime.views().find((v) => v.id === 'counter')?.device, 'cuda:0');
      let last = 0;
      for (const to of ['cuda:1', 'cuda:0']) {
        await pollUntil(
          `counter stepping past ${last + 20}`,
          async () => ((await runtime.readState('counter')).step > last + 20 ? true : undefined),
          { timeoutMs: 60_000 },
        );
        const report = await runtime.migrate('counter', to);
        assert.equal(report.status, 'migrated', report.message);
        assert.equal(report.route, 'samePhysicalGpu');
        assert.equal(report.deviceToDevice, true, `the state moved device to device: ${report.message}`);
        assert.equal(routeLabel(report.route, report.from, report.to), 'same physical GPU, device to device');
        assert.equal(report.verified, true, `the state on ${to} has the source's SHA-256 (${report.sha256 ?? 'none'})`);
        // The target's host digested both sides with the digest kernel: no state was read back to the CPU.
        assert.equal(report.verifiedOn, 'gpu', `verified on the GPU, not on the CPU: ${report.message}`);
        assert.equal(report.bytes, 4 * MIB);
        assert.equal(runtime.views().find((v) => v.id === 'counter')?.device, to);
        // Each instance is a device host of its own: the kernel's loop runs in the host of `to` only.
        const hosts = (await runtime.hostReport()).filter((h) => h.backend === 'cuda');
        const running = hosts.filter((h) => h.loops.some((l) => l.kernel === 'counter'));
        assert.deepEqual(
          running.map((h) => h.instance),
          [Number(to.slice('cuda:'.length))],
          `the counter loops in ${to}'s host only: ${JSON.stringify(hosts)}`,
        );
        const moved = report.step ?? NaN;
        await pollUntil(
          `counter stepping on ${to}`,
          async () => ((await runtime.readState('counter')).step > moved + 20 ? true : undefined),
          { timeoutMs: 60_000 },
        );
        const snapshot = await runtime.readState('counter');
        assert.equal(countedOnce(snapshot.state, snapshot.step), undefined, `on ${to} at step ${snapshot.step}`);
        last = snapshot.step;
      }
    } finally {
      await runtime.dispose();
    }
  },
);

test(
  'ringkernel run --cuda-instances 2 --migrate counter=cuda:1@20 --migrate counter=cuda:0@40: device to device, same SHA-256 as without',
  { skip, timeout: 180_000 },
  async () => {
    const { folder, manifest } = counterWorkspace();
    folders.push(folder);
    const exec = promisify(execFile);
    const run = async (extra: string[]) => {
      const args = [
        join(repoRoot, 'bin', 'ringkernel.js'),
        'run',
        manifest,
        '--steps',
        '60',
        '--cuda-instances',
        '2',
        '--json',
        ...extra,
      ];
      const { stdout } = await exec(process.execPath, args, { timeout: 80_000 }).catch(
        (error: { stdout?: string; stderr?: string; message?: string }) => {
          throw new Error(
            `ringkernel ${args.slice(1).join(' ')} failed: ${error.message ?? ''}\n${error.stderr ?? ''}\n${error.stdout ?? ''}`,
          );
        },
      );
      return JSON.parse(stdout) as {
        kernels: {
          id: string;
          step: number;
          device?: string;
          sha256?: string;
          error?: string;
          migrations?: {
            from: string;
            to: string;
            step: number;
            status: string;
            verified: boolean;
            verifiedOn?: string;
            route: string;
            routeLabel: string;
            deviceToDevice: boolean;
            message: string;
          }[];
        }[];
      };
    };
    const plain = (await run([])).kernels.find((k) => k.id === 'counter');
    const moved = (await run(['--migrate', 'counter=cuda:1@20', '--migrate', 'counter=cuda:0@40'])).kernels.find(
      (k) => k.id === 'counter',
    );
    assert.equal(plain?.error, undefined);
    assert.match(plain?.sha256 ?? '', /^[0-9a-f]{64}$/);
    assert.deepEqual(
      moved?.migrations?.map((m) => [
        m.from,
        m.to,
        m.step,
        m.status,
        m.verified,
        m.verifiedOn,
        m.route,
        m.routeLabel,
        m.deviceToDevice,
      ]),
      [
        [
          'cuda:0',
          'cuda:1',
          20,
          'migrated',
          true,
          'gpu',
          'samePhysicalGpu',
          'same physical GPU, device to device',
          true,
        ],
        [
          'cuda:1',
          'cuda:0',
          40,
          'migrated',
          true,
          'gpu',
          'samePhysicalGpu',
          'same physical GPU, device to device',
          true,
        ],
      ],
      JSON.stringify(moved?.migrations?.map((m) => m.message)),
    );
    assert.deepEqual([moved?.step, moved?.device], [60, 'cuda:0']);
    assert.equal(moved?.sha256, plain?.sha256, 'placement never changes the result');
  },
);

/** A runtime of the counter workspace with two CUDA instances of GPU 0, its manifest set; with what it was built from. */
async function instanceRuntime(extra: Partial<KernelRuntimeOptions> = {}): Promise<{
  runtime: KernelRuntime;
  coordinator: MultiGpuCoordinator;
  probe: Awaited<ReturnType<typeof probeMachine>>;
  topology: ReturnType<typeof buildTopology>;
  manifest: ReturnType<typeof loadManifest>;
}> {
  const { folder, manifest: manifestPath } = counterWorkspace();
  folders.push(folder);
  const manifest = loadManifest(manifestPath);
  const probe = withCudaInstances(await probeMachine({}), 2);
  const coordinator = new MultiGpuCoordinator();
  coordinator.syncDevices(probe.reports);
  const topology = buildTopology(probe.topology);
  coordinator.setTopology(topology);
  const runtime = new KernelRuntime({
    log: quiet,
    placer: coordinatorPlacer(coordinator),
    hostScript: distFile('deviceHost.js'),
    checkpointIntervalMs: 0,
    stepTimeoutMs: 20_000,
    cudaInstancesPerDevice: 2,
    validate: () => Promise.resolve([]),
    migrationRoute: (from, to) => migrationRoute(topology, from, to),
    ...extra,
  });
  await runtime.setManifest(manifest);
  return { runtime, coordinator, probe, topology, manifest };
}

test(
  'a CUDA device instance whose host keeps dying is lost: named in the log, its kernel re-placed on the other instance from its checkpoint',
  { skip, timeout: 180_000 },
  async () => {
    const warnings: string[] = [];
    const outcomes: ReloadOutcome[] = [];
    const { runtime, coordinator } = await instanceRuntime({
      log: { ...quiet, warn: (message: string) => warnings.push(message) },
      checkpointIntervalMs: 200,
      deviceRestartsPerMinute: 2,
      onOutcome: (outcome) => outcomes.push(outcome),
    });
    try {
      assert.deepEqual((await runtime.start()).failed, []);
      assert.equal(runtime.views()[0]?.device, 'cuda:0');
      await pollUntil('a periodic checkpoint after some steps', async () =>
        (await runtime.readState('counter')).step > 40 ? true : undefined,
      );
      for (const death of ['first', 'second']) {
        const pid = runtime.views()[0]?.hostPid;
        assert.ok(pid !== undefined, 'the kernel has a host process');
        process.kill(pid, 'SIGKILL');
        await pollUntil(
          `the counter running again after the ${death} death of its host`,
          () => {
            const view = runtime.views()[0];
            return view?.state === 'running' && view.hostPid !== undefined && view.hostPid !== pid ? true : undefined;
          },
          { timeoutMs: 60_000 },
        );
      }
      assert.equal(runtime.views()[0]?.device, 'cuda:1', 'the counter runs on the other instance');
      assert.equal(coordinator.device('cuda:0'), undefined, 'the lost device left the coordinator');
      assert.ok(
        warnings.some((w) => /^cuda:0 \(.*H100.*\) is lost: its device host died 2 times within a minute/.test(w)),
        `the log names the lost device: ${warnings.join(' | ')}`,
      );
      const replaced = outcomes.find((o) => o.message.includes('re-placed'));
      assert.match(
        replaced?.message ?? outcomes.map((o) => o.message).join(' | '),
        /^counter re-placed on cuda:1 from its checkpoint at step \d+; (steps \d+-\d+|step \d+|no step is) re-run \(cuda:0 was lost: /,
      );
      await pollUntil(
        'steps on cuda:1',
        async () => ((await runtime.readState('counter')).step > 60 ? true : undefined),
        {
          timeoutMs: 60_000,
        },
      );
      const snapshot = await runtime.readState('counter');
      assert.equal(countedOnce(snapshot.state, snapshot.step), undefined, `after the loss, at step ${snapshot.step}`);
    } finally {
      await runtime.dispose();
    }
  },
);
