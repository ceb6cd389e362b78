// Snapshots of a view (`ringkernel run --snapshot`): decoding the words, the heatmap's viridis
// pixels, the rasterised line plot and histogram, PNG and CSV encoding, and the option's parsing
// and resolution against the manifest.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { interpolateViridis } from 'd3-scale-chromatic';
import type { KernelSpec } from '../../server/src/manifest/manifestTypes';
import type { StateView } from '../../server/src/manifest/views';
import { parseSnapshot, resolveSnapshot } from '../../server/src/cli/snapshotOption';
import { runStops } from '../../server/src/cli/snapshotWriter';
import { decodePng, encodeCsv, encodePng, snapshotBytes } from '../../server/src/views/snapshotFiles';
import {
  HISTOGRAM,
  LINE_PLOT,
  columnElements,
  heatColour,
  heatmapScale,
  histogramCounts,
  parseColour,
  plotY,
  renderView,
} from '../../server/src/views/snapshotImage';
import { finiteExtent, viewNumbers } from '../../server/src/views/viewNumbers';

function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

/** The message of a refused option (a parse or resolution that returned a string). */
const refusal = (result: unknown): string =>
  typeof result === 'string' ? result : `not refused: ${JSON.stringify(result)}`;

const pixel = (image: { width: number; rgba: Uint8Array }, x: number, y: number): number[] =>
  Array.from(image.rgba.subarray((y * image.width + x) * 4, (y * image.width + x) * 4 + 4));

test("words are read as the view's type, little-endian", () => {
  const bytes = new Uint8Array([0, 0, 128, 63, 255, 255, 255, 255]);
  assert.deepEqual(Array.from(viewNumbers('f32', bytes)), [1, NaN]);
  assert.deepEqual(Array.from(viewNumbers('u32', bytes)), [1065353216, 4294967295]);
  assert.deepEqual(Array.from(viewNumbers('i32', bytes)), [1065353216, -1]);
  assert.throws(() => viewNumbers('u32', new Uint8Array(3)), /whole 32-bit words/);
  assert.deepEqual(finiteExtent([NaN, 3, -2, Infinity]), [-2, 3]);
  assert.deepEqual(finiteExtent([5, 5]), [4.5, 5.5]);
  assert.deepEqual(finiteExtent([NaN]), [0, 1]);
});

test("a heatmap has one cell per element, row by row, coloured by d3's viridis over the view's range", () => {
  const view: StateView = {
    name: 'field',
    type: 'f32',
    offset: 0,
    count: 6,
    shape: [2, 3],
    plot: 'heatmap',
    range: [0, 1],
  };
  const values = [0, 0.5, 1, 2, -1, NaN];
  const image = renderView(view, values);
  const scale = heatmapScale([2, 3]);
  assert.equal(scale, 86, 'a small grid is scaled up by a whole factor');
  assert.deepEqual([image.width, image.height], [3 * scale, 2 * scale]);
  const colourAt = (row: number, column: number): number[] =>
    pixel(image, column * scale + scale - 1, row * scale + scale - 1);
  assert.deepEqual(colourAt(0, 0), [...parseColour(interpolateViridis(0)), 255]);
  assert.deepEqual(colourAt(0, 2), [...parseColour(interpolateViridis(1)), 255]);
  assert.deepEqual(colourAt(0, 1), [...parseColour(interpolateViridis(128 / 255)), 255]);
  assert.deepEqual(colourAt(1, 0), colourAt(0, 2), 'above the range: the last colour');
  assert.deepEqual(colourAt(1, 1), colourAt(0, 0), 'below the range: the first colour');
  assert.deepEqual(colourAt(1, 2), [0, 0, 0, 0], 'NaN is transparent');
  assert.equal(heatColour(Infinity, [0, 1]), undefined);
  assert.equal(heatmapScale([512, 512]), 1);
});

test('a line plot spans, in each column, the values of the elements it covers', () => {
  const count = 10_000;
  const values = Array.from({ length: count }, (_, i) => (i === 5000 ? 100 : 0));
  const view: StateView = { name: 'rod', type: 'f32', offset: 0, count, plot: 'line' };
  const image = renderView(view, values);
  assert.deepEqual([image.width, image.height], [LINE_PLOT.width, LINE_PLOT.height]);
  const columns = LINE_PLOT.width - 2 * LINE_PLOT.margin;
  const peakColumn = Array.from({ length: columns }, (_, x) => columnElements(x, columns, count)).findIndex(
    ([first, end]) => first <= 5000 && 5000 < end,
  );
  const top = LINE_PLOT.margin;
  const bottom = LINE_PLOT.height - 1 - LINE_PLOT.margin;
  const ink = pixel(image, LINE_PLOT.margin + peakColumn, plotY(100, [0, 100], top, bottom));
  assert.notDeepEqual(ink, [255, 255, 255, 255], 'the single peak among 10,000 elements is drawn');
  assert.deepEqual(
    pixel(image, LINE_PLOT.margin + peakColumn + 5, plotY(100, [0, 100], top, bottom)),
    [255, 255, 255, 255],
    'and only where it is',
  );
  assert.notDeepEqual(pixel(image, LINE_PLOT.margin + 3, bottom), [255, 255, 255, 255], 'the zeros lie on the bottom');
  // Fewer elements than columns: every element still gets a column.
  assert.deepEqual(columnElements(0, 100, 3), [0, 1]);
  assert.deepEqual(columnElements(99, 100, 3), [2, 3]);
});

