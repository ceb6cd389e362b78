// Moving the example workspace's heat kernel between two WebGPU devices while it runs, as a user
// would: RingKernel: Migrate Kernel (driven with arguments, so no picker opens), the same from a
// kernel row of the GPU Topology view, and Drain Device. Two device instances of the one adapter
// (`ringkernel.webgpu.instancesPerAdapter: 2`) make this work on any machine, lavapipe included.
// After each move, the kernels' info, the topology view's rows and the kernel status bar item must
// all say where heat runs now, and heat's own step counter must have carried on.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { RingKernelApi, TopologyNode } from '../../client/src/api';
import type { DrainOutcome, MigrationOutcome } from '../../server/src/lsp/protocol';
import { pollUntil } from '../support/poll';

async function api(): Promise<RingKernelApi> {
  const extension = vscode.extensions.getExtension<RingKernelApi>('ringkernel.ringkernel');
  assert.ok(extension, 'the extension is installed');
  return extension.activate();
}

async function serverReady(ringkernel: RingKernelApi): Promise<void> {
  await pollUntil('the language server to be ready', () => (ringkernel.status.state === 'ready' ? true : undefined), {
    timeoutMs: 60_000,
  });
}

/** The device keys of the WebGPU devices the view shows, once there are two. */
async function twoWebgpuDevices(ringkernel: RingKernelApi): Promise<string[]> {
  return pollUntil(
    'two WebGPU devices in the GPU Topology view',
    async () => {
      const keys = (await ringkernel.topologyItems())
        .filter((n) => n.kind === 'device' && n.device?.startsWith('webgpu:') === true)
        .map((n) => n.device ?? '');
      return keys.length >= 2 ? keys.sort() : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 250 },
  );
}

async function heatState(ringkernel: RingKernelApi): Promise<{ step: number; steps: number; sha256: string }> {
  const state = await ringkernel.readKernelState('heat', 1);
  return { step: state.step, steps: state.words[0] ?? 0, sha256: state.sha256 };
}

async function runningHeat(ringkernel: RingKernelApi): Promise<{ device: string; step: number }> {
  return pollUntil(
    'heat to run',
    async () => {
      const heat = (await ringkernel.kernels()).kernels.find((k) => k.id === 'heat');
      return heat?.state === 'running' && heat.device !== undefined && heat.step > 0
        ? { device: heat.device, step: heat.step }
        : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 250 },
  );
}

function kernelRow(items: readonly TopologyNode[], device: string, kernel: string): TopologyNode | undefined {
  return items
    .find((n) => n.kind === 'device' && n.device === device)
    ?.children.find((c) => c.kind === 'kernel' && c.kernel === kernel);
}

/** Waits until the kernels' info, the view and the status bar item all put heat on `device`. */
async function everywhereOn(ringkernel: RingKernelApi, device: string, elsewhere: string): Promise<void> {
  await pollUntil(
    `the kernels' info to put heat on ${device}`,
    async () => {
      const heat = (await ringkernel.kernels()).kernels.find((k) => k.id === 'heat');
      return heat?.device === device && heat.state === 'running' ? true : undefined;
    },
    { timeoutMs: 30_000 },
  );
  await pollUntil(
    `the GPU Topology view to show heat under ${device} only`,
    async () => {
      const items = await ringkernel.topologyItems();
      return kernelRow(items, device, 'heat') !== undefined && kernelRow(items, elsewhere, 'heat') === undefined
        ? true
        : undefined;
    },
    { timeoutMs: 30_000 },
  );
  await pollUntil(
    `the kernel status bar item's tooltip to put heat on ${device}`,
    () =>
      new RegExp(`\\*\\*heat\\*\\* running · v\\d+ · ${device}\\b`).test(ringkernel.kernelStatusBar.tooltip)
        ? true
        : undefined,
    { timeoutMs: 30_000 },
  );
}

