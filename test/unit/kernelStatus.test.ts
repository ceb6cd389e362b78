import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  formatRate,
  kernelPickLine,
  kernelStatusView,
  lastReloadText,
  outcomeLogEntry,
  outcomeNotice,
  relativeTime,
  restartWarning,
  timingsText,
} from '../../client/src/kernelStatus';
import type { KernelView, KernelsInfo, ReloadOutcome } from '../../server/src/lsp/protocol';
import { describeTimings } from '../../server/src/runtime/kernelRuntime';

const NOW = Date.parse('2025-06-01T12:00:00.000Z');
const secondsAgo = (s: number): string => new Date(NOW - s * 1000).toISOString();

/** A change to a fixture; an `undefined` value removes that optional field. */
type Change<T> = { [K in keyof T]?: T[K] | undefined };

function merge<T extends object>(base: T, change: Change<T>): T {
  const merged: Record<string, unknown> = { ...base, ...change };
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
  return merged as T;
}

const timings = {
  validateMs: 2.04,
  compileMs: 5.2,
  drainMs: 0.31,
  checkpointMs: 1,
  swapMs: 0.1,
  restoreMs: 0,
  resumeMs: 3,
  totalMs: 14.2,
  rollbackPointMs: 15,
};

function outcome(change: Change<ReloadOutcome> = {}): ReloadOutcome {
  return merge<ReloadOutcome>(
    {
      kernelId: 'heat',
      status: 'reloaded',
      fromVersion: 3,
      toVersion: 4,
      device: 'webgpu:0',
      stateBytes: 4 << 20,
      statePreserved: true,
      timings,
      message: 'heat v4 reloaded on webgpu:0: running in 14 ms (state preserved, 4 MiB)',
      at: secondsAgo(3),
    },
    change,
  );
}

function kernel(change: Change<KernelView> = {}): KernelView {
  return merge<KernelView>(
    {
      id: 'heat',
      source: '/ws/heat.wgsl',
      language: 'wgsl',
      entryPoint: 'main',
      state: 'running',
      backend: 'webgpu',
      device: 'webgpu:0',
      deviceName: 'llvmpipe',
      version: 4,
      step: 12345,
      stepsPerSecond: 59.7,
      rateHz: 60,
      stateBytes: 4 << 20,
    },
    change,
  );
}

function info(kernels: KernelView[], change: Partial<KernelsInfo> = {}): KernelsInfo {
  return {
    manifest: '/ws/ringkernel.json',
    trusted: true,
    started: true,
    manifestErrors: 0,
    kernels,
    stats: {
      successfulReloads: 0,
      failedReloads: 0,
      validationFailures: 0,
      rollbacks: 0,
      automaticRollbacks: 0,
      recoveries: 0,
      superseded: 0,
      retries: 0,
      statePreservedCount: 0,
      avgDrainMs: 0,
      avgCompileMs: 0,
      avgSwapMs: 0,
      avgTotalMs: 0,
    },
    ...change,
  };
}

test('the item is hidden without a server that runs kernels and without a manifest', () => {
  assert.equal(kernelStatusView(undefined, NOW).visible, false);
  assert.equal(kernelStatusView(info([kernel()], { manifest: null }), NOW).visible, false);
});

test('one running kernel shows its id, version and rate', () => {
  const view = kernelStatusView(info([kernel()]), NOW);
  assert.equal(view.visible, true);
  assert.equal(view.text, '$(pulse) heat v4 · 60/s');
  assert.equal(view.severity, 'normal');
});

test('several kernels show how many run and their total rate; stopped ones are not counted', () => {
  const view = kernelStatusView(
    info([
      kernel(),
      kernel({ id: 'counter', stepsPerSecond: 58.4 }),
      kernel({ id: 'idle', state: 'stopped', stepsPerSecond: 0 }),
    ]),
    NOW,
  );
  assert.equal(view.text, '$(pulse) 2 kernels · 118 steps/s');
});

