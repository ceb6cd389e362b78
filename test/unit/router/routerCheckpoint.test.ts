// The router's part of checkpoint files (the PEND chunk): two kernels message each other
// free-running, each checkpointed at its own times; the server "crashes" (a new router, the
// mailboxes gone), every kernel resumes from its newest checkpoint, the new router is seeded from
// those files (through the real file encoding), and each kernel must end with every message of
// the other exactly once, in order.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodePendingMessages, encodePendingMessages } from '../../../server/src/checkpoint/pendingMessages';
import { K2KRouter } from '../../../server/src/router/k2kRouter';
import type { SavedMessages } from '../../../server/src/router/routerCheckpoint';
import { ManualClock, message, words } from './routerHelpers';

const TOTAL = 120;
const PER_STEP = 2;
const INBOX = 3;

interface KernelState {
  /** Messages this kernel has sent: the next one's payload word. */
  sent: number;
  /** Payload words received, in inbox order. */
  received: number[];
}

interface Kernel {
  index: number;
  id: string;
  step: number;
  state: KernelState;
  /** The inbox taken for the next step and not consumed yet (in the host's mailbox). */
  mailbox: number[] | undefined;
  checkpoint?: { step: number; state: KernelState; file: Uint8Array };
}

function random(seed: number): () => number {
  let x = seed * 2654435761 + 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function newRouter(clock: ManualClock): K2KRouter {
  const router = new K2KRouter({ clock: clock.now, wallClock: clock.now });
  router.addKernel({ index: 0, id: 'left', device: 'webgpu:0' });
  router.addKernel({ index: 1, id: 'right', device: 'webgpu:1' });
  return router;
}

/** One step of `kernel`: consume the inbox in its mailbox, send to the other, fetch the next inbox (in flight). */
function step(router: K2KRouter, kernel: Kernel): void {
  const inbox = kernel.mailbox ?? [];
  kernel.state.received.push(...inbox);
  if (kernel.mailbox) router.inboxConsumed(kernel.index, kernel.mailbox.length, kernel.step);
  const messages = [];
  for (let i = 0; i < PER_STEP && kernel.state.sent < TOTAL; i++)
    messages.push(message(1 - kernel.index, 7, kernel.state.sent++));
  router.submit({ source: kernel.index, step: kernel.step, messages });
  kernel.step++;
  kernel.mailbox = router.takeInbox(kernel.index, INBOX, kernel.step, { inFlight: true }).map((e) => words(e)[0] ?? -1);
}

/** A checkpoint before the kernel's next step, its PEND chunk through the real encoding. */
function checkpoint(router: K2KRouter, kernel: Kernel): void {
  const saved = router.checkpointMessages(kernel.index, kernel.id, kernel.step);
  assert.ok(saved);
  kernel.checkpoint = {
    step: kernel.step,
    state: { sent: kernel.state.sent, received: [...kernel.state.received] },
    file: encodePendingMessages(saved),
  };
  router.acknowledgeCheckpoint(kernel.index, kernel.step);
}

function run(seed: number): { kernels: Kernel[]; duplicates: number } {
  const next = random(seed);
  const clock = new ManualClock();
  let router = newRouter(clock);
  const kernels: Kernel[] = [0, 1].map((index) => ({
    index,
    id: index === 0 ? 'left' : 'right',
    step: 0,
    state: { sent: 0, received: [] },
    mailbox: undefined,
  }));
  for (const kernel of kernels) checkpoint(router, kernel);
  const crashAt = 20 + Math.floor(next() * 120);
  for (let tick = 0; tick < crashAt; tick++) {
    clock.advance(1);
    const kernel = kernels[next() < 0.5 ? 0 : 1];
    assert.ok(kernel);
    if (next() < 0.1) checkpoint(router, kernel);
    else step(router, kernel);
  }
  // The crash: the router and the mailboxes are gone; each kernel comes back from its newest checkpoint.
  router = newRouter(clock);
  const saved: SavedMessages[] = [];
  for (const kernel of kernels) {
    const from = kernel.checkpoint;
    assert.ok(from);
    kernel.step = from.step;
    kernel.state = { sent: from.state.sent, received: [...from.state.received] };
    kernel.mailbox = undefined;
    saved.push(decodePendingMessages(from.file));
  }
  router.restoreMessages(saved);
  for (const kernel of kernels) router.restore([kernel.index], kernel.step);
  for (let tick = 0; tick < 4000; tick++) {
    clock.advance(1);
    const kernel = kernels[next() < 0.5 ? 0 : 1];
    assert.ok(kernel);
    step(router, kernel);
  }
  return { kernels, duplicates: router.snapshot().totals.duplicates };
}

describe('K2K router: seeded from checkpoint files after a restart', () => {
  test('two kernels messaging each other, checkpointed at random times, resume with every message once and in order', () => {
    const expected = Array.from({ length: TOTAL }, (_, i) => i);
    let duplicates = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const result = run(seed);
      duplicates += result.duplicates;
      for (const kernel of result.kernels)
        assert.deepEqual(kernel.state.received, expected, `seed ${seed}: ${kernel.id} received`);
    }
    assert.ok(duplicates > 0, 'some runs re-sent messages the files already had; they were dropped as duplicates');
  });

  test("a file's pairs naming another kernel than the one at that index now are not restored, and it says so", () => {
    const clock = new ManualClock();
    const old = newRouter(clock);
    old.submit({ source: 0, step: 0, messages: [message(1, 1, 5)] });
    const saved = old.checkpointMessages(1, 'right', 0);
    assert.ok(saved);
    const router = new K2KRouter({ clock: clock.now });
    router.addKernel({ index: 0, id: 'renamed', device: 'webgpu:0' });
    router.addKernel({ index: 1, id: 'right', device: 'webgpu:0' });
    const result = router.restoreMessages([saved]);
    assert.equal(result.restored, 0);
    assert.match(result.notes.join('\n'), /sender #0 was "left", now "renamed"/);
  });

  test('checkpointMessages is undefined for an index that is not that kernel', () => {
    const router = newRouter(new ManualClock());
    assert.equal(router.checkpointMessages(1, 'left', 0), undefined);
    assert.equal(router.checkpointMessages(5, 'left', 0), undefined);
  });
});
