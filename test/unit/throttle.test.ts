// The router stats' throttle: at most one send per interval with the latest state, nothing while
// inactive, and what changed meanwhile sent when it becomes active.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Throttle } from '../../server/src/views/throttle';
import { VirtualClock } from '../support/virtualClock';

function setUp(): { clock: VirtualClock; sent: number[]; throttle: Throttle } {
  const clock = new VirtualClock();
  const sent: number[] = [];
  const throttle = new Throttle(250, () => sent.push(clock.now()), clock);
  return { clock, sent, throttle };
}

test('sends nothing while nobody listens, however much changes', async () => {
  const { clock, sent, throttle } = setUp();
  for (let i = 0; i < 100; i++) {
    throttle.changed();
    await clock.advance(10);
  }
  assert.deepEqual(sent, []);
  assert.equal(clock.pending, 0, 'no timer is left waiting either');
});

test('sends at most 4 a second under a flood of changes, and the last change is never lost', async () => {
  const { clock, sent, throttle } = setUp();
  throttle.setActive(true);
  // A change every millisecond for 10 seconds.
  for (let i = 0; i < 10_000; i++) {
    throttle.changed();
    await clock.advance(1);
  }
  assert.ok(sent.length <= 41, `${sent.length} sends in 10 s`);
  assert.ok(sent.length >= 39, `${sent.length} sends in 10 s: it keeps sending at the full rate`);
  for (let i = 1; i < sent.length; i++)
    assert.ok((sent[i] ?? 0) - (sent[i - 1] ?? 0) >= 250, `sends ${i - 1} and ${i} are 250 ms apart or more`);
  const lastChange = clock.now() - 1;
  await clock.advance(1000);
  assert.ok((sent.at(-1) ?? 0) >= lastChange, 'the final change was sent after it happened');
});

test('sends a change at once when the last send is older than the interval', async () => {
  const { clock, sent, throttle } = setUp();
  throttle.setActive(true);
  await clock.advance(5000);
  throttle.changed();
  assert.deepEqual(sent, [5000]);
  await clock.advance(2000);
  throttle.changed();
  assert.deepEqual(sent, [5000, 7000]);
});

test('a change made while inactive is sent when listening starts, and stops when it ends', async () => {
  const { clock, sent, throttle } = setUp();
  throttle.changed();
  await clock.advance(1000);
  throttle.setActive(true);
  assert.deepEqual(sent, [1000]);
  throttle.changed();
  throttle.setActive(false);
  await clock.advance(1000);
  assert.deepEqual(sent, [1000], 'the change pending when listening stopped was not sent');
  assert.equal(clock.pending, 0);
  throttle.setActive(true);
  await clock.advance(0);
  assert.deepEqual(sent, [1000, 2000], 'but it is sent when listening starts again');
});