test('a kernel between versions spins and says what it is doing', () => {
  assert.equal(kernelStatusView(info([kernel({ state: 'reloading' })]), NOW).text, '$(sync~spin) heat v4 · reloading');
  const compiling = kernelStatusView(info([kernel({ state: 'reloading', phase: 'compiling' })]), NOW);
  assert.equal(compiling.text, '$(sync~spin) heat v4 · reloading: compiling');
  assert.match(compiling.tooltip, /\*\*heat\*\* reloading: compiling · v4/);
  assert.equal(
    kernelStatusView(info([kernel({ state: 'migrating', phase: 'moving' })]), NOW).text,
    '$(sync~spin) heat v4 · migrating: moving',
  );
  assert.equal(
    kernelPickLine(kernel({ state: 'recovering', phase: 'restoring' }), 'reload').detail,
    'recovering: restoring',
  );
});

test('stopped, failed, untrusted and a broken manifest each read differently', () => {
  assert.equal(
    kernelStatusView(info([kernel({ state: 'stopped' })], { started: false }), NOW).text,
    '$(debug-pause) kernels stopped',
  );
  const failed = kernelStatusView(
    info([kernel({ state: 'failed', error: 'COMPILE_FAILED: bad' }), kernel({ id: 'counter' })]),
    NOW,
  );
  // The running kernel stays in view; the failure is added to it.
  assert.match(failed.text, /^\$\(pulse\) counter v\d+ · .+ · \$\(warning\) heat failed$/);
  assert.equal(failed.severity, 'warning');
  const allFailed = kernelStatusView(info([kernel({ state: 'failed' })]), NOW);
  assert.equal(allFailed.text, '$(warning) heat failed');
  assert.equal(allFailed.severity, 'error');
  assert.match(failed.tooltip, /\*\*heat\*\* failed .*: COMPILE\\_FAILED: bad/);
  assert.equal(
    kernelStatusView(info([kernel({ state: 'failed' }), kernel({ id: 'b', state: 'failed' })]), NOW).text,
    '$(warning) 2 kernels failed',
  );
  const untrusted = kernelStatusView(info([kernel({ state: 'stopped' })], { trusted: false, started: false }), NOW);
  assert.equal(untrusted.text, '$(shield) kernels off (untrusted)');
  assert.match(untrusted.tooltip, /untrusted workspace \(validation still works\)/);
  const broken = kernelStatusView(info([], { manifestErrors: 2 }), NOW);
  assert.equal(broken.text, '$(warning) manifest: 2 errors');
  assert.equal(broken.severity, 'warning');
});

test('the tooltip has a line per kernel with state, version, device, steps, rate and the last reload', () => {
  const view = kernelStatusView(
    info([
      kernel({ lastReload: outcome() }),
      kernel({
        id: 'counter',
        version: 1,
        step: 7,
        stepsPerSecond: 1500,
        lastReload: outcome({ kernelId: 'counter', status: 'rejected', at: secondsAgo(5), timings: undefined }),
      }),
    ]),
    NOW,
  );
  const lines = view.tooltip.split('\n').filter((line) => line.startsWith('- '));
  assert.deepEqual(lines, [
    '- **heat** running · v4 · webgpu:0 (llvmpipe) · step 12,345 · 60 steps/s · reloaded 3 s ago in 14 ms',
    '- **counter** running · v1 · webgpu:0 (llvmpipe) · step 7 · 1.5k steps/s · rejected 5 s ago',
  ]);
  assert.match(view.tooltip, /`\/ws\/ringkernel.json`/);
});

test("the tooltip counts this session's reloads only when there were any", () => {
  const base = info([kernel()]);
  assert.doesNotMatch(kernelStatusView(base, NOW).tooltip, /This session/);
  const busy = info([kernel()], {
    stats: { ...base.stats, successfulReloads: 3, avgTotalMs: 12.4, rollbacks: 1, automaticRollbacks: 1 },
  });
  assert.match(
    kernelStatusView(busy, NOW).tooltip,
    /This session: 3 reloads \(average 12 ms\), 1 rollback \(1 automatic\)\./,
  );
});

