// The bench's measuring method (bench/method.ts) and its report (bench/reportFormat.ts): the
// statistics every figure relies on, checked on samples whose answers are known.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { measurePair, percentile, summarizeFigure, type RoundSamples } from '../../bench/method';
import { BEGIN_MARKER, END_MARKER, formatTable, parseBenchJson, replaceGenerated } from '../../bench/reportFormat';

test('percentile is nearest-rank: p50 of 1..10 is 5, p95 is 10, p95 of 1..100 is 95', () => {
  const ten = Array.from({ length: 10 }, (_, i) => i + 1);
  assert.equal(percentile(ten, 0.5), 5);
  assert.equal(percentile(ten, 0.95), 10);
  assert.equal(
    percentile(
      Array.from({ length: 100 }, (_, i) => 100 - i),
      0.95,
    ),
    95,
  );
  assert.ok(Number.isNaN(percentile([], 0.5)));
});

test('the ratio is taken per round, then the median over rounds: never a ratio of pooled or summed percentiles', () => {
  // Round costs: ours is exactly twice raw in rounds 1-4 and ten times in round 5 (an outlier).
  const raw = [
    [1, 1, 1],
    [2, 2, 2],
    [3, 3, 3],
    [4, 4, 4],
    [1, 1, 1],
  ];
  const ours = [
    [2, 2, 2],
    [4, 4, 4],
    [6, 6, 6],
    [8, 8, 8],
    [10, 10, 10],
  ];
  const figure = summarizeFigure('s', { name: 'f', unit: 'ms' }, ours, raw);
  assert.deepEqual(figure.ratio, { p50: 2, p95: 2 });
  assert.deepEqual(figure.spread.ratio, { min: 2, max: 10 });
  // Pooled percentiles: ours p50 of {2,4,6,8,10}x3 is 6, raw p50 of {1,2,3,4,1}x3 is 2.
  assert.deepEqual(figure.ours, { p50: 6, p95: 10 });
  assert.deepEqual(figure.raw, { p50: 2, p95: 4 });
  // Spread of round medians: (max - min) / median.
  assert.equal(figure.spread.ours, 1.333, '(10 - 2) / 6, to 4 significant digits');
  assert.equal(figure.spread.raw, (4 - 1) / 2);
  assert.equal(figure.rounds, 5);
  assert.deepEqual(figure.samples, { ours: 15, raw: 15 });
});

test('rates come from costs: steps/s and GB/s at the p50 cost, and "p95" is the rate at the p95 cost (the slow end)', () => {
  const ms = [[1, 1, 1, 1, 2]];
  const steps = summarizeFigure('s', { name: 'loop', unit: 'steps/s' }, ms, ms);
  assert.deepEqual(steps.ours, { p50: 1000, p95: 500 });
  const bytes = 1e9;
  const gb = summarizeFigure('s', { name: 'copy', unit: 'GB/s', bytes }, [[100, 200]], [[50, 50]]);
  assert.deepEqual(gb.ours, { p50: 10, p95: 5 });
  // The ratio stays a ratio of times: ours takes twice (p50) and four times (p95) as long.
  assert.deepEqual(gb.ratio, { p50: 2, p95: 4 });
  assert.throws(() => summarizeFigure('s', { name: 'copy', unit: 'GB/s' }, [[1]], [[1]]), /says no byte count/);
});

test('measurePair drops the warm-up, alternates which side goes first, and needs samples from both sides', async () => {
  const order: string[] = [];
  const side =
    (name: string) =>
    (round: number): Promise<RoundSamples> => {
      order.push(`${name}${round}`);
      return Promise.resolve({ f: [round === 0 ? 1000 : 1 + (name === 'ours' ? 1 : 0)] });
    };
  const [figure] = await measurePair(
    { suite: 's', figures: [{ name: 'f', unit: 'ms' }], ours: side('ours'), raw: side('raw') },
    { rounds: 5, warmup: 1, quick: true },
    () => undefined,
  );
  assert.deepEqual(order, [
    'ours0',
    'raw0',
    'raw1',
    'ours1',
    'ours2',
    'raw2',
    'raw3',
    'ours3',
    'ours4',
    'raw4',
    'raw5',
    'ours5',
  ]);
  assert.equal(figure?.rounds, 5);
  assert.deepEqual(figure?.ours, { p50: 2, p95: 2 }, 'the warm-up round (1000 ms) is not counted');
  await assert.rejects(
    measurePair(
      { suite: 's', figures: [{ name: 'f', unit: 'ms' }], ours: () => Promise.resolve({}), raw: side('raw') },
      { rounds: 5, warmup: 0, quick: true },
      () => undefined,
    ),
    /the ours side gave no samples for "f"/,
  );
});

test("the report reads JSON behind npm's banner, tabulates it per suite, and fills only the generated section", () => {
  const figure = summarizeFigure('webgpu', { name: 'step loop, small kernel', unit: 'steps/s' }, [[0.1]], [[0.05]]);
  const json = JSON.stringify({
    machine: {
      cpu: { cores: 2 },
      date: '2026-01-02T00:00:00Z',
      backends: [{ backend: 'webgpu', available: true, devices: ['llvmpipe: Mesa 25 [software Vulkan]'] }],
    },
    results: [figure],
    skipped: [],
  });
  const document = parseBenchJson(`\n> ringkernel@0.1.0 bench\n> node out/bench/run.js --json\n\n${json}\n`, 'r.json');
  const tables = formatTable([document]);
  assert.match(tables, /### webgpu/);
  assert.match(
    tables,
    /\| step loop, small kernel \| llvmpipe \(2 cores\) 2026-01-02 \| 10,000 \/ 10,000 steps\/s \| 20,000 \/ 20,000 steps\/s \| 2 \/ 2 \|/,
  );
  const doc = `# Results\n\nprose\n\n${BEGIN_MARKER}\nold tables\n${END_MARKER}\n\nmore prose\n`;
  const updated = replaceGenerated(doc, tables);
  assert.ok(updated.startsWith('# Results\n\nprose\n\n'));
  assert.ok(updated.endsWith(`${END_MARKER}\n\nmore prose\n`));
  assert.doesNotMatch(updated, /old tables/);
  assert.throws(() => replaceGenerated('no markers', tables), /has no generated section/);
  assert.throws(() => parseBenchJson('> banner only', 'x.json'), /holds no JSON document/);
});
