import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  drainNotice,
  impossibleTargetText,
  migrationErrorText,
  migrationKernelItems,
  migrationLogEntry,
  migrationNotice,
  migrationTargetItems,
  noKernelToMigrate,
  noTargetText,
  progressLine,
} from '../../client/src/migrationText';
import type { KernelView, KernelsInfo, MigrationOutcome, MigrationTargets } from '../../server/src/lsp/protocol';

function kernel(change: { [K in keyof KernelView]?: KernelView[K] | undefined } = {}): KernelView {
  const merged: Record<string, unknown> = {
    id: 'heat',
    source: '/ws/heat.wgsl',
    language: 'wgsl',
    entryPoint: 'step',
    state: 'running',
    backend: 'webgpu',
    device: 'webgpu:0',
    deviceName: 'llvmpipe',
    version: 3,
    step: 12345,
    stepsPerSecond: 29.8,
    rateHz: 30,
    stateBytes: 4 << 20,
    ...change,
  };
  // An undefined value removes that optional field.
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
  return merged as unknown as KernelView;
}

function info(kernels: KernelView[], change: Partial<KernelsInfo> = {}): KernelsInfo {
  return {
    manifest: '/ws/ringkernel.json',
    trusted: true,
    started: true,
    manifestErrors: 0,
    kernels,
    stats: {
      successfulReloads: 0,
      failedReloads: 0,
      validationFailures: 0,
      rollbacks: 0,
      automaticRollbacks: 0,
      recoveries: 0,
      superseded: 0,
      retries: 0,
      statePreservedCount: 0,
      avgDrainMs: 0,
      avgCompileMs: 0,
      avgSwapMs: 0,
      avgTotalMs: 0,
    },
    ...change,
  };
}

const targets: MigrationTargets = {
  kernelId: 'heat',
  from: 'webgpu:0',
  stateBytes: 64 << 20,
  targets: [
    { device: 'webgpu:0', deviceName: 'llvmpipe', possible: false, reason: 'it runs there' },
    {
      device: 'webgpu:1',
      deviceName: 'llvmpipe',
      possible: true,
      route: 'samePhysicalGpu',
      routeLabel: 'same physical GPU (separate device)',
      estimatedGBps: 1.2,
      estimatedMs: 55.9,
      estimateMeasured: false,
      freeMemoryBytes: 8 * 2 ** 30,
      kernelCount: 1,
    },
    {
      device: 'cuda:0',
      deviceName: 'NVIDIA H100',
      possible: false,
      reason: 'heat has no CUDA source (add "sources": { "cuda": ... })',
    },
    {
      device: 'webgpu:2',
      deviceName: 'NVIDIA H100 (Vulkan)',
      possible: true,
      route: 'hostStaged',
      routeLabel: 'staged through the host (PCIe Gen5 x16)',
      estimatedGBps: 24.1,
      estimatedMs: 2.8,
      estimateMeasured: true,
      freeMemoryBytes: 70 * 2 ** 30,
      kernelCount: 0,
    },
  ],
};

function outcome(change: Partial<MigrationOutcome> = {}): MigrationOutcome {
  return {
    kernelId: 'heat',
    status: 'migrated',
    from: 'cuda:0',
    to: 'webgpu:0',
    bytes: 64 << 20,
    route: 'samePhysicalGpu',
    totalMs: 31,
    pausedMs: 9,
    transferMs: 2.8,
    gbPerSecond: 24.1,
    verified: true,
    message: 'heat moved cuda:0 -> webgpu:0 in 31 ms: 64 MiB at 24.1 GB/s, paused 9 ms, state verified',
    at: '2025-06-01T12:00:00.000Z',
    ...change,
  };
}

