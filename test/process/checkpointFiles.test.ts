// Checkpoint files with real device hosts (lavapipe here and in CI): a runtime with a checkpoint
// folder writes its periodic and stop checkpoints there; a second runtime (a restarted server)
// resumes each kernel from the newest file, at its step, with its bytes; a corrupted newest file
// is rejected by name and the older one used; `ringkernel run --checkpoint-dir` resumes a second
// run to the same digest as one run of all the steps; and a device whose host keeps dying is
// declared lost, its kernel re-placed on the other device instance from its checkpoint (or
// stopped, said so, when there is none to go to).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { Manifest } from '../../server/src/manifest/manifest';
import type { KernelRuntime } from '../../server/src/runtime/kernelRuntime';
import type { ReloadOutcome } from '../../server/src/runtime/kernelReports';
import { readCheckpointFile } from '../../server/src/checkpoint/checkpointDecoder';
import { parseCheckpointFileName } from '../../server/src/checkpoint/checkpointFileName';
import {
  checkedCounter as checkedState,
  counterWorkspace,
  runtimeOnInstances as runtimeOn,
  webgpuSkipReason as skipReason,
} from '../support/faultRuntime';
import { pollUntil } from '../support/poll';
import { repoRoot } from '../support/repo';

const execFileAsync = promisify(execFile);

/**
 * A workspace with the counter kernel (faultHarness.ts: word 1 sums every step, so a state that
 * lost or repeated a step, or came from another step's checkpoint, shows it), 256 KiB of state,
 * placed by the coordinator, `rateHz` steps a second.
 */
function workspace(rateHz: number): { dir: string; manifestPath: string; manifest: Manifest } {
  return counterWorkspace({ devices: ['auto'], stateBytes: 256 * 1024, rateHz });
}

/** The folder's checkpoint files, newest first. */
function filesOf(folder: string): string[] {
  return readdirSync(folder)
    .map((name) => ({ name, generation: parseCheckpointFileName(name)?.generation }))
    .filter((f): f is { name: string; generation: number } => f.generation !== undefined)
    .sort((a, b) => b.generation - a.generation)
    .map((f) => join(folder, f.name));
}

/** Runs the counter with a checkpoint folder until `files` files are there, then stops it: returns its stop state. */
async function firstRun(manifest: Manifest, folder: string, files: number): Promise<{ step: number; sha256: string }> {
  const { runtime } = await runtimeOn(manifest, 1, { checkpointFolder: folder, checkpointIntervalMs: 150 });
  try {
    const started = await runtime.start();
    assert.deepEqual(started.failed, []);
    assert.equal(started.notes, undefined, 'an empty folder has nothing to resume from');
    await pollUntil(`${files} periodic checkpoint files`, () => (filesOf(folder).length >= files ? true : undefined));
    await runtime.stop();
    // A stopped kernel answers from the checkpoint it stopped with.
    return await checkedState(runtime);
  } finally {
    await runtime.dispose(); // waits for the stop's file
  }
}

test('periodic and stop checkpoints go to the folder; a restarted runtime resumes from the newest, at its step, with its bytes', async (t) => {
  const skip = await skipReason();
  if (skip) return t.skip(skip);
  const { manifest } = workspace(50);
  const folder = join(mkdtempSync(join(tmpdir(), 'ringkernel-ckpt-dir-')), 'checkpoints');
  const stopped = await firstRun(manifest, folder, 2);
  const files = filesOf(folder);
  assert.ok(files.length >= 2 && files.length <= 3, `the newest 3 files are kept (found ${files.length})`);
  const newest = await readCheckpointFile(files[0] ?? '', { expectKernelId: 'counter' });
  assert.equal(newest.checkpoint.step, stopped.step, 'the newest file is the checkpoint the stop left');
  assert.equal(newest.checkpoint.sha256, stopped.sha256, 'with the same bytes');

  const { runtime } = await runtimeOn(manifest, 1, { checkpointFolder: folder, checkpointIntervalMs: 0 });
  try {
    const started = await runtime.start();
    assert.deepEqual(started.failed, []);
    assert.deepEqual(started.notes, [
      { id: 'counter', message: `resumed from checkpoint ${files[0]} at step ${stopped.step}` },
    ]);
    // Word 1 sums every step since step 0: it holds only if the state came back with the step.
    const resumed = await checkedState(runtime);
    assert.ok(resumed.step > stopped.step, `it steps on from ${stopped.step} (now ${resumed.step})`);
  } finally {
    await runtime.dispose();
  }
});

