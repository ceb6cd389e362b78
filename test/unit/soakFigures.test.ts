// The soak's verdicts that are pure arithmetic: when memory counts as grown after the warm-up,
// and the steps a recovered kernel runs again (from its outcome's structured rerun, not its sentence).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { memoryTrend, type MemorySample } from '../../soak/memoryTrend';
import { stepsRerun } from '../../soak/soakRun';

const bound = { maxSlopeMiBPerMinute: 4, noiseMiB: 32, minSpanMinutes: 3 };
/** A sample every 2 s for `minutes`, from `startMiB`, gaining `perMinute` MiB a minute, with ±`jitter`. */
function series(minutes: number, startMiB: number, perMinute: number, jitter = 0): MemorySample[] {
  const samples: MemorySample[] = [];
  for (let at = 0; at <= minutes * 60_000; at += 2_000)
    samples.push({ atMs: at, rssMiB: startMiB + (perMinute * at) / 60_000 + (at % 4_000 === 0 ? jitter : -jitter) });
  return samples;
}

test('flat memory with GC noise has a slope near 0 and did not grow', () => {
  const trend = memoryTrend(series(30, 200, 0, 20), 60_000, bound);
  assert.ok(trend);
  assert.ok(Math.abs(trend.slopeMiBPerMinute) < 0.5, `slope ${trend.slopeMiBPerMinute}`);
  assert.equal(trend.minMiB, 180);
  assert.equal(trend.maxMiB, 220);
  assert.equal(trend.grew, false);
});

test('a slow leak over 30 minutes passes both bounds: grew', () => {
  const trend = memoryTrend(series(30, 200, 5), 60_000, bound);
  assert.ok(trend);
  assert.ok(Math.abs(trend.slopeMiBPerMinute - 5) < 0.01);
  assert.ok(Math.abs(trend.fittedGrowthMiB - 5 * 29) < 0.5);
  assert.equal(trend.grew, true);
});

test('the same slope over 4 minutes is within the noise bound; a steep one is not', () => {
  assert.equal(memoryTrend(series(5, 200, 5), 60_000, bound)?.grew, false);
  assert.equal(memoryTrend(series(5, 200, 20), 60_000, bound)?.grew, true);
});

test('less than 3 minutes after the warm-up is reported, not judged', () => {
  const short = memoryTrend(series(2, 200, 50), 60_000, bound);
  assert.equal(short?.judged, false);
  assert.equal(short?.grew, false);
  assert.ok((short?.slopeMiBPerMinute ?? 0) > 49);
});

test('samples before the warm-up do not count; none after it: no trend', () => {
  const warmupSpike = [{ atMs: 0, rssMiB: 50 }, ...series(3, 200, 0).filter((s) => s.atMs >= 60_000)];
  assert.equal(memoryTrend(warmupSpike, 60_000, bound)?.minMiB, 200);
  assert.equal(memoryTrend(series(0.5, 200, 100), 60_000, bound), undefined);
});

test('stepsRerun counts from the checkpoint a recovery resumed at to the furthest step known', () => {
  // The runtime saw step 560 before the host died; the soak looked at 555 just before its kill.
  assert.deepEqual(stepsRerun({ rerun: { fromStep: 547, reachedStep: 560 } }, 555), { restoredStep: 547, steps: 13 });
  // The soak's look was later than the runtime's last progress report.
  assert.deepEqual(stepsRerun({ rerun: { fromStep: 547, reachedStep: 550 } }, 555), { restoredStep: 547, steps: 8 });
  // From a zeroed state (no checkpoint yet), and a restore at the step reached: nothing re-run.
  assert.deepEqual(stepsRerun({ rerun: { fromStep: 0, reachedStep: 12 } }, 3), { restoredStep: 0, steps: 12 });
  assert.deepEqual(stepsRerun({ rerun: { fromStep: 40, reachedStep: 40 } }, 40), { restoredStep: 40, steps: 0 });
  // A failure restored nothing.
  assert.equal(stepsRerun({}, 555), undefined);
});
