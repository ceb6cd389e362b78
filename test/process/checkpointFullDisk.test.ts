// A full disk under the checkpoint files, for real: the folder is a size-limited tmpfs, mounted in
// a user and mount namespace of its own (`unshare --user --map-root-user --mount`: no root needed
// where unprivileged user namespaces are allowed, as on Debian), so the kernel's write(2) fails
// with ENOSPC part-way through a file, as on a disk that filled up. This file runs itself again
// inside that namespace (RINGKERNEL_FULL_DISK names the mounted folder); outside, it only starts
// that run and reports it. Where the namespace is refused the test is skipped, saying why; the
// store's handling of ENOSPC is also covered by test/unit/checkpoint/checkpointStore.test.ts.
//
// Checked: a write that finds the disk full fails with a message naming the kernel, the folder,
// ENOSPC and what to do, reported once; no temporary or half-written file stays; the kernel keeps
// running; the files written before still read cleanly and a restarted runtime resumes from the
// newest of them, at its step; once space returns, writes succeed again.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readCheckpointFile } from '../../server/src/checkpoint/checkpointDecoder';
import { isTempFileName, parseCheckpointFileName } from '../../server/src/checkpoint/checkpointFileName';
import type { Logger } from '../../server/src/logger';
import type { KernelRuntime } from '../../server/src/runtime/kernelRuntime';
import { counterState } from '../support/faultHarness';
import { checkedCounter, counterWorkspace, runtimeOnInstances, webgpuSkipReason } from '../support/faultRuntime';
import { pollUntil } from '../support/poll';

/** The tmpfs's size: room for the kernel's three kept files (about 257 KiB each) and some to spare. */
const DISK_BYTES = 2 * 1024 * 1024;
const STATE_BYTES = 256 * 1024;
/** Left free when the disk is "full": less than a checkpoint file, so a write fails part-way through. */
const SPARE_BYTES = 64 * 1024;

const mounted = process.env.RINGKERNEL_FULL_DISK;

/** Writes `path` until the disk says ENOSPC (the real error), then frees `spare` bytes of it. */
function fillDisk(path: string, spare: number): number {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, chunk);
  } catch (error) {
    assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC', `filling the disk ended with ${String(error)}`);
  } finally {
    closeSync(fd);
  }
  truncateSync(path, Math.max(0, written - spare));
  return written;
}

/** The folder's checkpoint files, oldest first, and any temporary ones. */
function listing(folder: string): { files: string[]; temps: string[] } {
  const names = readdirSync(folder);
  const files = names
    .map((name) => ({ name, generation: parseCheckpointFileName(name)?.generation }))
    .filter((f): f is { name: string; generation: number } => f.generation !== undefined)
    .sort((a, b) => a.generation - b.generation)
    .map((f) => join(folder, f.name));
  return { files, temps: names.filter(isTempFileName) };
}

/** Every listed file reads cleanly and holds a counter state that agrees with its step. */
async function allSound(files: readonly string[]): Promise<number[]> {
  const steps: number[] = [];
  for (const file of files) {
    const { checkpoint } = await readCheckpointFile(file, { expectKernelId: 'counter' });
    const counted = counterState(new Uint8Array(checkpoint.state), checkpoint.step);
    assert.ok(counted.consistent, `${file}: ${counted.detail}`);
    steps.push(checkpoint.step);
  }
  return steps;
}

function recordingLog(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    error: () => undefined,
    warn: (m: string) => warnings.push(m),
    info: () => undefined,
    debug: () => undefined,
  };
}

function withoutTestContext(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NODE_TEST_CONTEXT: _context, ...rest } = env;
  return rest;
}

