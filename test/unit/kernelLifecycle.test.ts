// The kernel state machine's table: every legal move works and is heard, every other move and
// every phase a state does not have is refused with an error that names both ends, and no state
// is a dead end. Then the same rule seen through ManagedKernel, on the in-memory host.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KernelPhase, KernelRunState } from '../../server/src/runtime/kernelReports';
import {
  IllegalTransition,
  KernelLifecycle,
  PHASES,
  TRANSITIONS,
  canMove,
  type LifecycleChange,
} from '../../server/src/runtime/kernelLifecycle';
import { kernelVersion } from '../../server/src/runtime/managedKernel';
import { harness, source, startKernel } from '../support/fakeKernelHarness';

const STATES = Object.keys(TRANSITIONS) as KernelRunState[];
const ALL_PHASES: KernelPhase[] = [
  'compiling',
  'draining',
  'checkpointing',
  'swapping',
  'restoring',
  'moving',
  'resuming',
];

/** The shortest path of legal moves from `stopped` to each state. */
function pathsFromStopped(): Map<KernelRunState, KernelRunState[]> {
  const paths = new Map<KernelRunState, KernelRunState[]>([['stopped', []]]);
  const queue: KernelRunState[] = ['stopped'];
  for (let state = queue.shift(); state !== undefined; state = queue.shift()) {
    for (const next of TRANSITIONS[state]) {
      if (paths.has(next)) continue;
      paths.set(next, [...(paths.get(state) ?? []), next]);
      queue.push(next);
    }
  }
  return paths;
}

function lifecycleIn(state: KernelRunState, heard: LifecycleChange[] = []): KernelLifecycle {
  const lifecycle = new KernelLifecycle('heat', (change) => heard.push(change));
  for (const step of pathsFromStopped().get(state) ?? assert.fail(`${state} is not reachable from stopped`))
    lifecycle.move(step);
  heard.length = 0;
  return lifecycle;
}

test('the named states are the ones the kernel view reports, and every one is reachable from stopped and can get back to stopped', () => {
  assert.deepEqual(
    new Set(STATES),
    new Set([
      'starting',
      'running',
      'reloading',
      'draining',
      'checkpointing',
      'migrating',
      'recovering',
      'stopped',
      'failed',
    ]),
  );
  const reachable = pathsFromStopped();
  assert.deepEqual(new Set(reachable.keys()), new Set(STATES));
  for (const state of STATES) {
    // Breadth-first to `stopped`: no state is a trap the user cannot stop a kernel out of.
    const seen = new Set<KernelRunState>([state]);
    const queue = [state];
    for (let at = queue.shift(); at !== undefined; at = queue.shift())
      for (const next of TRANSITIONS[at])
        if (!seen.has(next)) {
          seen.add(next);
          queue.push(next);
        }
    assert.ok(seen.has('stopped'), `${state} never leads back to stopped`);
  }
});

test('every legal move is made and heard; every illegal one is refused, names both states, and changes nothing', () => {
  let legal = 0;
  let illegal = 0;
  for (const from of STATES) {
    for (const to of STATES) {
      const heard: LifecycleChange[] = [];
      const lifecycle = lifecycleIn(from, heard);
      if (canMove(from, to)) {
        lifecycle.move(to);
        assert.equal(lifecycle.state, to);
        assert.deepEqual(heard, [{ from, to, phase: undefined }]);
        legal++;
      } else {
        assert.throws(
          () => lifecycle.move(to),
          (error: unknown) => {
            assert.ok(error instanceof IllegalTransition);
            assert.equal(
              error.message.startsWith(
                `kernel "heat" cannot go from ${from} to ${to} (from ${from} it can go to ${TRANSITIONS[from].join(', ')})`,
              ),
              true,
              error.message,
            );
            return true;
          },
        );
        assert.equal(lifecycle.state, from, `a refused ${from} → ${to} left the state changed`);
        assert.deepEqual(heard, []);
        illegal++;
      }
    }
  }
  // A state never moves to itself; the table is small on purpose.
  assert.equal(legal + illegal, STATES.length * STATES.length);
  assert.ok(illegal > legal, `${illegal} illegal, ${legal} legal`);
  for (const state of STATES) assert.equal(canMove(state, state), false, `${state} → ${state}`);
});

test('a phase is entered only in a state that has it; moving on clears it', () => {
  for (const state of STATES) {
    for (const phase of ALL_PHASES) {
      const heard: LifecycleChange[] = [];
      const lifecycle = lifecycleIn(state, heard);
      if (PHASES[state]?.includes(phase)) {
        lifecycle.enter(phase);
        assert.equal(lifecycle.phase, phase);
        assert.deepEqual(heard, [{ from: state, to: state, phase }]);
      } else {
        assert.throws(() => lifecycle.enter(phase), new RegExp(`cannot enter phase "${phase}" while ${state}`));
        assert.equal(lifecycle.phase, undefined);
      }
    }
  }
  const lifecycle = lifecycleIn('running');
  lifecycle.move('reloading', 'compiling');
  assert.equal(lifecycle.phase, 'compiling');
  assert.throws(() => lifecycle.move('recovering', 'compiling'), /cannot enter phase "compiling" while recovering/);
  assert.equal(lifecycle.state, 'reloading');
  lifecycle.move('running');
  assert.equal(lifecycle.phase, undefined);
});

test('ManagedKernel refuses operations its state does not allow, with the kernel and both states in the error', async () => {
  const h = harness();
  const { kernel } = h;
  assert.equal(kernel.state, 'stopped');
  assert.throws(() => kernel.beginReload(), /kernel "heat" cannot go from stopped to reloading/);
  await assert.rejects(
    kernel.restart(kernelVersion(1, source('v1'))),
    /kernel "heat" cannot enter phase "restoring" while stopped/,
  );
  await assert.rejects(kernel.beginMigration(), /cannot go from stopped to migrating/);
  await assert.rejects(kernel.checkpointAtStepBoundary(), /cannot go from stopped to checkpointing/);
  assert.throws(() => kernel.fail('no reason'), /cannot go from stopped to failed/);
  await startKernel(h);
  await assert.rejects(kernel.start(kernelVersion(1, source('v1'))), /cannot go from running to starting/);
  kernel.beginReload();
  assert.throws(() => kernel.beginReload(), /cannot go from reloading to reloading/);
  await kernel.abandonReload();
  assert.equal(kernel.state, 'running');
  // The rollback of a kernel that is not running is refused by the manager without touching it.
  await kernel.exclusive(() => kernel.stop());
  const refused = await h.manager.rollback(kernel);
  assert.equal(refused.status, 'failed');
  assert.match(refused.message, /cannot roll back: it is stopped, not running/);
  assert.equal(kernel.state, 'stopped');
  assert.equal(h.host.liveBuffers, 0);
});

test('every transition is logged at debug level with the kernel, its device and the phase', async () => {
  const h = harness();
  await startKernel(h);
  assert.deepEqual(h.debug, [
    'kernel "heat" on webgpu:0: stopped → starting: compiling',
    'kernel "heat" on webgpu:0: starting: resuming',
    'kernel "heat" on webgpu:0: starting → running',
  ]);
  assert.deepEqual(h.kernel.view().state, 'running');
  assert.equal(h.kernel.view().phase, undefined);
});