test('a histogram counts the finite values in 64 bins; a table has no picture', () => {
  assert.deepEqual(histogramCounts([0, 0.5, 1, NaN, 2], [0, 1], 2), [1, 2]);
  const view: StateView = { name: 'spread', type: 'f32', offset: 0, count: 4, plot: 'histogram' };
  assert.equal(renderView(view, [1, 2, 3, 4]).width, HISTOGRAM.bins * HISTOGRAM.binWidth + 2 * HISTOGRAM.margin);
  assert.throws(
    () => renderView({ ...view, plot: 'table' }, [1]),
    /view "spread" is a table, which has no picture; write it to a \.csv file/,
  );
});

test('PNG round-trips the pixels through pngjs; CSV has the step on every line and numbers that read back exactly', () => {
  const view: StateView = {
    name: 'field',
    type: 'f32',
    offset: 0,
    count: 4,
    shape: [2, 2],
    plot: 'heatmap',
    range: [0, 1],
  };
  const values = viewNumbers('f32', f32Bytes([0.1, 0.2, 0.7, 1]));
  const image = renderView(view, values);
  const png = encodePng(image);
  assert.deepEqual(Array.from(png.subarray(1, 4)), [0x50, 0x4e, 0x47], 'a PNG signature');
  const back = decodePng(png);
  assert.deepEqual([back.width, back.height], [image.width, image.height]);
  assert.deepEqual(Buffer.from(back.rgba), Buffer.from(image.rgba));
  const csv = encodeCsv(view, 42, values);
  const lines = csv.trim().split('\n');
  assert.equal(lines[0], 'step,row,column,value');
  assert.equal(lines.length, 5);
  const parsed = lines.slice(1).map((line) => line.split(',').map(Number));
  assert.deepEqual(
    parsed.map((p) => p.slice(0, 3)),
    [
      [42, 0, 0],
      [42, 0, 1],
      [42, 1, 0],
      [42, 1, 1],
    ],
  );
  assert.deepEqual(new Float32Array(parsed.map((p) => p[3] ?? NaN)), new Float32Array([0.1, 0.2, 0.7, 1]));
  assert.equal(
    encodeCsv({ ...view, shape: undefined } as unknown as StateView, 3, [1, NaN]),
    'step,index,value\n3,0,1\n3,1,NaN\n',
  );
  assert.equal(Buffer.from(snapshotBytes('csv', view, 42, values)).toString(), csv);
});

test('--snapshot takes VIEW@STEP=FILE and finds the kernel and view, dots in names included', () => {
  assert.equal(
    parseSnapshot(undefined),
    '--snapshot needs VIEW@STEP=FILE, such as heat.rod@100=rod.png (VIEW is kernel.view, FILE a .png or .csv)',
  );
  assert.match(refusal(parseSnapshot('heat.rod=rod.png')), /is not VIEW@STEP=FILE/);
  assert.match(refusal(parseSnapshot('heat.rod@x=rod.png')), /the step must be a whole number, 0 or more \(got "x"\)/);
  assert.match(refusal(parseSnapshot('rod@10=rod.png')), /name the view as kernel.view/);
  assert.match(
    refusal(parseSnapshot('heat.rod@10=rod.jpg')),
    /must end in \.png \(a picture\) or \.csv \(the numbers\)/,
  );
  const request = parseSnapshot('my.heat.rod.x@10=out/rod.PNG');
  assert.ok(typeof request !== 'string');
  assert.equal(request.format, 'png');
  assert.ok(request.file.endsWith('/out/rod.PNG'));
  const spec = (id: string, views: StateView[]): KernelSpec => ({
    id,
    source: '/ws/k.wgsl',
    language: 'wgsl',
    entryPoint: 'main',
    backend: 'auto',
    device: 'auto',
    stateBytes: 4096,
    grid: [1, 1, 1],
    block: [1, 1, 1],
    inboxCapacity: 1,
    outboxCapacity: 1,
    rateHz: 0,
    views,
  });
  const rod: StateView = { name: 'rod.x', type: 'f32', offset: 0, count: 4, plot: 'line' };
  const table: StateView = { name: 'table', type: 'u32', offset: 0, count: 4, plot: 'table' };
  const kernels = [spec('my', []), spec('my.heat', [rod, table])];
  const resolved = resolveSnapshot(request, kernels, 100);
  assert.ok(typeof resolved !== 'string', typeof resolved === 'string' ? resolved : '');
  assert.equal(resolved.kernelId, 'my.heat');
  assert.equal(resolved.stateView, rod);
  assert.match(
    refusal(resolveSnapshot({ ...request, step: 101 }, kernels, 100)),
    /step 101 is past the 100 steps this run takes/,
  );
  assert.match(
    refusal(resolveSnapshot({ ...request, view: 'my.heat.nope' }, kernels, 100)),
    /kernel "my.heat" has no view "nope" \(its views: rod.x, table\)/,
  );
  assert.match(
    refusal(resolveSnapshot({ ...request, view: 'cold.rod' }, kernels, 100)),
    /no runnable kernel of the manifest is called "cold"/,
  );
  assert.match(
    refusal(resolveSnapshot({ ...request, view: 'my.heat.table' }, kernels, 100)),
    /is a table, which has no picture; write it to a \.csv file/,
  );
  assert.deepEqual(
    runStops(
      [
        { ...resolved, step: 50 },
        { ...resolved, step: 10 },
        { ...resolved, step: 50 },
      ],
      100,
    ),
    [10, 50, 100],
  );
});
