import assert from 'node:assert/strict';
import { copyFile, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { ByteSink } from '../../../server/src/checkpoint/byteStreams';
import { CheckpointWriteError } from '../../../server/src/checkpoint/checkpointErrors';
import { checkpointFileName } from '../../../server/src/checkpoint/checkpointFileName';
import { CheckpointStore, type CheckpointStoreOptions } from '../../../server/src/checkpoint/checkpointStore';
import type { Logger } from '../../../server/src/logger';
import { sampleRecord, withTempFolder } from './records';

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const push = (level: string) => (message: string) => void lines.push(`${level}: ${message}`);
  return { lines, error: push('error'), warn: push('warn'), info: push('info'), debug: push('debug') };
}

async function openStore(folder: string, options: CheckpointStoreOptions = {}): Promise<CheckpointStore> {
  return CheckpointStore.open(join(folder, 'store'), options);
}

async function flipByte(file: string, fromEnd: number): Promise<void> {
  const bytes = await readFile(file);
  const at = bytes.byteLength - fromEnd;
  bytes[at] = (bytes[at] ?? 0) ^ 0x55;
  await writeFile(file, bytes);
}

async function generations(store: CheckpointStore, kernelId: string): Promise<number[]> {
  const found: number[] = [];
  for (const { file } of await store.files(kernelId)) found.push(Number(/\.(\d+)\.rkcp$/.exec(file)?.[1]));
  return found;
}

