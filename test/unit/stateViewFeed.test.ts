// The state views' feed: reads only while subscribed, at the asked frame rate, coalescing views
// into one read and never overlapping reads; frames sliced per subscription; a version change
// marked with the last frame before it; a failing kernel reported once, not per frame.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeRanges, rangeProblem, sliceRange, type ByteRange } from '../../server/src/views/byteRanges';
import { StateViewFeed, type FeedFrame, type StateRead, type StateReader } from '../../server/src/views/stateViewFeed';
import { VirtualClock, settle } from '../support/virtualClock';

/** A kernel whose state is `words` u32 words where word i holds step * 1000 + i; `version` may change. */
class FakeKernel {
  step = 0;
  version = 1;
  reads: ByteRange[][] = [];
  failWith: string | undefined;
  /** When set, reads wait for release() (a slow device). */
  held: (() => void)[] | undefined;

  constructor(private readonly words: number) {}

  readonly reader: StateReader = async (_kernelId, ranges) => {
    this.reads.push(ranges.map((r) => ({ ...r })));
    if (this.held) await new Promise<void>((resolve) => this.held?.push(resolve));
    if (this.failWith !== undefined) throw new Error(this.failWith);
    const state = new Uint32Array(this.words).map((_, i) => this.step * 1000 + i);
    const bytes = new Uint8Array(state.buffer);
    return {
      step: this.step,
      version: this.version,
      bytes: ranges.map((r) => bytes.slice(r.offset, r.offset + r.length)),
    };
  };

  release(): void {
    for (const resolve of this.held?.splice(0) ?? []) resolve();
  }
}

function setUp(words = 1024): { clock: VirtualClock; kernel: FakeKernel; frames: FeedFrame[]; feed: StateViewFeed } {
  const clock = new VirtualClock();
  const kernel = new FakeKernel(words);
  const frames: FeedFrame[] = [];
  const feed = new StateViewFeed({
    reader: kernel.reader,
    emit: (f) => frames.push(f),
    scheduler: clock,
    wallClock: () => clock.now(),
    maxFps: 30,
  });
  return { clock, kernel, frames, feed };
}

const words = (frame: FeedFrame | undefined, region = 0): number[] => {
  const bytes = frame?.regions[region]?.bytes ?? new Uint8Array(0);
  return [...new Uint32Array(bytes.slice().buffer)];
};

