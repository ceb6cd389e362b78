import assert from 'node:assert/strict';
import { mkdir, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { CheckpointWriteError } from '../../../server/src/checkpoint/checkpointErrors';
import {
  checkpointFileName,
  kernelKey,
  parseCheckpointFileName,
} from '../../../server/src/checkpoint/checkpointFileName';
import { CheckpointStore } from '../../../server/src/checkpoint/checkpointStore';
import { propertyRuns, sampleRecord, withTempFolder } from './records';

const HOSTILE_IDS = [
  '../escape',
  '../../../../etc/passwd',
  '..',
  '.',
  '',
  '/absolute/path',
  'C:\\Windows\\System32\\evil',
  '\\\\server\\share\\x',
  'nul\0byte',
  'k'.repeat(10_000),
  '热-ядро-🔥-ｈｅａｔ',
  'e\u0301', // the same text as 'é' when normalised, a different id
  '\u00e9',
  'CON',
  'con',
  'PRN',
  'AUX',
  'NUL',
  'COM1',
  'LPT9',
  'CONIN$',
  'trailing. ',
  'heat',
  'Heat',
  'a/b',
  'a_b',
  '-rf',
  '~',
  '$HOME',
  'line\nbreak',
];

/** What every generated name must be, on every operating system. */
function assertSafeName(name: string, id: string): void {
  const shown = JSON.stringify(id.slice(0, 40));
  assert.match(name, /^[A-Za-z0-9_-]{1,40}\.[0-9a-f]{16}\.[0-9]{12,16}\.rkcp$/, `name for ${shown}: ${name}`);
  assert.equal(basename(name), name);
  assert.ok(name.length <= 80, `name for ${shown} is ${name.length} characters`);
  assert.doesNotMatch(
    name.split('.')[0] ?? '',
    /^(con|prn|aux|nul|conin\$|conout\$|com[0-9]|lpt[0-9])$/i,
    `name for ${shown} is a Windows device name`,
  );
}

describe('checkpoint file names', () => {
  test('no kernel id can make a name that leaves the folder, is a device name, or is too long', () => {
    for (const id of HOSTILE_IDS) assertSafeName(checkpointFileName(id, 42), id);
  });

  test('different ids never share a name, case and normalisation included', () => {
    const keys = HOSTILE_IDS.map(kernelKey);
    assert.equal(new Set(keys).size, HOSTILE_IDS.length);
    assert.notEqual(checkpointFileName('heat', 1).toLowerCase(), checkpointFileName('Heat', 1).toLowerCase());
  });

  test('a name parses back to its kernel key and generation', () => {
    assert.deepEqual(parseCheckpointFileName(checkpointFileName('heat', 7)), { key: kernelKey('heat'), generation: 7 });
    for (const other of [
      'heat.rkcp',
      'notes.txt',
      `${checkpointFileName('heat', 7)}.0123456789abcdef.tmp`,
      '../heat.0123456789abcdef.000000000001.rkcp',
    ]) {
      assert.equal(parseCheckpointFileName(other), undefined, other);
    }
  });

  test('any well-formed id gives a safe name that parses back (property)', (t) => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.maxSafeNat(), (id, generation) => {
        const name = checkpointFileName(id, generation);
        assertSafeName(name, id);
        assert.deepEqual(parseCheckpointFileName(name), { key: kernelKey(id), generation });
      }),
      propertyRuns(t, 500),
    );
  });

  test('the store keeps every hostile id inside its folder and reads each back under its own id', async () => {
    await withTempFolder(async (parent) => {
      const folder = join(parent, 'workspace', 'checkpoints');
      await mkdir(folder, { recursive: true });
      const store = await CheckpointStore.open(folder);
      for (const [i, id] of HOSTILE_IDS.entries()) await store.write(sampleRecord({ kernelId: id, step: i }));
      assert.deepEqual(await readdir(parent), ['workspace']);
      assert.deepEqual(await readdir(join(parent, 'workspace')), ['checkpoints']);
      assert.equal((await readdir(folder)).length, HOSTILE_IDS.length);
      for (const [i, id] of HOSTILE_IDS.entries()) {
        const { loaded, rejected } = await store.newest(id);
        assert.deepEqual(rejected, []);
        assert.equal(loaded?.record.checkpoint.kernelId, id);
        assert.equal(loaded.record.checkpoint.step, i);
      }
    });
  });

  test('an id that cannot be stored is refused with a clear error and nothing is written', async () => {
    await withTempFolder(async (folder) => {
      const store = await CheckpointStore.open(folder);
      await assert.rejects(store.write(sampleRecord({ kernelId: 'bad\uDC00id' })), (error: unknown) => {
        assert.ok(error instanceof CheckpointWriteError);
        assert.match(
          error.message,
          /^could not write the checkpoint of kernel "bad\\udc00id" at step 1234 \(64 state bytes\) to .*: kernel id "bad\\udc00id" is not well-formed Unicode/,
        );
        return true;
      });
      await assert.rejects(
        store.write(sampleRecord({ kernelId: 'x'.repeat(70_000) })),
        /kernel id is 70000 bytes of UTF-8; a checkpoint holds at most 65535/,
      );
      assert.deepEqual(await readdir(folder), []);
    });
  });
});
