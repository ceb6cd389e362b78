// Checkpoint file throughput: the store's write (encode, hash, fsync, rename) and newest() (read,
// verify every digest and the checksum) of one state, beside the raw work in the same run: a plain
// write + fsync of the same bytes to a new file, a plain read into the same memory, and SHA-256 alone. Not a test: a quick
// figure. Usage: node out/bench/checkpointFiles.js [--mib 64] [--runs 5] [--dir FOLDER]
// The reads are from the page cache (the file was just written), so they measure the format's own
// cost, not the disk.
import { randomFillSync, createHash } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointStore } from '../server/src/checkpoint/checkpointStore';
import type { CheckpointRecord } from '../server/src/checkpoint/checkpointRecord';
import { KernelCheckpoint } from '../server/src/checkpoint/kernelCheckpoint';
import { gbPerSecond, summarize, timeMany } from './stats';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? (process.argv[at + 1] ?? fallback) : fallback;
}

async function main(): Promise<void> {
  const bytes = Number(option('mib', '64')) * 1024 * 1024;
  const runs = Number(option('runs', '7'));
  const folder = await mkdtemp(join(option('dir', tmpdir()), 'ringkernel-checkpoint-bench-'));
  try {
    const state = randomFillSync(new Uint8Array(bytes));
    const store = await CheckpointStore.open(folder);
    let step = 0;
    const record = (): CheckpointRecord => {
      step++;
      return {
        checkpoint: KernelCheckpoint.of({ kernelId: 'bench', version: 1, step, state }),
        codeSha256: '00'.repeat(32),
        backend: 'webgpu',
        deviceKey: 'webgpu:0',
        control: { step, kernelIndex: 0, inboxCount: 0, outboxCapacity: 1 },
      };
    };
    const into = new Uint8Array(bytes);
    const storeWrite = await timeMany(runs, () => store.write(record()));
    const storeRead = await timeMany(runs, async () => {
      const { loaded } = await store.newest('bench', { into });
      if (!loaded) throw new Error('the checkpoint just written did not read back');
    });
    // The same bytes written plainly: a new file per run and the one from three runs back removed, as the store does.
    let rawRun = 0;
    const rawFile = (run: number): string => join(folder, `raw-${run}.bin`);
    const rawWrite = await timeMany(runs, async () => {
      const handle = await open(rawFile(++rawRun), 'wx');
      try {
        await handle.writeFile(state);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rm(rawFile(rawRun - 3), { force: true });
    });
    const rawRead = await timeMany(runs, async () => {
      const handle = await open(rawFile(rawRun), 'r');
      try {
        await handle.read(into, 0, bytes, 0);
      } finally {
        await handle.close();
      }
    });
    const sha256 = await timeMany(runs, () => Promise.resolve(createHash('sha256').update(state).digest()));
    const figure = (samples: number[]): { p50Ms: number; bestMs: number; GBps: number; bestGBps: number } => {
      const { p50Ms } = summarize(samples);
      const bestMs = Math.round(Math.min(...samples) * 1000) / 1000;
      return { p50Ms, bestMs, GBps: gbPerSecond(bytes, p50Ms), bestGBps: gbPerSecond(bytes, bestMs) };
    };
    const result = {
      date: new Date().toISOString(),
      node: process.versions.node,
      folder,
      stateBytes: bytes,
      runs,
      storeWrite: figure(storeWrite),
      storeReadVerified: figure(storeRead),
      rawWriteFsync: figure(rawWrite),
      rawReadIntoSameMemory: figure(rawRead),
      sha256Only: figure(sha256),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `checkpoint bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
