// A kernel's K2K clock across a server restart (the checkpoint file's HLC chunk): saved from the
// router, through the real file encoding, restored into a new router before the kernel runs, so the
// kernel's next message is timestamped after everything it sent before, even when this machine's
// clock went back meanwhile. A clock saved far ahead of this machine's is refused, with a warning.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KernelCheckpoint } from '../../../server/src/checkpoint/kernelCheckpoint';
import { memorySource } from '../../../server/src/checkpoint/byteStreams';
import { decodeCheckpoint } from '../../../server/src/checkpoint/checkpointDecoder';
import type { HlcState } from '../../../server/src/checkpoint/checkpointRecord';
import type { Logger } from '../../../server/src/logger';
import { K2KRouter } from '../../../server/src/router/k2kRouter';
import { hlcPartsOf, hlcStateOf } from '../../../server/src/runtime/checkpointClock';
import { seedRouterFromFiles } from '../../../server/src/runtime/messageResume';
import { ManualClock, message } from './routerHelpers';
import { encodeToBytes } from '../checkpoint/records';

function newRouter(clock: ManualClock, mode: 'freeRunning' | 'lockstep' = 'freeRunning'): K2KRouter {
  const router = new K2KRouter({ clock: clock.now, wallClock: clock.now, mode });
  router.addKernel({ index: 0, id: 'left', device: 'webgpu:0' });
  router.addKernel({ index: 1, id: 'right', device: 'webgpu:1' });
  return router;
}

/** Kernel 0 sends `count` messages to kernel 1 in step `step`; the timestamps kernel 1 gets. */
function send(router: K2KRouter, step: number, count: number): bigint[] {
  router.submit({ source: 0, step, messages: Array.from({ length: count }, (_, i) => message(1, 7, i)) });
  return router.takeInbox(1, 64, step + 1).map((envelope) => envelope.timestamp);
}

/** The HLC chunk as a checkpoint file carries it: encoded and decoded for real. */
async function throughFile(hlc: HlcState): Promise<HlcState | undefined> {
  const checkpoint = KernelCheckpoint.of({ kernelId: 'left', version: 1, step: 5, state: new Uint8Array(16) });
  const bytes = await encodeToBytes({
    checkpoint,
    codeSha256: 'a'.repeat(64),
    backend: 'webgpu',
    deviceKey: 'webgpu:0',
    control: { step: 5, kernelIndex: 0, inboxCount: 0, outboxCapacity: 4 },
    hlc,
  });
  return (await decodeCheckpoint(memorySource(bytes), 'left.rkcp')).hlc;
}

const warnings: string[] = [];
const log: Logger = {
  error: (m) => warnings.push(m),
  warn: (m) => warnings.push(m),
  info: () => undefined,
  debug: () => undefined,
};

function resume(router: K2KRouter, hlc: HlcState, wallClockMs: number): void {
  const checkpoint = KernelCheckpoint.of({ kernelId: 'left', version: 1, step: 5, state: new Uint8Array(16) });
  seedRouterFromFiles(
    router,
    [
      {
        id: 'left',
        index: 0,
        point: { found: { checkpoint, file: '/ckpt/left.rkcp', kernelIndex: 0, hlc }, rejected: [] },
      },
    ],
    log,
    () => wallClockMs,
  );
}

describe("a kernel's clock in its checkpoint file", () => {
  test('after a restart with the wall clock 2 s behind, the next message is later than every one before', async () => {
    const before = new ManualClock(1_700_000_000_000);
    const first = newRouter(before);
    const sent = send(first, 0, 5);
    const parts = first.clockOf(0, 'left');
    assert.ok(parts, 'a clock that handed out timestamps is saved');
    assert.equal(parts.physical, before.ms);
    const saved = await throughFile(hlcStateOf(parts, 0));
    assert.deepEqual(saved, { physicalMicros: before.ms * 1000, logical: parts.logical, nodeId: 0 });

    const behind = new ManualClock(before.ms - 2000);
    // Without the saved clock the new router's first timestamp is earlier than what was sent: the check can fail.
    const unrestored = send(newRouter(behind), 5, 1);
    assert.ok((unrestored[0] ?? 0n) < (sent.at(-1) ?? 0n));

    const second = newRouter(behind);
    warnings.length = 0;
    resume(second, saved, behind.ms);
    assert.deepEqual(warnings, []);
    const after = send(second, 5, 3);
    for (const timestamp of after) assert.ok(timestamp > (sent.at(-1) ?? 0n), `${timestamp} after ${sent.at(-1)}`);
  });

  test('a restore never moves a clock back', () => {
    const clock = new ManualClock(1_700_000_000_000);
    const router = newRouter(clock);
    send(router, 0, 2);
    const now = router.clockOf(0, 'left');
    router.restoreClock(0, { physical: clock.ms - 60_000, logical: 0 });
    assert.deepEqual(router.clockOf(0, 'left'), now);
  });

  test('a clock saved more than an hour ahead of this machine is not restored, and the log says why', () => {
    const clock = new ManualClock(1_700_000_000_000);
    const router = newRouter(clock);
    warnings.length = 0;
    resume(router, { physicalMicros: (clock.ms + 3 * 3600_000) * 1000, logical: 0, nodeId: 0 }, clock.ms);
    assert.equal(router.clockOf(0, 'left'), undefined, 'the clock stays where it was');
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0] ?? '',
      /kernel "left": the clock in its checkpoint \/ckpt\/left\.rkcp is not restored: its clock is 180 minutes ahead/,
    );
  });

  test("a counter past the router's 16 bits restores to the next millisecond, never earlier", () => {
    const result = hlcPartsOf({ physicalMicros: 5_000_999, logical: 70_000, nodeId: 3 }, 5000);
    assert.deepEqual(result, { parts: { physical: 5001, logical: 0 } });
    assert.deepEqual(hlcPartsOf({ physicalMicros: 5_000_999, logical: 12, nodeId: 3 }, 5000), {
      parts: { physical: 5000, logical: 12 },
    });
  });

  test('nothing is saved before the first event, for another kernel id, or in lockstep (the step is the time)', () => {
    const clock = new ManualClock(1_700_000_000_000);
    const router = newRouter(clock);
    assert.equal(router.clockOf(0, 'left'), undefined);
    send(router, 0, 1);
    assert.equal(router.clockOf(0, 'right'), undefined);
    const lockstep = newRouter(clock, 'lockstep');
    lockstep.submit({ source: 0, step: 0, messages: [message(1, 7, 1)] });
    lockstep.submit({ source: 1, step: 0, messages: [] });
    lockstep.endStep(0);
    assert.equal(lockstep.clockOf(0, 'left'), undefined);
  });
});