describe('the Migrate Kernel pickers', () => {
  test('offers the running kernels with their device, version, state size and rate', () => {
    const items = migrationKernelItems(
      info([
        kernel(),
        kernel({ id: 'counter', state: 'failed', device: undefined }),
        kernel({ id: 'idle', state: 'stopped' }),
      ]),
    );
    assert.deepEqual(items, [
      {
        label: 'heat',
        description: 'on webgpu:0 (llvmpipe) · v3',
        detail: '4.0 MiB of state · 30 steps/s · step 12,345',
        kernelId: 'heat',
        from: 'webgpu:0',
      },
    ]);
  });

  test('says why there is no kernel to move', () => {
    assert.match(noKernelToMigrate(info([], { manifest: null })) ?? '', /no ringkernel\.json/);
    assert.match(noKernelToMigrate(info([kernel()], { trusted: false })) ?? '', /untrusted/);
    assert.match(noKernelToMigrate(info([])) ?? '', /declares no kernels/);
    assert.equal(
      noKernelToMigrate(info([kernel({ state: 'stopped' })])),
      'only a running kernel can move, and none is running (heat is stopped). Start the kernels first.',
    );
    assert.equal(noKernelToMigrate(info([kernel()])), undefined);
  });

  test('lists the possible targets fastest first with route, estimate, free memory and load, then the impossible ones with why', () => {
    const items = migrationTargetItems(targets);
    assert.deepEqual(
      items.map((i) => i.label),
      ['$(arrow-right) webgpu:2', '$(arrow-right) webgpu:1', 'cannot take heat', '$(circle-slash) cuda:0'],
    );
    const fastest = items[0];
    assert.ok(fastest !== undefined && !fastest.separator);
    assert.equal(fastest.description, 'NVIDIA H100 (Vulkan) · staged through the host (PCIe Gen5 x16)');
    assert.equal(fastest.detail, 'measured 24.1 GB/s, ~2.8 ms for 64.0 MiB · 70.0 GiB free · 0 kernels');
    const slow = items[1];
    assert.ok(slow !== undefined && !slow.separator);
    assert.equal(slow.detail, 'estimated 1.20 GB/s, ~56 ms for 64.0 MiB · 8.0 GiB free · 1 kernel');
    assert.equal(items[2]?.separator, true);
    const impossible = items[3];
    assert.ok(impossible !== undefined && !impossible.separator);
    assert.equal(impossible.possible, false);
    assert.equal(impossible.detail, 'Cannot take it: heat has no CUDA source (add "sources": { "cuda": ... })');
    assert.ok(!items.some((i) => !i.separator && i.device === 'webgpu:0'), 'the device it runs on is not a target');
  });

  test('a target with part of an estimate shows the part it has', () => {
    const [onlyTime] = migrationTargetItems({
      ...targets,
      targets: [{ device: 'webgpu:1', deviceName: 'llvmpipe', possible: true, estimatedMs: 3 }],
    });
    assert.ok(onlyTime !== undefined && !onlyTime.separator);
    assert.equal(onlyTime.detail, 'estimated ~3 ms for 64.0 MiB');
    assert.equal(onlyTime.description, 'llvmpipe');
  });

  test('a target moved to before shows that move, measured, beside the estimate', () => {
    const [moved] = migrationTargetItems({
      ...targets,
      targets: [
        {
          device: 'webgpu:1',
          deviceName: 'llvmpipe',
          possible: true,
          estimatedGBps: 1.2,
          estimatedMs: 56,
          lastMove: {
            kernelId: 'heat',
            bytes: 64 << 20,
            totalMs: 31,
            pausedMs: 9,
            gbPerSecond: 24.1,
            at: '2026-12-06T15:00:00.000Z',
          },
        },
      ],
    });
    assert.ok(moved !== undefined && !moved.separator);
    assert.equal(
      moved.detail,
      'estimated 1.20 GB/s, ~56 ms for 64.0 MiB · last move here: 64.0 MiB in 31 ms (24.1 GB/s, paused 9 ms)',
    );
  });

  test('no separator when every device can take it; a lone device says how to get a second one', () => {
    const possibleOnly = migrationTargetItems({ ...targets, targets: targets.targets.filter((t) => t.possible) });
    assert.ok(possibleOnly.every((i) => !i.separator));
    assert.equal(noTargetText(targets), undefined);
    assert.match(
      noTargetText({ ...targets, targets: [targets.targets[0]!] }) ?? '',
      /only device.*instancesPerAdapter to 2/,
    );
  });

  test('choosing a device that cannot take the kernel explains why', () => {
    assert.equal(
      impossibleTargetText('heat', 'cuda:0', 'no CUDA source'),
      'heat cannot move to cuda:0: no CUDA source. It keeps running where it is.',
    );
    assert.match(impossibleTargetText('heat', 'cuda:0', undefined), /gave no reason/);
  });
});