test('relative times read naturally and tolerate clock skew and bad input', () => {
  assert.equal(relativeTime(secondsAgo(0.4), NOW), 'just now');
  assert.equal(relativeTime(secondsAgo(-2), NOW), 'just now');
  assert.equal(relativeTime(secondsAgo(59), NOW), '59 s ago');
  assert.equal(relativeTime(secondsAgo(125), NOW), '2 min ago');
  assert.equal(relativeTime(secondsAgo(7300), NOW), '2 h ago');
  assert.equal(relativeTime('not a time', NOW), undefined);
  assert.equal(
    lastReloadText(outcome({ status: 'autoRolledBack', at: secondsAgo(10) }), NOW),
    'rolled back automatically 10 s ago',
  );
  assert.equal(lastReloadText(outcome({ at: 'garbage' }), NOW), 'reloaded in 14 ms');
});

test('rates and phase timings are short and exact enough', () => {
  assert.deepEqual([0, 0.5, 9.96, 59.7, 999, 1234, 45_600, 3_140_000].map(formatRate), [
    '0',
    '0.5',
    '10',
    '60',
    '999',
    '1.2k',
    '46k',
    '3.1M',
  ]);
  assert.equal(
    timingsText(timings),
    'validate 2 ms ∥ compile 5.2 ms (in parallel) · drain 0.3 ms · checkpoint 1 ms (overlaps swap and resume) · swap 0.1 ms · restore 0 ms · resume 3 ms · total 14 ms · rollback point stored 15 ms',
  );
});

test('QuickPick lines name the version and device, and for rollback the version it returns to', () => {
  assert.deepEqual(kernelPickLine(kernel({ version: 3 }), 'reload'), {
    label: 'heat',
    description: 'v3 on webgpu:0',
    detail: 'running · 60 steps/s',
  });
  assert.deepEqual(kernelPickLine(kernel({ state: 'stopped', fallbackVersion: 3, device: undefined }), 'rollback'), {
    label: 'heat',
    description: 'v4',
    detail: 'stopped · rolls back to v3',
  });
});

test('each outcome gets the popup its status deserves, and superseded or unchanged ones none', () => {
  assert.deepEqual(outcomeNotice(outcome()), {
    level: 'info',
    text: 'RingKernel: heat v4 reloaded on webgpu:0: running in 14 ms (state preserved, 4 MiB)',
    button: undefined,
  });
  for (const status of ['rolledBack', 'recovered'] as const)
    assert.equal(outcomeNotice(outcome({ status })).level, 'info');
  assert.equal(outcomeNotice(outcome({ status: 'unchanged' })).level, 'none', 'saving an unchanged file shows nothing');
  assert.deepEqual(
    { ...outcomeNotice(outcome({ status: 'rejected' })), text: '' },
    { level: 'warning', text: '', button: 'Show Problems' },
  );
  for (const status of ['autoRolledBack', 'failed'] as const)
    assert.deepEqual(
      { ...outcomeNotice(outcome({ status })), text: '' },
      { level: 'error', text: '', button: 'Show Log' },
    );
  assert.equal(outcomeNotice(outcome({ status: 'superseded' })).level, 'none');
});

test('every outcome is logged with its phase timings and compiler errors', () => {
  const entry = outcomeLogEntry(outcome());
  assert.equal(entry.level, 'info');
  assert.match(entry.text, /^kernel heat: reloaded \(v3 → v4\): heat v4 reloaded/);
  assert.match(entry.text, /\n {2}phases: validate 2 ms ∥ .* · total 14 ms · rollback point stored 15 ms$/);
  const rejected = outcomeLogEntry(
    outcome({
      status: 'rejected',
      toVersion: 3,
      timings: undefined,
      errors: ['heat.wgsl:3:5: error: unresolved value'],
    }),
  );
  assert.equal(rejected.level, 'warn');
  assert.equal(rejected.text.split('\n')[1], '  heat.wgsl:3:5: error: unresolved value');
  assert.equal(outcomeLogEntry(outcome({ status: 'failed' })).level, 'error');
});