test('a corrupted newest file is rejected by name and the next older one is used', async (t) => {
  const skip = await skipReason();
  if (skip) return t.skip(skip);
  const { manifest } = workspace(50);
  const folder = mkdtempSync(join(tmpdir(), 'ringkernel-ckpt-dir-'));
  await firstRun(manifest, folder, 2);
  const [newest, older] = filesOf(folder);
  assert.ok(newest !== undefined && older !== undefined);
  const olderStep = (await readCheckpointFile(older, { expectKernelId: 'counter' })).checkpoint.step;
  const bytes = readFileSync(newest);
  const at = bytes.length - 100; // inside the state chunk
  bytes[at] = (bytes[at] ?? 0) ^ 0x40;
  writeFileSync(newest, bytes);

  const { runtime } = await runtimeOn(manifest, 1, { checkpointFolder: folder, checkpointIntervalMs: 0 });
  try {
    const started = await runtime.start();
    assert.deepEqual(started.failed, []);
    const note = started.notes?.[0]?.message ?? '';
    assert.match(note, new RegExp(`^resumed from checkpoint ${escape(older)} at step ${olderStep}; `));
    assert.match(note, new RegExp(`checkpoint file ${escape(newest)} is rejected: .*SHA-256`));
    const resumed = await checkedState(runtime);
    assert.ok(resumed.step > olderStep);
  } finally {
    await runtime.dispose();
  }
});

test('a checkpoint that cannot be written is reported with the folder and why, and the kernel runs on', async (t) => {
  const skip = await skipReason();
  if (skip) return t.skip(skip);
  const { manifest } = workspace(50);
  const folder = join(mkdtempSync(join(tmpdir(), 'ringkernel-ckpt-dir-')), 'checkpoints');
  const problems: string[] = [];
  const { runtime } = await runtimeOn(manifest, 1, {
    checkpointFolder: folder,
    checkpointIntervalMs: 150,
    onCheckpointProblem: (message) => problems.push(message),
  });
  try {
    assert.deepEqual((await runtime.start()).failed, []);
    await pollUntil('a first file', () => (filesOf(folder).length > 0 ? true : undefined));
    // The folder becomes a plain file: every later write fails as a broken disk would.
    rmSync(folder, { recursive: true });
    writeFileSync(folder, 'not a folder');
    const problem = await pollUntil('a reported write failure', () => problems[0]);
    assert.match(
      problem,
      /^kernel "counter" runs on, but its periodic checkpoint was not saved: could not write the checkpoint of kernel "counter" at step \d+ .* to .*checkpoints: .*no file was left behind/,
    );
    const before = (await checkedState(runtime)).step;
    await pollUntil('steps after the failure', async () =>
      (await checkedState(runtime)).step > before + 10 ? true : undefined,
    );
    assert.equal(problems.length, 1, 'reported once, not at every periodic checkpoint');
  } finally {
    await runtime.dispose();
  }
});

test('ringkernel run --checkpoint-dir: a second run resumes and ends where one run of all the steps ends', async (t) => {
  const skip = await skipReason();
  if (skip) return t.skip(skip);
  const { manifestPath } = workspace(0);
  const folder = mkdtempSync(join(tmpdir(), 'ringkernel-ckpt-cli-'));
  const run = async (
    ...args: string[]
  ): Promise<{
    kernels: {
      id: string;
      step: number;
      sha256: string;
      resumedFrom?: { file: string; step: number };
      checkpoint?: string;
    }[];
  }> => {
    const { stdout } = await execFileAsync(process.execPath, [
      join(repoRoot, 'bin', 'ringkernel'),
      'run',
      manifestPath,
      '--json',
      ...args,
    ]);
    return JSON.parse(stdout) as never;
  };
  const first = (await run('--steps', '25', '--checkpoint-dir', folder)).kernels[0];
  assert.equal(first?.step, 25);
  assert.equal(first.resumedFrom, undefined);
  assert.ok(first.checkpoint !== undefined && filesOf(folder).includes(first.checkpoint));
  const second = (await run('--steps', '25', '--checkpoint-dir', folder)).kernels[0];
  assert.deepEqual(second?.resumedFrom, { file: first.checkpoint, step: 25 });
  assert.equal(second.step, 50);
  const whole = (await run('--steps', '50')).kernels[0];
  assert.equal(second.sha256, whole?.sha256, 'resuming changes nothing: the same digest as 50 steps in one run');
});

