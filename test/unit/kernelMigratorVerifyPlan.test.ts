// The migrator carries the target's verify plan (its prepareImport's answer, before the pause) into
// both legs: a target that digests on its device gets the export and the import in its block size
// and the report says the state was verified on the GPU; one that cannot, or a move not verified,
// gets neither (the read back and 2 MiB blocks, as before).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeviceKernel } from '../../server/src/hosts/deviceKernel';
import type { ImportVerifyPlan, StateTransferResult } from '../../server/src/hosts/hostProtocol';
import { KernelMigrator } from '../../server/src/migration/kernelMigrator';
import type { MigrationSubject, PreparedTarget } from '../../server/src/migration/migrationTypes';

interface Legs {
  exportBlockBytes?: number | undefined;
  importBlockBytes?: number | undefined;
  prepareVerify?: boolean | undefined;
}

function subject(plan: ImportVerifyPlan | undefined, legs: Legs): MigrationSubject {
  // One host for both sides: the legs run one after the other.
  const host = {};
  const result = (blockBytes?: number, onDevice?: boolean): StateTransferResult => ({
    bytes: 4,
    sha256: `digest in blocks of ${blockBytes ?? 'default'}`,
    copyMs: 1,
    verifyMs: 1,
    ...(onDevice ? { onDevice } : {}),
  });
  const kernel = {
    deviceHost: host,
    prepareImport: (_region: unknown, verify: boolean) => {
      legs.prepareVerify = verify;
      return Promise.resolve(plan);
    },
    exportState: (_region: unknown, _transfer?: number, blockBytes?: number) => {
      legs.exportBlockBytes = blockBytes;
      return Promise.resolve(result(blockBytes));
    },
    importState: (_region: unknown, _verify: boolean, _transfer?: number, blockBytes?: number) => {
      legs.importBlockBytes = blockBytes;
      return Promise.resolve(result(blockBytes, blockBytes !== undefined));
    },
    setStepCount: () => undefined,
  } as unknown as DeviceKernel;
  return {
    id: 'k',
    stateBytes: 4,
    from: 'webgpu:0',
    prepare: (to) => Promise.resolve({ device: to, kernel } satisfies PreparedTarget),
    quiesce: () => Promise.resolve({ source: kernel, step: 3 }),
    resumeSource: () => Promise.resolve(),
    switchTo: () => undefined,
    resumeTarget: () => Promise.resolve(),
    freeSource: () => Promise.resolve(),
    release: () => Promise.resolve(),
  };
}

const migrator = (): KernelMigrator =>
  new KernelMigrator({ records: { moved: () => undefined }, route: () => 'samePhysicalGpu' });

test("a target that digests on its device gets both legs in its block size; the report says 'gpu'", async () => {
  const legs: Legs = {};
  const report = await migrator().migrate(subject({ onDevice: true, blockBytes: 65536 }, legs), 'webgpu:1');
  assert.equal(report.status, 'migrated', report.message);
  assert.deepEqual(legs, { prepareVerify: true, exportBlockBytes: 65536, importBlockBytes: 65536 });
  assert.equal(report.verifiedOn, 'gpu');
});

test('a target that cannot digest, or says nothing, keeps the default blocks and the CPU verify', async () => {
  for (const plan of [{ onDevice: false, blockBytes: 2097152, reason: 'no kernel' }, undefined]) {
    const legs: Legs = {};
    const report = await migrator().migrate(subject(plan, legs), 'webgpu:1');
    assert.equal(report.status, 'migrated', report.message);
    assert.deepEqual(legs, { prepareVerify: true, exportBlockBytes: undefined, importBlockBytes: undefined });
    assert.equal(report.verifiedOn, 'cpu');
  }
});

test('a move not verified asks for no plan and passes no block size, even where the device could digest', async () => {
  const legs: Legs = {};
  const report = await migrator().migrate(subject({ onDevice: true, blockBytes: 65536 }, legs), 'webgpu:1', {
    verify: false,
  });
  assert.equal(report.status, 'migrated', report.message);
  assert.deepEqual(legs, { prepareVerify: false, exportBlockBytes: undefined, importBlockBytes: undefined });
  assert.equal(report.verifiedOn, undefined);
});