test('a kernel that runs other code than its file says so in the tooltip', () => {
  const view = kernelStatusView(
    info([
      kernel({
        version: 2,
        fileDiffers: 'rolledBack',
        lastReload: outcome({ status: 'rolledBack', fromVersion: 3, toVersion: 2 }),
      }),
    ]),
    NOW,
  );
  const line = view.tooltip.split('\n').find((l) => l.startsWith('- ')) ?? '';
  assert.match(line, /\*\*running v2 \(rolled back\); the file is newer\*\*$/);
  const stopped = kernelStatusView(
    info([kernel({ state: 'stopped', version: 2, fileDiffers: 'notReloaded' })], { started: false }),
    NOW,
  );
  assert.match(stopped.tooltip, /stopped, resumes v2 \(not reloaded\); the file is newer/);
});

test('a kernel that cannot run on this machine does not turn the item yellow', () => {
  const unavailable = kernel({
    id: 'counter',
    state: 'failed',
    unavailableHere: 'needs CUDA, unavailable here: no driver',
    error: 'kernel "counter" needs CUDA',
  });
  const view = kernelStatusView(info([kernel(), unavailable]), NOW);
  assert.equal(view.severity, 'normal');
  assert.equal(view.text, '$(pulse) heat v4 · 60/s');
  assert.match(view.tooltip, /counter/);
  const alone = kernelStatusView(info([unavailable]), NOW);
  assert.equal(alone.text, '$(circle-slash) kernel cannot run here');
  assert.equal(alone.severity, 'normal');
});

test("the server's log line says which reload phases overlap", () => {
  assert.match(
    describeTimings(timings),
    /^validate 2\.0 ms ∥ compile 5\.2 ms \(in parallel\), drain 0\.3 ms, checkpoint 1\.0 ms \(overlaps swap and resume\), .* total 14\.2 ms$/,
  );
});

test('"starting" while auto-start runs or waits for the probe, and a warning icon when the manifest has errors', () => {
  assert.equal(
    kernelStatusView(info([kernel({ state: 'stopped' })], { started: false, starting: true }), NOW).text,
    '$(sync~spin) kernels starting',
  );
  assert.equal(
    kernelStatusView(info([kernel({ state: 'stopped' })], { started: false }), NOW).text,
    '$(debug-pause) kernels stopped',
  );
  assert.equal(
    kernelStatusView(info([kernel()], { manifestErrors: 1 }), NOW).text,
    '$(warning) $(pulse) heat v4 · 60/s',
  );
});

test('Restart Server asks first while kernels run, naming them, and not when none runs', () => {
  assert.equal(restartWarning([]), undefined);
  // With a checkpoint folder the next server resumes them: nothing is lost, nothing to ask.
  assert.equal(restartWarning([{ id: 'heat', state: 'running' }], true), undefined);
  assert.equal(
    restartWarning([
      { id: 'heat', state: 'stopped' },
      { id: 'counter', state: 'failed' },
    ]),
    undefined,
  );
  assert.equal(
    restartWarning([
      { id: 'heat', state: 'running' },
      { id: 'counter', state: 'stopped' },
    ]),
    'Restarting the RingKernel server stops 1 running kernel (heat). They start again from step 0: their state is lost. Restart anyway?',
  );
  assert.match(
    restartWarning(['a', 'b', 'c', 'd', 'e', 'f'].map((id) => ({ id, state: 'running' as const }))) ?? '',
    /stops 6 running kernels \(a, b, c, d and 2 more\)/,
  );
});