describe('checkpoint store', () => {
  test('a written checkpoint is the newest, inside the folder, and reads back verified', async () => {
    await withTempFolder(async (folder) => {
      const store = await openStore(folder);
      const record = sampleRecord({ step: 10, full: true });
      const outcome = await store.write(record);
      assert.ok(outcome.written);
      assert.equal(outcome.file, join(store.folder, checkpointFileName('heat', 0)));
      assert.equal(record.checkpoint.knownSha256, outcome.stateSha256, 'the writer records the digest it computed');
      const { loaded, rejected } = await store.newest('heat');
      assert.deepEqual(rejected, []);
      assert.equal(loaded?.file, outcome.file);
      assert.equal(loaded.record.checkpoint.step, 10);
      assert.equal(loaded.record.checkpoint.verify(), 'matched');
      assert.deepEqual(loaded.record.hlc, record.hlc);
      assert.equal((await stat(outcome.file)).size, outcome.fileBytes);
    });
  });

  test('a kernel without files has no newest and nothing is logged', async () => {
    await withTempFolder(async (folder) => {
      const logger = recordingLogger();
      const store = await openStore(folder, { logger });
      await store.write(sampleRecord({ kernelId: 'other' }));
      assert.deepEqual(await store.newest('heat'), { loaded: undefined, rejected: [] });
      assert.deepEqual(logger.lines, []);
    });
  });

  test('the newest three per kernel are kept, by write order even when the step goes back (a rollback)', async () => {
    await withTempFolder(async (folder) => {
      const store = await openStore(folder);
      for (const step of [100, 200, 300, 400, 150]) await store.write(sampleRecord({ step }));
      await store.write(sampleRecord({ kernelId: 'wave', step: 1 }));
      assert.deepEqual(await generations(store, 'heat'), [4, 3, 2], 'generations kept');
      assert.equal((await store.newest('heat')).loaded?.record.checkpoint.step, 150);
      assert.equal((await store.files('wave')).length, 1, "another kernel's files are not pruned by heat's writes");
    });
  });

  test('keep: 1 keeps only the newest; a store reopened goes on numbering after the files it finds', async () => {
    await withTempFolder(async (folder) => {
      const first = await openStore(folder, { keep: 1 });
      await first.write(sampleRecord({ step: 1 }));
      await first.write(sampleRecord({ step: 2 }));
      assert.deepEqual(await generations(first, 'heat'), [1]);
      const reopened = await openStore(folder, { keep: 1 });
      await reopened.write(sampleRecord({ step: 3 }));
      assert.deepEqual(await generations(reopened, 'heat'), [2]);
      assert.equal((await reopened.newest('heat')).loaded?.record.checkpoint.step, 3);
    });
  });

  test('newest falls back past a corrupt, a truncated and a newer-version file, and warns why', async () => {
    await withTempFolder(async (folder) => {
      const logger = recordingLogger();
      const store = await openStore(folder, { logger, keep: 4 });
      for (const step of [1, 2, 3, 4]) await store.write(sampleRecord({ step }));
      const [newest, second, third] = (await store.files('heat')).map((f) => f.file);
      assert.ok(newest && second && third);
      await flipByte(newest, 60); // inside the state
      const secondBytes = await readFile(second);
      await writeFile(second, secondBytes.subarray(0, secondBytes.byteLength - 20));
      const thirdBytes = await readFile(third);
      thirdBytes[8] = 9;
      await writeFile(third, thirdBytes);

      const { loaded, rejected } = await store.newest('heat');
      assert.equal(loaded?.record.checkpoint.step, 1);
      assert.deepEqual(
        rejected.map((r) => [r.file, r.problem]),
        [
          [newest, 'digest-mismatch'],
          [second, 'truncated'],
          [third, 'unsupported-version'],
        ],
      );
      const warning = logger.lines.find((line) =>
        line.startsWith('warn: kernel "heat" resumes from the older checkpoint'),
      );
      assert.ok(warning, logger.lines.join('\n'));
      for (const reason of rejected.map((r) => r.reason))
        assert.ok(warning.includes(reason), `the warning lacks: ${reason}`);
      assert.match(warning, /chunk 3 of 3 \(state \('STAT'\).*is corrupt/);
    });
  });

  test('when every file is rejected, newest finds none and says why for each', async () => {
    await withTempFolder(async (folder) => {
      const logger = recordingLogger();
      const store = await openStore(folder, { logger });
      await store.write(sampleRecord({ step: 1 }));
      await store.write(sampleRecord({ step: 2 }));
      for (const { file } of await store.files('heat')) await flipByte(file, 3);
      const { loaded, rejected } = await store.newest('heat');
      assert.equal(loaded, undefined);
      assert.deepEqual(
        rejected.map((r) => r.problem),
        ['checksum-mismatch', 'checksum-mismatch'],
      );
      assert.ok(
        logger.lines.some(
          (line) =>
            line.startsWith('warn: kernel "heat" has no usable checkpoint') && line.split('\n  - ').length === 3,
        ),
        logger.lines.join('\n'),
      );
    });
  });

  test("another kernel's file under this kernel's name is rejected as foreign", async () => {
    await withTempFolder(async (folder) => {
      const store = await openStore(folder);
      const wave = await store.write(sampleRecord({ kernelId: 'wave', step: 7 }));
      assert.ok(wave.written);
      await store.write(sampleRecord({ kernelId: 'heat', step: 5 }));
      await copyFile(wave.file, join(store.folder, checkpointFileName('heat', 99)));
      const { loaded, rejected } = await store.newest('heat');
      assert.equal(loaded?.record.checkpoint.step, 5);
      assert.equal(rejected[0]?.problem, 'foreign');
    });
  });

  test('a crash between the write and the rename leaves the old file the newest; the next open removes the leftover', async () => {
    await withTempFolder(async (folder) => {
      const store = await openStore(folder);
      await store.write(sampleRecord({ step: 1 }));
      let reached: ((path: string) => void) | undefined;
      const atRename = new Promise<string>((resolve) => (reached = resolve));
      // The process "dies" here: the promise never settles, so nothing after it (rename, cleanup) runs.
      const crashing = await openStore(folder, {
        hooks: { beforeRename: (tempPath) => (reached?.(tempPath), new Promise<void>(() => undefined)) },
      });
      void crashing.write(sampleRecord({ step: 2 }));
      const tempPath = await atRename;
      assert.ok((await stat(tempPath)).size > 0, 'the temporary file was written and synced');
      assert.equal(
        (await crashing.newest('heat')).loaded?.record.checkpoint.step,
        1,
        'before the rename, the old file is the newest',
      );

      const logger = recordingLogger();
      const restarted = await openStore(folder, { logger });
      assert.deepEqual(await readdir(restarted.folder), [checkpointFileName('heat', 0)]);
      assert.ok(
        logger.lines.includes(
          `info: removed 1 unfinished checkpoint file(s) left in ${restarted.folder} by an interrupted write`,
        ),
        logger.lines.join('\n'),
      );
      const { loaded } = await restarted.newest('heat');
      assert.equal(loaded?.record.checkpoint.step, 1);
      assert.equal(loaded.record.checkpoint.verify(), 'matched');
    });
  });

  test('a disk that fills up mid-write (ENOSPC) fails clearly and leaves no partial file', async () => {
    await withTempFolder(async (folder) => {
      const good = await openStore(folder);
      await good.write(sampleRecord({ step: 1 }));
      let partial = 0;
      const full = (sink: ByteSink, tempPath: string): ByteSink => {
        let room = 150;
        return {
          async write(bytes: Uint8Array): Promise<void> {
            if (bytes.byteLength > room) {
              await sink.write(bytes.subarray(0, room));
              partial = (await stat(tempPath)).size;
              throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
                code: 'ENOSPC',
                errno: -28,
                syscall: 'write',
              });
            }
            room -= bytes.byteLength;
            await sink.write(bytes);
          },
        };
      };
      const store = await openStore(folder, { hooks: { sink: full } });
      await assert.rejects(store.write(sampleRecord({ step: 2, stateBytes: 4096 })), (error: unknown) => {
        assert.ok(error instanceof CheckpointWriteError);
        assert.equal(error.code, 'ENOSPC');
        assert.equal(
          error.message,
          `could not write the checkpoint of kernel "heat" at step 2 (4096 state bytes) to ${store.folder}: no space left on device (ENOSPC); free some space on that disk; ` +
            'no file was left behind, and the earlier checkpoints are kept',
        );
        return true;
      });
      assert.equal(partial, 150, 'the failing write had really put part of the file on disk');
      assert.deepEqual(await readdir(store.folder), [checkpointFileName('heat', 0)]);
      assert.equal((await store.newest('heat')).loaded?.record.checkpoint.step, 1);
    });
  });

  test('a folder replaced by a file mid-write: the failure says no file was left (the folder went with it)', async () => {
    await withTempFolder(async (folder) => {
      const inner = join(folder, 'checkpoints');
      const replaced = async (): Promise<void> => {
        await rm(inner, { recursive: true });
        await writeFile(inner, 'not a folder');
      };
      const store = await openStore(inner, { hooks: { beforeRename: replaced } });
      await assert.rejects(store.write(sampleRecord({ step: 4 })), (error: unknown) => {
        assert.ok(error instanceof CheckpointWriteError);
        assert.match(error.message, /ENOTDIR.*; no file was left behind, and the earlier checkpoints are kept$/);
        return true;
      });
    });
  });

  test('a state that changed after its digest was taken is not written', async () => {
    await withTempFolder(async (folder) => {
      const store = await openStore(folder);
      const record = sampleRecord({ step: 3 });
      assert.equal(record.checkpoint.verify(), 'sealed');
      const state = record.checkpoint.state as Uint8Array;
      state[0] = (state[0] ?? 0) ^ 1;
      await assert.rejects(
        store.write(record),
        /changed while it was being written: its SHA-256 was [0-9a-f]{64}, the bytes written hash to [0-9a-f]{64}; no file was left behind/,
      );
      assert.deepEqual(await readdir(store.folder), []);
    });
  });

  test('writes asked for while one runs: the waiting one is replaced by the newest', async () => {
    await withTempFolder(async (folder) => {
      const store = await openStore(folder);
      const records = [1, 2, 3].map((step) => sampleRecord({ step }));
      const writes = records.map((record) => store.write(record));
      const inUse = store.statesInUse();
      assert.ok(
        inUse.has(records[0]?.checkpoint.state ?? new Uint8Array()) &&
          inUse.has(records[2]?.checkpoint.state ?? new Uint8Array()),
        'the running and the waiting write hold their memory',
      );
      assert.ok(!inUse.has(records[1]?.checkpoint.state ?? new Uint8Array()), 'a superseded write releases its memory');
      const outcomes = await Promise.all(writes);
      assert.deepEqual(
        outcomes.map((o) => (o.written ? `written ${o.generation}` : `superseded by ${o.supersededByStep}`)),
        ['written 0', 'superseded by 3', 'written 1'],
      );
      assert.equal((await store.newest('heat')).loaded?.record.checkpoint.step, 3);
      await store.idle();
      assert.equal(store.statesInUse().size, 0);
    });
  });

  test('opening removes only its own temporary files', async () => {
    await withTempFolder(async (folder) => {
      const store = await openStore(folder);
      const ours = `${checkpointFileName('heat', 5)}.0123456789abcdef.tmp`;
      const others = ['notes.txt', 'x.tmp', 'heat.rkcp.tmp', `${checkpointFileName('heat', 5)}.tmp`];
      for (const name of [ours, ...others]) await writeFile(join(store.folder, name), 'x');
      await openStore(folder);
      assert.deepEqual((await readdir(store.folder)).sort(), others.sort());
    });
  });

  test('a folder removed under a running store holds nothing, and the next write makes it again', async () => {
    await withTempFolder(async (folder) => {
      const store = await openStore(folder);
      await store.write(sampleRecord({ step: 1 }));
      await rm(store.folder, { recursive: true });
      assert.deepEqual(await store.newest('heat'), { loaded: undefined, rejected: [] });
      assert.ok((await store.write(sampleRecord({ step: 2 }))).written);
      assert.equal((await store.newest('heat')).loaded?.record.checkpoint.step, 2);
    });
  });

  test('remove deletes every file of one kernel', async () => {
    await withTempFolder(async (folder) => {
      const store = await openStore(folder);
      await store.write(sampleRecord({ step: 1 }));
      await store.write(sampleRecord({ step: 2 }));
      await store.write(sampleRecord({ kernelId: 'wave' }));
      assert.equal(await store.remove('heat'), 2);
      assert.deepEqual(await store.files('heat'), []);
      assert.equal((await store.files('wave')).length, 1);
    });
  });
});
