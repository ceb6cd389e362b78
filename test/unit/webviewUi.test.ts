// The webview scripts' pure parts, in plain Node: frame bytes to values, what a panel asks for,
// histograms, the heatmap colour map, the router's time series, numbers as shown, and where the
// "View state" lens goes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { interpolateViridis } from 'd3-scale-chromatic';
import { entryPointOffset } from '../../server/src/manifest/entryPointOffset';
import { colorTable, heatmapRange, parseColor, toRgba } from '../../client/webview-ui/kernelState/colorMap';
import { finiteRange, histogram } from '../../client/webview-ui/kernelState/histogram';
import {
  MAX_CHOSEN_ELEMENTS,
  WORDS_PER_PAGE,
  clampChosen,
  panelViews,
  regionsOf,
} from '../../client/webview-ui/kernelState/panelViews';
import { markerText } from '../../client/webview-ui/kernelState/reloadMarker';
import { base64ToBytes, decodeRegions, firstValues, viewValues } from '../../client/webview-ui/kernelState/stateValues';
import {
  GAP_SECONDS,
  MAX_POINTS,
  appendStats,
  emptySeries,
  restoreSeries,
} from '../../client/webview-ui/routerStats/timeSeries';
import {
  formatBytesPerSecond,
  formatCount,
  formatMicros,
  formatRate,
  formatValue,
} from '../../client/webview-ui/shared/format';

