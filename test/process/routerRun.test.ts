// `ringkernel run` with the K2K router: the examples' ring and halo manifests in lockstep, through
// the real CLI and device hosts. The ring's states match a model of the token's trip, and every
// message is delivered; the lockstep results do not depend on placement (one host for all
// kernels, or one each); the halo rod's halves are bit for bit the one-kernel rod's cells.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { DeviceHost } from '../../server/src/hosts/deviceHost';
import { DeviceKernel } from '../../server/src/hosts/deviceKernel';
import { K2KRouter } from '../../server/src/router';
import { runLockstep, type LockstepKernel } from '../../server/src/runtime/lockstepRun';
import { distFile, repoRoot } from '../support/repo';
import { ringModel, sha256 } from '../support/ringModel';

const exec = promisify(execFile);

interface RunJson {
  kernels: { id: string; step: number; device?: string; sha256?: string; error?: string }[];
  router: {
    totals: {
      submitted: number;
      delivered: number;
      pending: number;
      refused: number;
      failed: number;
      outboxFull: number;
    };
    lost: number;
    latencySteps: { p50: number; p99: number };
  };
}

async function ringkernelRun(manifest: string, steps: number, extra: string[] = []): Promise<RunJson> {
  const { stdout } = await exec(
    process.execPath,
    [join(repoRoot, 'bin', 'ringkernel.js'), 'run', manifest, '--steps', String(steps), '--json', ...extra],
    { timeout: 120_000 },
  );
  return JSON.parse(stdout) as RunJson;
}

const hosts: DeviceHost[] = [];
after(() => {
  for (const host of hosts) host.dispose();
});
const newHost = (): DeviceHost => {
  const host = new DeviceHost({ backend: 'webgpu', script: distFile('deviceHost.js'), stepTimeoutMs: 20_000 });
  hosts.push(host);
  return host;
};

/** Runs a manifest's WGSL kernels in lockstep through the API, the kernels spread over `hostOf`'s hosts; their states. */
async function lockstepStates(
  manifestPath: string,
  steps: number,
  hostOf: (index: number) => DeviceHost,
): Promise<Uint8Array[]> {
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    kernels: {
      id: string;
      source: string;
      entryPoint: string;
      stateBytes: number;
      inboxCapacity: number;
      outboxCapacity: number;
    }[];
  };
  const router = new K2KRouter({ mode: 'lockstep' });
  const kernels: LockstepKernel[] = [];
  for (const [index, spec] of manifest.kernels.entries()) {
    const code = readFileSync(join(manifestPath, '..', spec.source), 'utf8');
    const kernel = await DeviceKernel.create(
      hostOf(index),
      { language: 'wgsl', label: spec.id, code, entryPoint: spec.entryPoint },
      {
        index,
        device: 0,
        stateBytes: spec.stateBytes,
        grid: [1, 1, 1],
        inboxCapacity: spec.inboxCapacity,
        outboxCapacity: spec.outboxCapacity,
      },
    );
    router.addKernel({ index, id: spec.id, device: `webgpu:${index}` });
    kernels.push({ index, id: spec.id, device: `webgpu:${index}`, kernel, inboxCapacity: spec.inboxCapacity });
  }
  assert.deepEqual([...(await runLockstep(router, kernels, steps))], []);
  const states = await Promise.all(kernels.map((k) => k.kernel.readState()));
  await Promise.all(kernels.map((k) => k.kernel.release()));
  return states;
}

const RING = join(repoRoot, 'examples', 'ring', 'ringkernel.json');
const HALO = join(repoRoot, 'examples', 'halo', 'ringkernel.json');
const ROD = join(repoRoot, 'examples', 'halo', 'ringkernel-whole.json');

test(
  'ringkernel run examples/ring --steps 100 --json: the token makes its 96 hops, every message delivered, nothing lost',
  { timeout: 150_000 },
  async () => {
    const result = await ringkernelRun(RING, 100);
    assert.deepEqual(
      result.kernels.map((k) => k.error),
      [undefined, undefined, undefined, undefined],
    );
    assert.deepEqual(
      result.kernels.map((k) => k.sha256),
      ringModel(4, 100),
    );
    const { totals } = result.router;
    assert.equal(totals.submitted, 96);
    assert.equal(totals.delivered, totals.submitted);
    assert.deepEqual(
      [totals.pending, totals.refused, totals.failed, totals.outboxFull, result.router.lost],
      [0, 0, 0, 0, 0],
    );
    assert.deepEqual(
      [result.router.latencySteps.p50, result.router.latencySteps.p99],
      [1, 1],
      'a message sent in step s arrives in step s + 1',
    );
  },
);

