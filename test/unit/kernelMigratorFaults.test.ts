// The migrator after the switch: a target that does not resume (its host died right after the
// switch) keeps the kernel there, reports the failure, and still frees the source. Before this was
// fixed the source was never freed (its device host outlived the kernel's move) and the kernel
// stayed "migrating" forever; test/process/faults/migrationFaults.test.ts finds both on real hosts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeviceKernel } from '../../server/src/hosts/deviceKernel';
import { KernelMigrator } from '../../server/src/migration/kernelMigrator';
import type { MigrationSubject, PreparedTarget } from '../../server/src/migration/migrationTypes';

function subject(calls: string[], resumeTarget: () => Promise<void>): MigrationSubject {
  // One host for source and target (as CUDA devices share one): the legs run one after the other.
  const host = {};
  const state = {
    deviceHost: host,
    prepareImport: () => Promise.resolve(),
    exportState: () => Promise.resolve({ bytes: 4, sha256: 'abc', copyMs: 1 }),
    importState: () => Promise.resolve({ bytes: 4, sha256: 'abc', copyMs: 1, verifyMs: 1 }),
    setStepCount: () => undefined,
  } as unknown as DeviceKernel;
  return {
    id: 'k',
    stateBytes: 4,
    from: 'webgpu:0',
    prepare: (to) => Promise.resolve({ device: to, kernel: state } satisfies PreparedTarget),
    quiesce: () => Promise.resolve({ source: state, step: 7 }),
    resumeSource: () => {
      calls.push('resumeSource');
      return Promise.resolve();
    },
    switchTo: () => calls.push('switchTo'),
    resumeTarget: () => {
      calls.push('resumeTarget');
      return resumeTarget();
    },
    freeSource: () => {
      calls.push('freeSource');
      return Promise.resolve();
    },
    release: () => {
      calls.push('release');
      return Promise.resolve();
    },
  };
}

test('a target that does not resume after the switch: reported failed there, the source freed, nothing resumed on the source', async () => {
  const calls: string[] = [];
  const migrator = new KernelMigrator({ records: { moved: () => undefined }, route: () => 'samePhysicalGpu' });
  const report = await migrator.migrate(
    subject(calls, () => Promise.reject(new Error('the target host exited'))),
    'webgpu:1',
  );
  assert.equal(report.status, 'failed');
  assert.equal(report.failedPhase, 'resuming');
  assert.match(report.message, /switched to webgpu:1 and failed there/);
  assert.deepEqual(calls, ['switchTo', 'resumeTarget', 'freeSource']);
  assert.equal(migrator.isMigrating('k'), false);
});

test('a migration that resumes on its target frees the source once', async () => {
  const calls: string[] = [];
  const migrator = new KernelMigrator({ records: { moved: () => undefined }, route: () => 'samePhysicalGpu' });
  const report = await migrator.migrate(
    subject(calls, () => Promise.resolve()),
    'webgpu:1',
  );
  assert.equal(report.status, 'migrated', report.message);
  assert.deepEqual(calls, ['switchTo', 'resumeTarget', 'freeSource']);
});