function region(offset: number, values: Float32Array | Uint32Array | Int32Array): { offset: number; base64: string } {
  return { offset, base64: Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64') };
}

test('frame bytes become the typed values of each view, found in whichever region holds them', () => {
  const regions = decodeRegions([
    region(0, Uint32Array.of(7, 8, 9, 10)),
    region(64, Float32Array.of(0.5, -1.25, 3)),
    region(128, Int32Array.of(-3, 4)),
  ]);
  assert.deepEqual([...(viewValues(regions, { type: 'u32', offset: 4, count: 2 }) ?? [])], [8, 9]);
  assert.deepEqual([...(viewValues(regions, { type: 'f32', offset: 68, count: 2 }) ?? [])], [-1.25, 3]);
  assert.deepEqual([...(viewValues(regions, { type: 'i32', offset: 128, count: 2 }) ?? [])], [-3, 4]);
  assert.deepEqual(
    [...(viewValues(regions, { type: 'u32', offset: 128, count: 1 }) ?? [])],
    [4294967293],
    'the same bits read as u32',
  );
  assert.equal(
    viewValues(regions, { type: 'f32', offset: 72, count: 2 }),
    undefined,
    'past the region: not in this frame',
  );
  assert.deepEqual(firstValues(viewValues(regions, { type: 'u32', offset: 0, count: 4 }), 2), [7, 8]);
  assert.deepEqual([...base64ToBytes('AAEC/w==')], [0, 1, 2, 255]);
});

test('a values array starting at an odd place is copied so it can still be read', () => {
  const bytes = new Uint8Array(13);
  new DataView(bytes.buffer).setUint32(1, 0xdeadbeef, true);
  const values = viewValues([{ offset: 0, bytes: bytes.subarray(1) }], { type: 'u32', offset: 0, count: 1 });
  assert.deepEqual([...(values ?? [])], [0xdeadbeef]);
});

test('with manifest views the panel shows them; without, words and a chosen range, inside the state', () => {
  const rod = { name: 'rod', type: 'f32' as const, offset: 16, count: 100, plot: 'line' as const };
  assert.deepEqual(panelViews({ views: [rod], stateBytes: 4096 }, { type: 'u32', offset: 0, count: 4 }, 0), [rod]);
  const views = panelViews({ views: [], stateBytes: 4096 }, { type: 'i32', offset: 4000, count: 500 }, 1000);
  assert.deepEqual(views, [
    { name: 'range', type: 'i32', offset: 4000, count: 24, plot: 'line' },
    { name: 'words', type: 'u32', offset: 4000, count: 24, plot: 'table', words: true },
  ]);
  assert.equal(
    panelViews({ views: [], stateBytes: 1 << 20 }, { type: 'f32', offset: 0, count: 4 }, 0)[1]?.count,
    WORDS_PER_PAGE,
  );
  assert.deepEqual(clampChosen({ type: 'f32', offset: 6, count: 1e9 }, 1 << 30), {
    type: 'f32',
    offset: 4,
    count: MAX_CHOSEN_ELEMENTS,
  });
  assert.deepEqual(clampChosen({ type: 'x' as 'f32', offset: NaN, count: -3 }, 64), {
    type: 'f32',
    offset: 0,
    count: 1,
  });
  assert.deepEqual(
    regionsOf([rod, { ...rod, offset: 0, count: 4 }, { ...rod, offset: 1000, count: 1 }]),
    [
      { offset: 0, length: 416 },
      { offset: 1000, length: 4 },
    ],
    'touching views merge',
  );
});

test('histogram: equal bins over the data or a fixed range, the top edge in the last bin, outliers and NaN counted apart', () => {
  const h = histogram(Float32Array.of(0, 0.1, 0.5, 0.99, 1, NaN, Infinity), 4);
  assert.deepEqual([...h.counts], [2, 0, 1, 2]);
  assert.deepEqual([h.low, h.high, h.nonFinite, h.outside], [0, 1, 2, 0]);
  assert.deepEqual([...h.centers], [0.125, 0.375, 0.625, 0.875]);
  const fixed = histogram([-1, 0.2, 2], 2, [0, 1]);
  assert.deepEqual([[...fixed.counts], fixed.outside], [[1, 0], 2]);
  assert.deepEqual(finiteRange([3, 3]), [2.5, 3.5]);
  assert.deepEqual(finiteRange([NaN]), [0, 1]);
});

test('the heatmap colour map is viridis from d3-scale-chromatic: ends, middle, clamping, NaN transparent', () => {
  const table = colorTable();
  assert.equal(table.length, 256 * 3);
  assert.deepEqual([...table.subarray(0, 3)], parseColor(interpolateViridis(0)));
  assert.deepEqual([...table.subarray(255 * 3)], parseColor(interpolateViridis(1)));
  assert.deepEqual(parseColor('#440154'), [68, 1, 84], 'viridis starts dark purple');
  const pixels = toRgba(Float32Array.of(0, 1, 0.5, -7, 99, NaN), [0, 1], table);
  const pixel = (i: number): number[] => [...pixels.subarray(i * 4, i * 4 + 4)];
  assert.deepEqual(pixel(0), [...parseColor(interpolateViridis(0)), 255]);
  assert.deepEqual(pixel(1), [...parseColor(interpolateViridis(1)), 255]);
  assert.deepEqual(pixel(2), [...table.subarray(128 * 3, 128 * 3 + 3), 255]);
  assert.deepEqual(pixel(3), pixel(0), 'below the range: the first colour');
  assert.deepEqual(pixel(4), pixel(1), 'above the range: the last colour');
  assert.deepEqual(pixel(5), [0, 0, 0, 0], 'NaN shows the background');
  // Perceptual: lightness rises monotonically along viridis, so brighter means larger.
  const luminance = (i: number): number =>
    0.2126 * (table[i * 3] ?? 0) + 0.7152 * (table[i * 3 + 1] ?? 0) + 0.0722 * (table[i * 3 + 2] ?? 0);
  for (let i = 8; i < 256; i += 8) assert.ok(luminance(i) > luminance(i - 8), `lighter at ${i}`);
  assert.deepEqual(heatmapRange([2, 5, NaN]), [2, 5]);
  assert.deepEqual(heatmapRange([2, 5], [0, 1]), [0, 1]);
  assert.throws(() => parseColor('hsl(1, 2%, 3%)'), /not a colour/);
});

test("the router's time series: one point per stats, repeats skipped, a gap where the panel was hidden, the last 600 kept, restored only if sound", () => {
  const stats = (at: number, messagesPerSecond: number, latency: { p50Us: number; p99Us: number } | null = null) => ({
    at,
    totals: { messagesPerSecond, bytesPerSecond: messagesPerSecond * 64, latency },
  });
  let series = appendStats(emptySeries(), stats(1000, 5, { p50Us: 10, p99Us: 30 }));
  series = appendStats(series, stats(1000, 6));
  series = appendStats(series, stats(1250, 7));
  assert.deepEqual(series, { t: [1, 1.25], messages: [5, 7], bytes: [320, 448], p50: [10, null], p99: [30, null] });
  series = appendStats(series, stats(1250 + (GAP_SECONDS + 1) * 1000, 8));
  assert.deepEqual(series.messages, [5, 7, null, 8], 'a null breaks the line over the hidden time');
  for (let i = 0; i < 1000; i++) series = appendStats(series, stats(100_000 + i * 250, i));
  assert.equal(series.t.length, MAX_POINTS);
  assert.equal(series.messages.at(-1), 999);
  assert.deepEqual(restoreSeries(JSON.parse(JSON.stringify(series))), series);
  assert.deepEqual(
    restoreSeries({ t: [1, 2], messages: [1], bytes: [1, 2], p50: [null, null], p99: [null, null] }),
    emptySeries(),
  );
  assert.deepEqual(restoreSeries('junk'), emptySeries());
});

test('numbers as the panels show them', () => {
  assert.equal(formatCount(1204), '1,204');
  assert.equal(formatRate(1234.5), '1.23 k/s');
  assert.equal(formatRate(12, 'msg'), '12 msg/s');
  assert.equal(formatBytesPerSecond(2.5e9), '2.50 GB/s');
  assert.deepEqual([formatMicros(850), formatMicros(12_500), formatMicros(null)], ['850 µs', '12.5 ms', '–']);
  assert.deepEqual([formatValue(3), formatValue(0.1 + 0.2), formatValue(NaN)], ['3', '0.3', 'NaN']);
});

test('the reload marker reads "v3 at step 1,204", and says when it went back', () => {
  assert.equal(markerText({ fromVersion: 2, toVersion: 3, atStep: 1204 }), 'v3 at step 1,204');
  assert.equal(markerText({ fromVersion: 3, toVersion: 2, atStep: 99 }), 'v2 at step 99 (back from v3)');
});

test('the "View state" lens sits on the entry point\'s name, not on a commented-out or other function', () => {
  const wgsl =
    '// @compute fn step() {}\nfn helper() {}\n@compute @workgroup_size(64)\nfn step(@builtin(global_invocation_id) id: vec3u) {}\n';
  const at = entryPointOffset('wgsl', wgsl, 'step');
  assert.equal(wgsl.slice(at, (at ?? 0) + 4), 'step');
  assert.equal(wgsl.slice(0, at).split('\n').length, 4, 'on line 4');
  assert.equal(entryPointOffset('wgsl', wgsl, 'helper'), undefined, 'not a @compute function');
  const ptx = '// .entry count_up\n.visible .entry count_up(\n .param .u64 state\n)\n{ ret; }\n';
  const p = entryPointOffset('ptx', ptx, 'count_up');
  assert.equal(ptx.slice(0, p).split('\n').length, 2);
  assert.equal(ptx.slice(p, (p ?? 0) + 8), 'count_up');
  assert.equal(entryPointOffset('msl', 'kernel void k() {}', 'k'), undefined, 'Metal kernels do not run here');
});
