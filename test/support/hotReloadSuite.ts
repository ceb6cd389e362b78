// The kernel runtime's hot-reload behaviour, on real kernels in real device hosts, for one
// backend: WGSL through Dawn (lavapipe in CI, the GPU on a GPU machine) and PTX through CUDA.
// Every kernel here keeps two counters in its state: word 0 = steps run (control.step + 1) and
// word 1 = the sum of each step's TICK. A version's TICK says which version ran each step, so
// the state proves both that it was preserved and which code ran after a swap.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { probeBackends } from '../../server/src/probe/machineProbe';
import type { BackendName, BackendReport } from '../../server/src/backends/backendReport';
import { MultiGpuCoordinator } from '../../server/src/coordinator/multiGpuCoordinator';
import type { Logger } from '../../server/src/logger';
import { parseManifest } from '../../server/src/manifest/manifest';
import { coordinatorPlacer } from '../../server/src/runtime/coordinatorPlacer';
import { KernelRuntime } from '../../server/src/runtime/kernelRuntime';
import type { ReloadOutcome } from '../../server/src/runtime/kernelReports';
import { ValidatorSet } from '../../server/src/validation';
import { pollUntil } from './poll';
import { distFile } from './repo';

export interface HotReloadSuiteOptions {
  backend: BackendName;
  /** File extension of the sources: 'wgsl' or 'ptx'. */
  extension: 'wgsl' | 'ptx';
  entryPoint: string;
  /** The counter kernel with the given TICK per step. */
  counter(tick: number): string;
  /** Code its compiler rejects. */
  invalid: string;
  /** A version whose first step never ends. */
  endless: string;
  /** Runs the suite only when true; otherwise every test is skipped with `skipReason`. */
  enabled: boolean;
  skipReason: string;
}

const quiet: Logger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

let reports: Promise<BackendReport[]> | undefined;

interface Harness {
  runtime: KernelRuntime;
  source: string;
  outcomes: ReloadOutcome[];
  validators: ValidatorSet;
  counters(): Promise<{ steps: number; ticks: number; step: number; version: number }>;
  save(code: string): Promise<ReloadOutcome[]>;
  dispose(): Promise<void>;
}

interface HarnessSettings {
  stepTimeoutMs?: number;
  rateHz?: number;
}

async function harness(
  options: HotReloadSuiteOptions,
  firstCode: string,
  settings: HarnessSettings = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'ringkernel-reload-'));
  const source = join(dir, `counter.${options.extension}`);
  writeFileSync(source, firstCode);
  const manifestPath = join(dir, 'ringkernel.json');
  const manifestText = JSON.stringify({
    version: 1,
    kernels: [
      {
        id: 'counter',
        source: `counter.${options.extension}`,
        entryPoint: options.entryPoint,
        backend: options.backend,
        stateBytes: 64,
        grid: [1, 1, 1],
        block: [1, 1, 1],
        rateHz: settings.rateHz ?? 0,
      },
    ],
  });
  writeFileSync(manifestPath, manifestText);
  const manifest = parseManifest(manifestText, manifestPath);
  assert.deepEqual(
    manifest.problems.filter((p) => p.severity === 'error'),
    [],
  );
  reports ??= probeBackends({});
  const coordinator = new MultiGpuCoordinator();
  coordinator.syncDevices(await reports);
  const validators = new ValidatorSet({ logger: quiet, tintHostScript: distFile('tintHost.js') });
  const outcomes: ReloadOutcome[] = [];
  const runtime = new KernelRuntime({
    log: quiet,
    placer: coordinatorPlacer(coordinator),
    hostScript: distFile('deviceHost.js'),
    stepTimeoutMs: settings.stepTimeoutMs ?? 5_000,
    checkpointIntervalMs: 0,
    validate: async (_id, kernelSource) => {
      const outcome = await validators.validate(kernelSource.language, kernelSource.code);
      return outcome.diagnostics
        .filter((d) => d.severity === 'error')
        .map((d) => `${d.range.start.line + 1}:${d.range.start.character + 1}: ${d.message}`);
    },
    onOutcome: (outcome) => outcomes.push(outcome),
  });
  await runtime.setManifest(manifest);
  const started = await runtime.start();
  assert.deepEqual(started.failed, [], 'the kernel starts');
  return {
    runtime,
    source,
    outcomes,
    validators,
    async counters() {
      const snapshot = await runtime.readState('counter');
      const words = new Uint32Array(snapshot.state.buffer, snapshot.state.byteOffset, 2);
      return { steps: words[0] ?? 0, ticks: words[1] ?? 0, step: snapshot.step, version: snapshot.version };
    },
    save(code: string) {
      writeFileSync(source, code);
      return Promise.all(runtime.sourceSaved(source, code));
    },
    async dispose() {
      await runtime.dispose();
      validators.dispose();
    },
  };
}

