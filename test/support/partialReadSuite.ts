// Partial reads of a kernel's state at a step boundary (the state views' reader), for one
// backend, in real device hosts: only the asked ranges come back, all from one step boundary,
// with that boundary's exact step number, while the loop keeps stepping; and through
// ManagedKernel they keep working across a reload, a rollback, a move to another device host and
// a host that dies. test/process runs it on WebGPU (lavapipe here), test/gpu on CUDA.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { KernelSource } from '../../server/src/backends/backend';
import type { BackendName } from '../../server/src/backends/backendReport';
import { DeviceHost } from '../../server/src/hosts/deviceHost';
import { DeviceKernel, type KernelPlacement } from '../../server/src/hosts/deviceKernel';
import type { Logger } from '../../server/src/logger';
import type { KernelSpec } from '../../server/src/manifest/manifestTypes';
import { DEFAULT_HOT_RELOAD_CONFIG, HotReloadManager } from '../../server/src/runtime/hotReloadManager';
import type { ReloadOutcome } from '../../server/src/runtime/kernelReports';
import { KernelMigrator } from '../../server/src/migration/kernelMigrator';
import { relocationSubject } from '../../server/src/runtime/kernelRelocation';
import {
  ManagedKernel,
  kernelVersion,
  type KernelLocation,
  type StateRangesRead,
} from '../../server/src/runtime/managedKernel';
import { pollUntil } from './poll';
import { distFile } from './repo';
import { MOST_RANGES as MOST, RAMP_STATE_BYTES as STATE_BYTES, SPARSE_RANGES as SPARSE, wrongWord } from './rampKernel';

export interface PartialReadSuiteOptions {
  backend: BackendName;
  /** The ramp kernel (rampKernel.ts) with the given tick. */
  ramp: (tick: number) => KernelSource;
  /** How the ramp is launched: its grid and block. */
  launch: Pick<KernelPlacement, 'grid' | 'block'>;
  /** false runs every test; a string skips them with that reason. */
  skip: false | string;
}

const quiet: Logger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