if (mounted === undefined) {
  test(
    'a full disk under the checkpoint folder (a size-limited tmpfs in a user and mount namespace)',
    { timeout: 300_000 },
    async (t) => {
      const skip = await webgpuSkipReason();
      if (skip) return t.skip(skip);
      const folder = mkdtempSync(join(tmpdir(), 'ringkernel-full-disk-'));
      try {
        const mount = `mount -t tmpfs -o size=${DISK_BYTES} ringkernel-full-disk "$1"`;
        const probe = spawnSync('unshare', ['--user', '--map-root-user', '--mount', 'sh', '-c', mount, 'sh', folder], {
          encoding: 'utf8',
        });
        if (probe.error || probe.status !== 0)
          return t.skip(
            `this machine refuses a tmpfs in a user and mount namespace (${(probe.error?.message ?? probe.stderr).trim()}): ` +
              'allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, or on Ubuntu kernel.apparmor_restrict_unprivileged_userns=0) to run it',
          );
        const run = spawnSync(
          'unshare',
          [
            '--user',
            '--map-root-user',
            '--mount',
            'sh',
            '-c',
            `${mount} && exec "$2" --test --test-reporter=tap "$3"`,
            'sh',
            folder,
            process.execPath,
            __filename,
          ],
          {
            encoding: 'utf8',
            // Without the outer runner's NODE_TEST_CONTEXT, so the inner run reports as a run of its own.
            env: { ...withoutTestContext(process.env), RINGKERNEL_FULL_DISK: folder },
            timeout: 280_000,
          },
        );
        const output = `${run.stdout}${run.stderr}`;
        for (const line of output.split('\n').filter((l) => /^\s*(#|not ok|ok)/.test(l))) t.diagnostic(line);
        assert.equal(run.status, 0, `the run inside the namespace failed:\n${output.slice(-6000)}`);
        assert.match(run.stdout, /^# pass 1$/m, 'the full-disk test ran (and passed) inside the namespace');
      } finally {
        rmSync(folder, { recursive: true, force: true });
      }
    },
  );
} else {
  test('inside the namespace: checkpoints on a disk that fills up and frees again', { timeout: 240_000 }, async () => {
    const disk = statSync(mounted);
    assert.ok(disk.isDirectory(), `${mounted} is the mounted tmpfs`);
    const folder = join(mounted, 'checkpoints');
    const filler = join(mounted, 'filler');
    const workspace = counterWorkspace({ devices: ['auto'], stateBytes: STATE_BYTES, rateHz: 100 });
    const problems: string[] = [];
    let runtime: KernelRuntime | undefined;
    try {
      const log = recordingLog();
      ({ runtime } = await runtimeOnInstances(workspace.manifest, 1, {
        log,
        checkpointFolder: folder,
        checkpointIntervalMs: 150,
        onCheckpointProblem: (message) => problems.push(message),
      }));
      assert.deepEqual((await runtime.start()).failed, []);
      await pollUntil('two checkpoint files', () => (listing(folder).files.length >= 2 ? true : undefined), {
        timeoutMs: 60_000,
      });

      // The disk fills up (another program's file); the next periodic write fails part-way through.
      fillDisk(filler, SPARE_BYTES);
      const problem = await pollUntil('a reported write failure', () => problems[0], { timeoutMs: 60_000 });
      assert.match(
        problem,
        new RegExp(
          `^kernel "counter" runs on, but its periodic checkpoint was not saved: could not write the checkpoint of kernel "counter" at step \\d+ \\(${STATE_BYTES} state bytes\\) to ${folder}: ` +
            'no space left on device \\(ENOSPC\\); free some space on that disk; no file was left behind, and the earlier checkpoints are kept$',
        ),
      );
      const failedAt = Number(/at step (\d+)/.exec(problem)?.[1]);
      // More writes fail while the disk stays full: logged each time, reported once.
      await pollUntil(
        'three failed writes',
        () => (log.warnings.filter((w) => w.includes('ENOSPC')).length >= 3 ? true : undefined),
        {
          timeoutMs: 60_000,
        },
      );
      assert.equal(problems.length, 1, 'reported once while the disk stays full');
      const full = listing(folder);
      assert.deepEqual(full.temps, [], 'no temporary file left behind');
      const kept = await allSound(full.files);
      assert.ok(
        kept.length >= 2 && Math.max(...kept) < failedAt,
        `the files from before the disk filled up stay, whole (steps ${kept.join(', ')})`,
      );
      // The kernel runs on, its state intact.
      const running = await checkedCounter(runtime);
      await pollUntil(
        'steps while the disk is full',
        async () => ((await checkedCounter(runtime!)).step > running.step + 20 ? true : undefined),
        {
          timeoutMs: 60_000,
        },
      );

      // A restarted server resumes from the newest file written before the disk filled up.
      await runtime.stop();
      await runtime.dispose();
      runtime = undefined;
      const stopped = listing(folder);
      assert.deepEqual(stopped.temps, [], 'the stop checkpoint, failing too, left no temporary file');
      const newest = Math.max(...(await allSound(stopped.files)));
      ({ runtime } = await runtimeOnInstances(workspace.manifest, 1, {
        log: recordingLog(),
        checkpointFolder: folder,
        checkpointIntervalMs: 150,
        onCheckpointProblem: (message) => problems.push(message),
      }));
      const restarted = await runtime.start();
      assert.deepEqual(restarted.failed, []);
      assert.match(restarted.notes?.[0]?.message ?? '', new RegExp(`^resumed from checkpoint .* at step ${newest}`));
      const resumed = await checkedCounter(runtime);
      assert.ok(resumed.step >= newest, `it steps on from ${newest} (now ${resumed.step}), every step counted once`);

      // Space comes back: the next periodic write goes through.
      rmSync(filler);
      const freedAt = (await checkedCounter(runtime)).step;
      const written = await pollUntil(
        'a checkpoint file written after space came back',
        async () => {
          const { files } = listing(folder);
          const steps = await allSound(files);
          return steps.some((step) => step > freedAt) ? steps : undefined;
        },
        { timeoutMs: 60_000 },
      );
      assert.ok(written.length <= 3, `the newest 3 files are kept (found ${written.length})`);
      assert.deepEqual(listing(folder).temps, []);
    } finally {
      await runtime?.dispose();
      rmSync(workspace.dir, { recursive: true, force: true });
    }
  });
}