/** Waits until the kernel has run at least `steps` more steps than `from`. */
async function stepsPast(
  h: Harness,
  from: number,
  steps = 5,
): Promise<{ steps: number; ticks: number; step: number; version: number }> {
  return pollUntil(
    `${steps} more steps after step ${from}`,
    async () => {
      const counters = await h.counters();
      return counters.step >= from + steps ? counters : undefined;
    },
    { timeoutMs: 30_000 },
  );
}

export function hotReloadSuite(options: HotReloadSuiteOptions): void {
  const skip = options.enabled ? false : options.skipReason;
  const name = (what: string): string => `${options.backend} hot reload: ${what}`;

  test(name('a started kernel steps, and its state counts every step'), { skip }, async () => {
    const h = await harness(options, options.counter(1));
    try {
      const counters = await stepsPast(h, 0, 10);
      assert.equal(counters.steps, counters.step, 'word 0 is the number of steps run');
      assert.equal(counters.ticks, counters.step, 'v1 adds 1 per step');
      assert.equal(h.runtime.views()[0]?.state, 'running');
    } finally {
      await h.dispose();
    }
  });

  test(
    name('a valid save swaps the code at a step boundary and keeps the state and step count'),
    { skip },
    async () => {
      const h = await harness(options, options.counter(1));
      try {
        const before = await stepsPast(h, 0, 5);
        const [outcome] = await h.save(options.counter(1000));
        assert.equal(outcome?.status, 'reloaded', outcome?.message);
        assert.equal(outcome.toVersion, 2);
        assert.equal(outcome.statePreserved, true);
        assert.ok(
          outcome.timings && outcome.timings.totalMs >= outcome.timings.compileMs,
          'phase timings are reported',
        );
        assert.match(
          outcome.message,
          /^counter v2 reloaded on .+: running in \d+ ms \(state preserved, 64 bytes\)(; rollback point saved \d+ ms after the save)?$/,
        );
        const after = await stepsPast(h, before.step, 5);
        // ticks = S·1 + (N − S)·1000, with S the step the swap happened at: solve for S and check it.
        const swapStep = (1000 * after.step - after.ticks) / 999;
        assert.ok(Number.isInteger(swapStep), `ticks ${after.ticks} after ${after.step} steps fit no single swap step`);
        assert.ok(
          swapStep >= before.step && swapStep < after.step,
          `the swap happened at step ${swapStep}, between ${before.step} and ${after.step}`,
        );
        assert.equal(after.steps, after.step, 'the step counter went on counting across the swap');
        assert.equal(after.version, 2);
      } finally {
        await h.dispose();
      }
    },
  );

  test(
    name("invalid code is rejected with the compiler's errors and the old version keeps running"),
    { skip },
    async () => {
      const h = await harness(options, options.counter(1));
      try {
        const before = await stepsPast(h, 0, 3);
        const [outcome] = await h.save(options.invalid);
        assert.equal(outcome?.status, 'rejected');
        assert.ok((outcome.errors?.length ?? 0) > 0, 'the errors are listed');
        assert.match(outcome.message, /v1 keeps running/);
        const after = await stepsPast(h, before.step, 5);
        assert.equal(after.version, 1);
        assert.equal(after.ticks, after.step, 'still v1: 1 per step');
        assert.equal(h.runtime.stats().validationFailures, 1, 'a failed validation counts');
        assert.equal(h.runtime.stats().failedReloads, 1);
      } finally {
        await h.dispose();
      }
    },
  );

  test(name('rollback returns to the previous version with the state kept'), { skip }, async () => {
    const h = await harness(options, options.counter(1));
    try {
      await stepsPast(h, 0, 3);
      const [reloaded] = await h.save(options.counter(1000));
      assert.equal(reloaded?.status, 'reloaded', reloaded?.message);
      const onV2 = await stepsPast(h, 0, 3);
      const outcome = await h.runtime.rollback('counter');
      assert.equal(outcome.status, 'rolledBack', outcome.message);
      assert.equal(outcome.fromVersion, 2);
      assert.equal(outcome.toVersion, 1);
      const first = await stepsPast(h, onV2.step, 3);
      const later = await stepsPast(h, first.step, 5);
      assert.equal(later.version, 1);
      assert.equal(later.ticks - first.ticks, later.step - first.step, 'v1 again: 1 per step');
      assert.ok(later.ticks > later.step, 'the ticks v2 added are still there');
      const again = await h.runtime.rollback('counter');
      assert.equal(again.status, 'failed');
      assert.match(again.message, /no earlier version/);
    } finally {
      await h.dispose();
    }
  });

  test(
    name('a version that hangs is rolled back automatically from its checkpoint'),
    { skip, timeout: 120_000 },
    async () => {
      const h = await harness(options, options.counter(1), { stepTimeoutMs: 1_500 });
      try {
        const before = await stepsPast(h, 0, 5);
        const [outcome] = await h.save(options.endless);
        assert.equal(outcome?.status, 'autoRolledBack', outcome?.message);
        assert.match(outcome.message, /counter v2 hung .*rolled back to v1 from its checkpoint at step \d+/);
        const after = await stepsPast(h, before.step, 5);
        assert.equal(after.version, 1);
        assert.equal(after.ticks, after.step, 'v1 runs, and no step of v2 left a trace in the state');
        assert.equal(h.runtime.views()[0]?.state, 'running');
        assert.equal(h.runtime.stats().automaticRollbacks, 1);
      } finally {
        await h.dispose();
      }
    },
  );

  test(
    name('ten saves in a second: the last valid version wins and every save gets an outcome'),
    { skip, timeout: 120_000 },
    async () => {
      const h = await harness(options, options.counter(1));
      try {
        await stepsPast(h, 0, 3);
        const saves: Promise<ReloadOutcome[]>[] = [];
        // Valid ticks 2..9 and invalid code in between; the last save is invalid, the one before it valid.
        const codes = [2, 3, 'invalid', 4, 5, 6, 'invalid', 7, 8, 'invalid'] as const;
        for (const code of codes) saves.push(h.save(code === 'invalid' ? options.invalid : options.counter(code)));
        const outcomes = (await Promise.all(saves)).map(([outcome]) => outcome);
        assert.equal(outcomes.length, 10);
        for (const [i, code] of codes.entries()) {
          const outcome = outcomes[i];
          if (code === 'invalid') assert.equal(outcome?.status, 'rejected', `save ${i + 1}`);
          else
            assert.ok(
              outcome?.status === 'reloaded' || outcome?.status === 'superseded',
              `save ${i + 1}: ${outcome?.status} ${outcome?.message}`,
            );
        }
        assert.equal(outcomes[8]?.status, 'reloaded', 'the last valid save ran');
        const first = await stepsPast(h, 0, 1);
        const later = await stepsPast(h, first.step, 5);
        assert.equal(later.ticks - first.ticks, 8 * (later.step - first.step), 'TICK 8 runs now');
        // Saves validated while a reload ran are coalesced (superseded); whether any were depends on
        // timing: with compiles off the device host's queue a reload can end before the next save
        // is validated. Either way the counters agree with the outcomes.
        assert.equal(
          h.runtime.stats().superseded,
          outcomes.filter((o) => o?.status === 'superseded').length,
          'superseded saves are counted',
        );
        assert.equal(h.outcomes.length, 10, 'every save was notified');
      } finally {
        await h.dispose();
      }
    },
  );

  test(
    name('a reload whose device host dies midway still ends with the new version running, from the checkpoint'),
    { skip, timeout: 120_000 },
    async () => {
      const h = await harness(options, options.counter(1));
      try {
        const checkpointed = await stepsPast(h, 0, 5);
        const pid = h.runtime.views()[0]?.hostPid;
        assert.ok(pid !== undefined, 'the kernel reports its device host');
        // The reload has sent its compile; the host dies under it. Depending on which the manager
        // sees first, the kernel is recovered and the reload retried, or recovered before it runs.
        const saved = h.save(options.counter(1000));
        process.kill(pid, 'SIGKILL');
        const [outcome] = await saved;
        assert.equal(outcome?.status, 'reloaded', outcome?.message);
        const stats = h.runtime.stats();
        assert.ok(stats.retries + stats.recoveries >= 1, `the kernel was brought back (${JSON.stringify(stats)})`);
        const first = await stepsPast(h, 0, 1);
        const later = await stepsPast(h, first.step, 5);
        assert.equal(later.version, 2);
        assert.equal(later.ticks - first.ticks, 1000 * (later.step - first.step), 'the new version runs');
        assert.ok(later.ticks >= checkpointed.ticks, 'the kernel came back from its checkpoint, not from zero');
      } finally {
        await h.dispose();
      }
    },
  );

  test(name('stop keeps a checkpoint and start continues from it'), { skip }, async () => {
    const h = await harness(options, options.counter(1));
    try {
      await stepsPast(h, 0, 5);
      await h.runtime.stop();
      const stopped = h.runtime.views()[0];
      assert.equal(stopped?.state, 'stopped');
      assert.ok((stopped?.step ?? 0) >= 5);
      await h.runtime.start();
      const after = await stepsPast(h, stopped?.step ?? 0, 3);
      assert.equal(after.ticks, after.step, 'the counters continue from the checkpoint');
    } finally {
      await h.dispose();
    }
  });
}