export function partialReadSuite(options: PartialReadSuiteOptions): void {
  const { backend, ramp, skip } = options;
  const placement: KernelPlacement = {
    index: 0,
    device: 0,
    stateBytes: STATE_BYTES,
    inboxCapacity: 1,
    outboxCapacity: 1,
    ...options.launch,
  };

  describe(`partial state reads in a ${backend} device host`, { skip }, () => {
    const hosts: DeviceHost[] = [];
    const newHost = (): DeviceHost => {
      const host = new DeviceHost({ backend, script: distFile('deviceHost.js'), stepTimeoutMs: 20_000 });
      hosts.push(host);
      return host;
    };
    after(() => {
      for (const host of hosts) host.dispose();
    });

    test('ranges read while the loop steps come from one step boundary, with its step number, and the loop goes on', async () => {
      const kernel = await DeviceKernel.create(newHost(), ramp(7), placement);
      await kernel.startLoop(0, () => undefined);
      try {
        await pollUntil('the first steps', () => (kernel.stepCount >= 3 ? true : undefined));
        let last = -1;
        for (let i = 0; i < 15; i++) {
          const ranges = i % 3 === 2 ? MOST : SPARSE;
          const read = await kernel.readStateRanges(ranges);
          assert.equal(wrongWord(read, ranges, 7), undefined, `read ${i}`);
          assert.ok(read.step >= last, `steps go forward: ${read.step} after ${last}`);
          last = read.step;
        }
        assert.equal(kernel.looping, true, 'the loop was never stopped');
        const before = last;
        await pollUntil('the loop to step on after the reads', async () =>
          (await kernel.readStateRanges(SPARSE)).step > before + 3 ? true : undefined,
        );
      } finally {
        await kernel.stopLoop();
        await kernel.release();
      }
    });

    test('a kernel that is not looping is read at its step count; ranges outside the state are refused', async () => {
      const kernel = await DeviceKernel.create(newHost(), ramp(3), placement);
      try {
        await kernel.run(4);
        const read = await kernel.readStateRanges(SPARSE);
        assert.equal(read.step, 4);
        assert.equal(wrongWord(read, SPARSE, 3), undefined);
        await assert.rejects(
          kernel.readStateRanges([{ offset: STATE_BYTES - 4, length: 8 }]),
          /kernel "ramp": the range at 262140 of 8 bytes is not whole 32-bit words within its 262144-byte state/,
        );
        await assert.rejects(kernel.readStateRanges([{ offset: 2, length: 4 }]), /not whole 32-bit words/);
        const whole = await kernel.readStateRanges([{ offset: 0, length: STATE_BYTES }]);
        assert.deepEqual(whole.bytes[0], await kernel.readState(), 'the same bytes as a whole read');
      } finally {
        await kernel.release();
      }
    });

    test(
      'through ManagedKernel the reads follow a reload, a rollback, a move to another host and a host restart',
      { timeout: 120_000 },
      async () => {
        const outcomes: ReloadOutcome[] = [];
        const manager = new HotReloadManager(
          { ...DEFAULT_HOT_RELOAD_CONFIG, retryBackoffMs: 0 },
          { validate: () => Promise.resolve([]), log: quiet, notify: (o) => outcomes.push(o) },
        );
        const spec: KernelSpec = {
          id: 'ramp',
          source: `/ws/ramp.${ramp(1).language}`,
          language: ramp(1).language,
          entryPoint: ramp(1).entryPoint,
          backend,
          device: 'auto',
          stateBytes: STATE_BYTES,
          grid: placement.grid,
          block: placement.block ?? [1, 1, 1],
          inboxCapacity: 1,
          outboxCapacity: 1,
          rateHz: 0,
        };
        const location = (device: string): KernelLocation => ({
          backend,
          device: 0,
          key: `${backend}:0`,
          deviceName: device,
        });
        const first = newHost();
        const kernel: ManagedKernel = new ManagedKernel(spec, first, location('first host'), placement, {
          log: quiet,
          changed: () => undefined,
          failed: (failed, reason, culprit) => void manager.recover(failed, reason, culprit),
        });
        const read = (): Promise<StateRangesRead> => kernel.exclusive(() => kernel.readStateRanges(SPARSE));
        /** Reads until `check` holds for a read (the kernel steps on meanwhile). */
        const readUntil = (what: string, check: (r: StateRangesRead) => boolean): Promise<StateRangesRead> =>
          pollUntil(
            what,
            async () => {
              const r = await read();
              return check(r) ? r : undefined;
            },
            { timeoutMs: 30_000, intervalMs: 20 },
          );

        await kernel.start(kernelVersion(1, ramp(1)));
        try {
          const v1 = await readUntil('steps of v1', (r) => r.step >= 3);
          assert.equal(v1.version, 1);
          assert.equal(wrongWord(v1, SPARSE, 1), undefined);

          // v2 rewrites the state with its own tick, so each read says which version ran the last step.
          const reloaded = await manager.reload(kernel, ramp(1000));
          assert.equal(reloaded.status, 'reloaded', reloaded.message);
          const v2 = await readUntil('steps of v2', (r) => r.version === 2);
          assert.equal(wrongWord(v2, SPARSE, 1000), undefined, "the bytes are v2's, read with v2's version number");
          assert.ok(
            v2.versionSinceStep !== undefined && v2.versionSinceStep >= v1.step && v2.versionSinceStep <= v2.step,
            `v2 began at step ${v2.versionSinceStep}`,
          );

          const rolledBack = await manager.rollback(kernel);
          assert.equal(rolledBack.status, 'rolledBack', rolledBack.message);
          const back = await readUntil('a step of v1 again', (r) => r.version === 1 && r.step > v2.step);
          assert.equal(wrongWord(back, SPARSE, 1), undefined);

          // The real migrator, to a fresh host of the same device (as a second device instance).
          const migrator = new KernelMigrator({ records: { moved: () => undefined }, route: () => 'samePhysicalGpu' });
          const subject = relocationSubject(kernel, () => placement, {
            hostFor: () => newHost(),
            adopted: () => undefined,
            done: () => undefined,
            messagesFollow: () => Promise.resolve(),
            deviceName: (key) => `second host (${key})`,
          });
          const moved = await kernel.exclusive(() => migrator.migrate(subject, `${backend}:1`));
          assert.equal(moved.status, 'migrated', moved.message);
          assert.equal(kernel.host === first, false, 'the kernel lives in the second host now');
          const there = await readUntil('steps on the second host', (r) => r.step > back.step);
          assert.equal(wrongWord(there, SPARSE, 1), undefined);
          assert.equal(there.version, 1);

          // The host dies: the kernel comes back from its checkpoint, and reads go on from there.
          const before = there.step;
          process.kill(kernel.host.pid ?? 0, 'SIGKILL');
          const recovered = await pollUntil('the recovery', () => outcomes.find((o) => o.status === 'recovered'), {
            timeoutMs: 30_000,
          });
          assert.equal(recovered.status, 'recovered', recovered.message);
          const afterRestart = await readUntil('steps after the restart', (r) => r.step > before);
          assert.equal(wrongWord(afterRestart, SPARSE, 1), undefined);
        } finally {
          await kernel.exclusive(() => kernel.stop());
        }
        // A stopped kernel shows the state it left.
        const left = await kernel.readStateRanges(SPARSE);
        assert.equal(wrongWord(left, SPARSE, 1), undefined);
      },
    );
  });
}