/** Waits for heat to step past `step` and checks its own step counter kept counting. */
async function stepsOnFrom(ringkernel: RingKernelApi, step: number): Promise<void> {
  const later = await pollUntil(
    `heat to step past ${step + 3}`,
    async () => {
      const now = await heatState(ringkernel);
      return now.step > step + 3 ? now : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  assert.equal(later.steps, later.step, 'heat counted every step across the move: its state came along');
}

describe('Migration between two WebGPU devices', function () {
  this.timeout(240_000);
  let ringkernel: RingKernelApi;
  let devices: string[] = [];
  const settings = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('ringkernel');

  before(async function () {
    this.timeout(240_000);
    ringkernel = await api();
    await settings().update('webgpu.instancesPerAdapter', 2, vscode.ConfigurationTarget.Global);
    // A fresh server opens the device instances; the manifest's kernels start again on their own.
    await vscode.commands.executeCommand('ringkernel.restartServer', { confirmed: true });
    await serverReady(ringkernel);
    devices = await twoWebgpuDevices(ringkernel);
    await runningHeat(ringkernel);
  });

  after(async function () {
    this.timeout(120_000);
    await settings().update('webgpu.instancesPerAdapter', undefined, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('ringkernel.restartServer', { confirmed: true });
    await serverReady(ringkernel);
  });

  it('Migrate Kernel moves heat to the other device while it runs, and the view and status bar follow', async () => {
    const { device: from } = await runningHeat(ringkernel);
    const to = devices.find((d) => d !== from);
    assert.ok(to, `a second WebGPU device besides ${from} (${devices.join(', ')})`);
    const before = await heatState(ringkernel);
    const outcome = await vscode.commands.executeCommand<MigrationOutcome | undefined>(
      'ringkernel.migrateKernel',
      'heat',
      to,
    );
    assert.ok(outcome, 'the command reported a failure (see the RingKernel log)');
    assert.equal(outcome.status, 'migrated', outcome.message);
    assert.equal(outcome.from, from);
    assert.equal(outcome.to, to);
    assert.equal(outcome.verified, true, 'the state was verified on the target');
    assert.equal(outcome.bytes, 4 << 20, "heat's 4 MiB of state moved");
    assert.match(outcome.message, new RegExp(`^heat moved ${from} -> ${to} in .+ ms`));
    await everywhereOn(ringkernel, to, from);
    await stepsOnFrom(ringkernel, before.step);
  });

  it('Migrate… on a kernel row of the view moves it back', async () => {
    const { device: from } = await runningHeat(ringkernel);
    const to = devices.find((d) => d !== from);
    assert.ok(to);
    const row = kernelRow(await ringkernel.topologyItems(), from, 'heat');
    assert.ok(row, `the view shows heat under ${from}`);
    const before = await heatState(ringkernel);
    // The row is what the context menu passes; the device skips the target picker.
    const outcome = await vscode.commands.executeCommand<MigrationOutcome | undefined>(
      'ringkernel.migrateKernel',
      row,
      to,
    );
    assert.equal(outcome?.status, 'migrated', outcome?.message);
    await everywhereOn(ringkernel, to, from);
    await stepsOnFrom(ringkernel, before.step);
  });

  it('a device that does not exist is refused, and heat keeps running where it is', async () => {
    const { device: from } = await runningHeat(ringkernel);
    const outcome = await vscode.commands.executeCommand<MigrationOutcome | undefined>(
      'ringkernel.migrateKernel',
      'heat',
      'webgpu:42',
    );
    // An error shown to the user (undefined) or a failed outcome; never a move.
    assert.notEqual(outcome?.status, 'migrated');
    await everywhereOn(ringkernel, from, devices.find((d) => d !== from) ?? '');
  });

  it('Drain Device moves heat off its device with progress, and Undrain takes the device back', async () => {
    const { device: from } = await runningHeat(ringkernel);
    const to = devices.find((d) => d !== from);
    assert.ok(to);
    const before = await heatState(ringkernel);
    const outcome = await vscode.commands.executeCommand<DrainOutcome | undefined>('ringkernel.drainDevice', from);
    assert.ok(outcome, 'the command reported a failure (see the RingKernel log)');
    assert.equal(outcome.device, from);
    assert.deepEqual(outcome.stayed, [], 'another device could take heat');
    const heat = outcome.migrations.find((m) => m.kernelId === 'heat');
    assert.equal(heat?.status, 'migrated', heat?.message);
    assert.equal(heat?.to, to);
    await everywhereOn(ringkernel, to, from);
    await pollUntil(`the view to show ${from} drained`, async () =>
      (await ringkernel.topologyItems()).some(
        (n) => n.device === from && n.kind === 'device' && n.drained === true && /drained$/.test(n.description ?? ''),
      )
        ? true
        : undefined,
    );
    await stepsOnFrom(ringkernel, before.step);
    const undrained = await vscode.commands.executeCommand<{ device: string } | undefined>(
      'ringkernel.undrainDevice',
      from,
    );
    assert.equal(undrained?.device, from);
    await pollUntil(`the view to show ${from} in service`, async () =>
      (await ringkernel.topologyItems()).some(
        (n) => n.device === from && n.kind === 'device' && n.drained === undefined,
      )
        ? true
        : undefined,
    );
  });
});