test('byte ranges: merged when they overlap or touch, sliced back out, checked for alignment and bounds', () => {
  assert.deepEqual(
    mergeRanges([
      { offset: 64, length: 16 },
      { offset: 0, length: 32 },
      { offset: 32, length: 8 },
      { offset: 16, length: 4 },
    ]),
    [
      { offset: 0, length: 40 },
      { offset: 64, length: 16 },
    ],
  );
  const read = [{ offset: 0, bytes: Uint8Array.from({ length: 40 }, (_, i) => i) }];
  assert.deepEqual([...(sliceRange(read, { offset: 8, length: 4 }) ?? [])], [8, 9, 10, 11]);
  assert.equal(sliceRange(read, { offset: 36, length: 8 }), undefined);
  assert.match(rangeProblem({ offset: 2, length: 4 }) ?? '', /multiples of 4/);
  assert.match(rangeProblem({ offset: 0, length: 0 }) ?? '', /positive length/);
  assert.match(rangeProblem({ offset: 8, length: 8 }, 12) ?? '', /ends at 16, past the state's 12 bytes/);
  assert.equal(rangeProblem({ offset: 8, length: 4 }, 12), undefined);
});

test('reads nothing until someone subscribes, and nothing after the last one leaves', async () => {
  const { clock, kernel, frames, feed } = setUp();
  await clock.advance(5000);
  assert.equal(kernel.reads.length, 0);
  feed.subscribe({ id: 'a', kernelId: 'heat', ranges: [{ offset: 0, length: 16 }], fps: 10 });
  await clock.advance(0);
  assert.equal(kernel.reads.length, 1, 'the first frame is read at once');
  assert.deepEqual(words(frames[0]), [0, 1, 2, 3]);
  feed.unsubscribe('a');
  await clock.advance(5000);
  assert.equal(kernel.reads.length, 1);
  assert.equal(clock.pending, 0);
});

test('reads at the frame rate asked for, one new frame per step, and skips frames of an unchanged step', async () => {
  const { clock, kernel, frames, feed } = setUp();
  feed.subscribe({ id: 'a', kernelId: 'heat', ranges: [{ offset: 0, length: 8 }], fps: 10 });
  for (let i = 0; i < 20; i++) {
    kernel.step++;
    await clock.advance(100);
  }
  assert.ok(kernel.reads.length >= 20 && kernel.reads.length <= 21, `${kernel.reads.length} reads in 2 s at 10 fps`);
  assert.deepEqual(
    frames.map((f) => f.step),
    Array.from({ length: 20 }, (_, i) => i + 1),
    'one frame per step, none repeated',
  );
  // A stopped kernel: still read (cheap), but no frame repeats what the panel already has.
  const before = frames.length;
  await clock.advance(1000);
  assert.equal(frames.length, before);
  assert.ok(kernel.reads.length >= before + 9);
});

test('coalesces: two subscriptions of a kernel share one read of their merged ranges, each gets its own slices', async () => {
  const { clock, kernel, frames, feed } = setUp();
  feed.subscribe({
    id: 'a',
    kernelId: 'heat',
    ranges: [
      { offset: 0, length: 8 },
      { offset: 400, length: 8 },
    ],
    fps: 5,
  });
  feed.subscribe({ id: 'b', kernelId: 'heat', ranges: [{ offset: 4, length: 8 }], fps: 10 });
  await clock.advance(0);
  kernel.reads = [];
  frames.length = 0;
  kernel.step = 7;
  await clock.advance(100);
  assert.deepEqual(
    kernel.reads,
    [
      [
        { offset: 0, length: 12 },
        { offset: 400, length: 8 },
      ],
    ],
    'one read, overlapping views merged, the fastest rate',
  );
  const a = frames.find((f) => f.subscription === 'a');
  const b = frames.find((f) => f.subscription === 'b');
  assert.deepEqual(
    [words(a, 0), words(a, 1)],
    [
      [7000, 7001],
      [7100, 7101],
    ],
  );
  assert.deepEqual(words(b), [7001, 7002]);
});

test('a slow read lowers the frame rate instead of piling reads up', async () => {
  const { clock, kernel, frames, feed } = setUp();
  kernel.held = [];
  feed.subscribe({ id: 'a', kernelId: 'heat', ranges: [{ offset: 0, length: 4 }], fps: 30 });
  await clock.advance(1000);
  assert.equal(kernel.reads.length, 1, 'no second read while the first is running');
  kernel.release();
  await settle();
  assert.equal(frames.length, 1);
  // The next read starts at once: its period has long passed.
  await clock.advance(0);
  assert.equal(kernel.reads.length, 2);
  kernel.held = undefined;
  kernel.release();
});

test('marks a version change with the last frame of the old version, once per subscription', async () => {
  const { clock, kernel, frames, feed } = setUp();
  feed.subscribe({ id: 'a', kernelId: 'heat', ranges: [{ offset: 0, length: 8 }], fps: 10 });
  kernel.step = 1203;
  await clock.advance(100);
  kernel.version = 3;
  kernel.step = 1204;
  await clock.advance(100);
  const marked = frames.filter((f) => f.reload !== undefined);
  assert.equal(marked.length, 1);
  const { reload } = marked[0] ?? {};
  assert.deepEqual(
    { from: reload?.fromVersion, to: reload?.toVersion, at: reload?.atStep, prevStep: reload?.previous?.step },
    { from: 1, to: 3, at: 1204, prevStep: 1203 },
  );
  assert.deepEqual(
    [...new Uint32Array((reload?.previous?.regions[0]?.bytes ?? new Uint8Array()).slice().buffer)],
    [1203000, 1203001],
  );
  kernel.step++;
  await clock.advance(100);
  assert.equal(frames.at(-1)?.reload, undefined, 'the next frame carries no marker');
  // A panel that subscribes later still learns of the reload, with its own slice of the frame before it.
  feed.subscribe({ id: 'late', kernelId: 'heat', ranges: [{ offset: 4, length: 4 }], fps: 10 });
  await clock.advance(100);
  const late = frames.find((f) => f.subscription === 'late');
  assert.equal(late?.reload?.toVersion, 3);
  assert.deepEqual(
    [...new Uint32Array((late?.reload?.previous?.regions[0]?.bytes ?? new Uint8Array()).slice().buffer)],
    [1203001],
  );
});

test('a failing kernel is reported once per subscription and retried at most once a second, then recovers', async () => {
  const { clock, kernel, frames, feed } = setUp();
  kernel.failWith = 'kernel "heat" is stopped and has no checkpoint to read';
  feed.subscribe({ id: 'a', kernelId: 'heat', ranges: [{ offset: 0, length: 4 }], fps: 30 });
  await clock.advance(5000);
  assert.equal(frames.length, 1);
  assert.equal(frames[0]?.error, 'kernel "heat" is stopped and has no checkpoint to read');
  assert.ok(kernel.reads.length <= 6, `${kernel.reads.length} reads in 5 s while failing`);
  kernel.failWith = undefined;
  kernel.step = 5;
  await clock.advance(1000);
  assert.deepEqual(words(frames.at(-1)), [5000]);
  assert.equal(frames.at(-1)?.error, undefined);
});

test('a reader that answers with the wrong sizes is an error frame that says so, never a wrong picture', async () => {
  const clock = new VirtualClock();
  const frames: FeedFrame[] = [];
  const reader: StateReader = () => Promise.resolve<StateRead>({ step: 1, version: 1, bytes: [new Uint8Array(4)] });
  const feed = new StateViewFeed({ reader, emit: (f) => frames.push(f), scheduler: clock });
  feed.subscribe({ id: 'a', kernelId: 'heat', ranges: [{ offset: 0, length: 8 }], fps: 1 });
  await clock.advance(0);
  assert.match(
    frames[0]?.error ?? '',
    /the state reader gave a wrong answer for kernel "heat": 4 bytes for the range at 0 of 8/,
  );
  feed.dispose();
});

test('refuses unaligned ranges and non-positive rates with what to do; readOnce reports instead of throwing', async () => {
  const { feed } = setUp();
  assert.throws(
    () => feed.subscribe({ id: 'a', kernelId: 'heat', ranges: [{ offset: 2, length: 4 }], fps: 10 }),
    /whole 32-bit words/,
  );
  assert.throws(
    () => feed.subscribe({ id: 'a', kernelId: 'heat', ranges: [{ offset: 0, length: 4 }], fps: 0 }),
    /positive number/,
  );
  assert.throws(() => feed.subscribe({ id: 'a', kernelId: 'heat', ranges: [], fps: 10 }), /names no range/);
  assert.deepEqual(feed.subscriptions(), []);
  const frame = await feed.readOnce('heat', [{ offset: 0, length: 8 }]);
  assert.deepEqual(words(frame), [0, 1]);
  assert.match((await feed.readOnce('heat', [{ offset: 1, length: 8 }])).error ?? '', /whole 32-bit words/);
});
