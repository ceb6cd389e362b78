// Which checkpoint files a start may resume from: CheckpointStore.newest's `accept` passes over
// files of other code (older ones may match), and `ringkernel run --checkpoint-dir` resumes only
// when every kernel has a usable file at one step (lockstep).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CheckpointStore } from '../../../server/src/checkpoint/checkpointStore';
import { findResumePoints } from '../../../server/src/cli/checkpointResume';
import { sampleRecord, withTempFolder } from './records';

const CODE = 'ab'.repeat(32); // sampleRecord's code digest
const OTHER = 'cd'.repeat(32);

describe('resuming from checkpoint files', () => {
  test('a newer file of other code is passed over as incompatible, and the older one of this code is used', async () => {
    await withTempFolder(async (folder) => {
      const store = await CheckpointStore.open(join(folder, 'store'));
      await store.write(sampleRecord({ step: 10 }));
      await store.write({ ...sampleRecord({ step: 20 }), codeSha256: OTHER });
      const { loaded, rejected } = await store.newest('heat', {
        accept: (record) => (record.codeSha256 === CODE ? undefined : 'other code'),
      });
      assert.equal(loaded?.record.checkpoint.step, 10);
      assert.equal(rejected.length, 1);
      assert.equal(rejected[0]?.problem, 'incompatible');
      assert.match(rejected[0]?.reason ?? '', /^checkpoint file .*\.rkcp is rejected: other code$/);
    });
  });

  test('the CLI resumes every kernel at their common step', async () => {
    await withTempFolder(async (folder) => {
      const store = await CheckpointStore.open(join(folder, 'store'));
      await store.write(sampleRecord({ kernelId: 'heat', step: 30 }));
      await store.write(sampleRecord({ kernelId: 'wave', step: 30 }));
      const decision = await findResumePoints(store, [
        { id: 'heat', codeSha256: CODE, stateBytes: 64 },
        { id: 'wave', codeSha256: CODE, stateBytes: 64 },
      ]);
      assert.equal(decision.step, 30);
      assert.deepEqual([...decision.points.keys()], ['heat', 'wave']);
      assert.deepEqual(decision.notes, []);
    });
  });

  test('the CLI does not resume when one kernel has no usable file or the steps differ, and says why', async () => {
    await withTempFolder(async (folder) => {
      const store = await CheckpointStore.open(join(folder, 'store'));
      await store.write(sampleRecord({ kernelId: 'heat', step: 30 }));
      await store.write(sampleRecord({ kernelId: 'wave', step: 40 }));
      const differ = await findResumePoints(store, [
        { id: 'heat', codeSha256: CODE, stateBytes: 64 },
        { id: 'wave', codeSha256: CODE, stateBytes: 64 },
      ]);
      assert.equal(differ.step, undefined);
      assert.equal(differ.points.size, 0);
      assert.match(differ.notes.join('\n'), /different steps \(heat 30, wave 40\)/);
      const missing = await findResumePoints(store, [
        { id: 'heat', codeSha256: CODE, stateBytes: 64 },
        { id: 'wave', codeSha256: CODE, stateBytes: 128 },
      ]);
      assert.equal(missing.step, undefined);
      assert.match(missing.notes.join('\n'), /holds 64 bytes of state; the manifest says 128/);
      assert.match(missing.notes.join('\n'), /"wave" has no usable checkpoint/);
    });
  });
});