/** Kills the kernel's device host and waits until it runs again somewhere; returns its view then. */
async function killHost(runtime: KernelRuntime, what: string): Promise<void> {
  const pid = runtime.views()[0]?.hostPid;
  assert.ok(pid !== undefined, 'the kernel has a host process');
  process.kill(pid, 'SIGKILL');
  await pollUntil(what, () => {
    const view = runtime.views()[0];
    return view?.state === 'running' && view.hostPid !== undefined && view.hostPid !== pid ? true : undefined;
  });
}

test('a device whose host keeps dying is lost: its kernel is re-placed on the other instance from its checkpoint, the re-run steps said', async (t) => {
  const skip = await skipReason();
  if (skip) return t.skip(skip);
  const { manifest } = workspace(100);
  const outcomes: ReloadOutcome[] = [];
  const { runtime, coordinator } = await runtimeOn(manifest, 2, {
    checkpointIntervalMs: 200,
    deviceRestartsPerMinute: 2,
    onOutcome: (outcome) => outcomes.push(outcome),
  });
  try {
    assert.deepEqual((await runtime.start()).failed, []);
    const from = runtime.views()[0]?.device ?? '';
    const other = from === 'webgpu:0' ? 'webgpu:1' : 'webgpu:0';
    await pollUntil('a periodic checkpoint', async () => ((await checkedState(runtime)).step > 40 ? true : undefined));
    await killHost(runtime, 'the kernel back on its own device after one host death');
    assert.equal(runtime.views()[0]?.device, from, 'one death is not a lost device');
    await killHost(runtime, 'the kernel running again after the second host death');
    const view = runtime.views()[0];
    assert.equal(view?.device, other, 'the kernel runs on the other device instance');
    assert.equal(coordinator.device(from), undefined, 'the lost device left the coordinator');
    assert.equal(coordinator.kernelDevice('counter'), other);
    const replaced = outcomes.find((o) => o.message.includes('re-placed'));
    assert.ok(replaced, `an outcome says it was re-placed (got: ${outcomes.map((o) => o.message).join(' | ')})`);
    assert.equal(replaced.status, 'recovered');
    assert.match(
      replaced.message,
      new RegExp(
        `^counter re-placed on ${other} from its checkpoint at step \\d+; (steps \\d+-\\d+|step \\d+|no step is) re-run`,
      ),
    );
    // The same figures, structured (the soak counts steps re-run from these, not from the sentence).
    const said = /from its checkpoint at step (\d+)/.exec(replaced.message)?.[1];
    assert.equal(replaced.rerun?.fromStep, Number(said), 'rerun.fromStep is the checkpoint the message names');
    assert.ok(replaced.rerun.reachedStep >= replaced.rerun.fromStep);
    // Word 1 still sums every step exactly once: it came back from a real checkpoint, at its step.
    await pollUntil('steps on the new device', async () =>
      (await checkedState(runtime)).step > 50 ? true : undefined,
    );
  } finally {
    await runtime.dispose();
  }
});

test('a lost device with nowhere to go: the kernel is stopped, and the message says so', async (t) => {
  const skip = await skipReason();
  if (skip) return t.skip(skip);
  const { manifest } = workspace(100);
  const outcomes: ReloadOutcome[] = [];
  const { runtime } = await runtimeOn(manifest, 1, {
    checkpointIntervalMs: 200,
    deviceRestartsPerMinute: 1,
    onOutcome: (outcome) => outcomes.push(outcome),
  });
  try {
    assert.deepEqual((await runtime.start()).failed, []);
    await pollUntil('steps', async () => ((await checkedState(runtime)).step > 20 ? true : undefined));
    const pid = runtime.views()[0]?.hostPid;
    assert.ok(pid !== undefined);
    process.kill(pid, 'SIGKILL');
    const view = await pollUntil('the kernel stopped', () => {
      const v = runtime.views()[0];
      return v?.state === 'stopped' ? v : undefined;
    });
    const stranded = outcomes.find((o) => o.status === 'failed');
    assert.match(
      stranded?.message ?? '',
      /^counter lost its device webgpu:0 .*no other device can run it .*it is stopped; its checkpoint at step \d+ is kept/,
    );
    // The checkpoint is kept: the stopped kernel shows its state, still consistent.
    assert.ok(view.step > 0);
    await checkedState(runtime);
  } finally {
    await runtime.dispose();
  }
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