test(
  'ringkernel run examples/ring --webgpu-instances 2: the kernels spread over both instances, the same digests, every message delivered',
  { timeout: 150_000 },
  async () => {
    const result = await ringkernelRun(RING, 100, ['--webgpu-instances', '2']);
    assert.deepEqual(
      result.kernels.map((k) => k.error),
      [undefined, undefined, undefined, undefined],
    );
    assert.deepEqual(
      new Set(result.kernels.map((k) => k.device)),
      new Set(['webgpu:0', 'webgpu:1']),
      'the coordinator spreads the ring over the two devices',
    );
    assert.deepEqual(
      result.kernels.map((k) => k.sha256),
      ringModel(4, 100),
    );
    const { totals } = result.router;
    assert.equal(totals.submitted, 96);
    assert.equal(totals.delivered, totals.submitted);
    assert.deepEqual([totals.pending, totals.refused, totals.failed, result.router.lost], [0, 0, 0, 0]);
  },
);

test(
  'ringkernel run examples/ring --migrate ring1 mid-trip: the token follows it, the same digests, every message delivered',
  { timeout: 150_000 },
  async () => {
    const placed = await ringkernelRun(RING, 0, ['--webgpu-instances', '2']);
    const other = (id: string): string =>
      placed.kernels.find((k) => k.id === id)?.device === 'webgpu:0' ? 'webgpu:1' : 'webgpu:0';
    // ring1 moves away and back on two consecutive steps (the token reaches it around then), ring2 once.
    const result = await ringkernelRun(RING, 100, [
      '--webgpu-instances',
      '2',
      '--migrate',
      `ring1=${other('ring1')}@37`,
      '--migrate',
      `ring1=${placed.kernels.find((k) => k.id === 'ring1')?.device ?? ''}@38`,
      '--migrate',
      `ring2=${other('ring2')}@50`,
    ]);
    assert.deepEqual(
      result.kernels.map((k) => k.error),
      [undefined, undefined, undefined, undefined],
    );
    assert.equal(result.kernels.find((k) => k.id === 'ring2')?.device, other('ring2'));
    assert.deepEqual(
      result.kernels.map((k) => k.sha256),
      ringModel(4, 100),
    );
    const { totals } = result.router;
    assert.equal(totals.delivered, totals.submitted);
    assert.deepEqual([totals.submitted, totals.pending, totals.failed, result.router.lost], [96, 0, 0, 0]);
  },
);

test(
  'lockstep results do not depend on placement: the ring in one host or in a host per kernel gives the same states',
  { timeout: 150_000 },
  async () => {
    const shared = newHost();
    const together = await lockstepStates(RING, 60, () => shared);
    const apart = await lockstepStates(RING, 60, () => newHost());
    assert.deepEqual(apart.map(sha256), together.map(sha256));
    assert.deepEqual(together.map(sha256), ringModel(4, 60));
  },
);

test(
  'examples/halo: the two halves exchanging edge cells end bit for bit where the one-kernel rod does',
  { timeout: 150_000 },
  async () => {
    const steps = 200;
    const [rod] = await lockstepStates(ROD, steps, () => newHost());
    assert.ok(rod);
    const cells = new Float32Array(rod.buffer, rod.byteOffset, rod.byteLength / 4);
    assert.ok(cells[40]! > 0, 'heat reached the right half: the exchange matters');
    const halves = await lockstepStates(HALO, steps, () => newHost());
    assert.deepEqual(
      halves.map((h) => Buffer.from(h).toString('hex')),
      [Buffer.from(rod.subarray(0, 128)).toString('hex'), Buffer.from(rod.subarray(128)).toString('hex')],
    );
    const result = await ringkernelRun(HALO, steps);
    assert.deepEqual(
      result.kernels.map((k) => k.sha256),
      [sha256(rod.subarray(0, 128)), sha256(rod.subarray(128))],
    );
    const { totals } = result.router;
    // Each half sends its edge every step; the last step's two arrive in a step that does not run.
    assert.equal(totals.submitted, 2 * steps);
    assert.deepEqual(
      [totals.delivered, totals.pending, result.router.lost, totals.refused, totals.failed],
      [2 * steps - 2, 2, 0, 0, 0],
    );
  },
);