describe('migration progress and outcomes', () => {
  test('a phase at the start of a progress message is put in words, and the end of cancelling is said', () => {
    assert.equal(progressLine('transferring 32/64 MiB', true), 'transferring the state 32/64 MiB');
    assert.equal(progressLine('quiescing', undefined), 'pausing at a step boundary');
    assert.equal(progressLine('switching', false), 'switching over (can no longer be cancelled)');
    assert.equal(progressLine('moving heat (1 of 2)', undefined), 'moving heat (1 of 2)');
    assert.equal(progressLine(undefined, undefined), undefined);
  });

  test("a migration is announced with the server's message", () => {
    assert.deepEqual(migrationNotice(outcome()), {
      level: 'info',
      text: 'RingKernel: heat moved cuda:0 -> webgpu:0 in 31 ms: 64 MiB at 24.1 GB/s, paused 9 ms, state verified',
    });
  });

  test('a failure or a cancel says the kernel still runs on its source, and in which phase it failed', () => {
    const failed = migrationNotice(
      outcome({
        status: 'failed',
        failedPhase: 'verifying',
        verified: false,
        message: 'heat did not move to webgpu:0: the state read back differs from the checkpoint',
      }),
    );
    assert.equal(failed.level, 'error');
    assert.equal(
      failed.text,
      'RingKernel: heat did not move to webgpu:0: the state read back differs from the checkpoint (while verifying). heat still runs on cuda:0, from where it paused.',
    );
    const said = migrationNotice(
      outcome({
        status: 'failed',
        failedPhase: 'transferring',
        message: 'transferring failed: the target host exited; heat still runs on cuda:0',
      }),
    );
    assert.equal(said.text, 'RingKernel: transferring failed: the target host exited; heat still runs on cuda:0.');
    const cancelled = migrationNotice(
      outcome({ status: 'cancelled', message: 'moving heat was cancelled before the switch' }),
    );
    assert.equal(cancelled.level, 'warning');
    assert.match(cancelled.text, /cancelled before the switch\. heat still runs on cuda:0, from where it paused\.$/);
  });

  test('the log entry carries every figure', () => {
    const entry = migrationLogEntry(outcome());
    assert.equal(entry.level, 'info');
    assert.match(entry.text, /^kernel heat: migrated cuda:0 -> webgpu:0: heat moved/);
    assert.match(
      entry.text,
      /route samePhysicalGpu · 64.0 MiB · transfer 2\.8 ms · 24\.1 GB\/s · paused 9 ms · total 31 ms · state verified$/,
    );
    const failed = migrationLogEntry(outcome({ status: 'failed', failedPhase: 'restoring', verified: false }));
    assert.equal(failed.level, 'error');
    assert.match(failed.text, /state not verified · failed while restoring$/);
    assert.equal(migrationLogEntry(outcome({ status: 'cancelled' })).level, 'warn');
  });

  test('a request that ends in an error says whether it was a cancel, an old server or a failure, and where the kernel runs', () => {
    assert.deepEqual(
      migrationErrorText('heat', 'webgpu:0', 'webgpu:1', {
        cancelled: true,
        methodNotFound: false,
        message: 'cancelled',
      }),
      { level: 'warning', text: 'RingKernel: moving heat to webgpu:1 was cancelled. heat still runs on webgpu:0.' },
    );
    assert.match(
      migrationErrorText('heat', undefined, 'webgpu:1', { cancelled: false, methodNotFound: true, message: 'x' }).text,
      /does not know ringkernel\/migrate/,
    );
    assert.equal(
      migrationErrorText('heat', 'webgpu:0', 'cuda:9', {
        cancelled: false,
        methodNotFound: false,
        message: 'cuda:9 is not a device',
      }).text,
      'RingKernel: moving heat to cuda:9 failed: cuda:9 is not a device. heat still runs on webgpu:0.',
    );
  });
});

describe('drain outcomes', () => {
  test('says who moved where and who stayed with why', () => {
    const notice = drainNotice({
      device: 'webgpu:0',
      migrations: [
        outcome({ from: 'webgpu:0', to: 'webgpu:1', totalMs: 31 }),
        outcome({
          kernelId: 'wave',
          from: 'webgpu:0',
          to: 'webgpu:1',
          status: 'failed',
          message: 'out of memory on webgpu:1',
        }),
      ],
      stayed: [{ kernelId: 'counter', reason: 'no other device has CUDA' }],
      message: 'drained webgpu:0',
    });
    assert.equal(notice.level, 'warning');
    assert.equal(
      notice.text,
      'RingKernel: drained webgpu:0: moved heat → webgpu:1 (31 ms); still running on webgpu:0: wave (moving to webgpu:1 failed: out of memory on webgpu:1); counter (no other device has CUDA). It takes no new kernels until it is taken back into service (Undrain Device).',
    );
  });

  test('a drain where everything moved, or nothing ran, is plain information', () => {
    assert.equal(
      drainNotice({ device: 'webgpu:0', migrations: [outcome({ to: 'webgpu:1' })], stayed: [], message: '' }).level,
      'info',
    );
    const empty = drainNotice({ device: 'webgpu:1', migrations: [], stayed: [], message: '' });
    assert.equal(empty.level, 'info');
    assert.match(empty.text, /drained webgpu:1: no kernel ran on it\./);
  });
});
