// A view drawn into RGBA pixels for `ringkernel run --snapshot VIEW@STEP=FILE.png`: a heatmap one
// cell per element (scaled up by a whole factor when small) with d3's viridis colour map, a line
// plot rasterised column by column (each column spans the values of the elements it covers, so a
// 65,536-point rod still shows its peaks), and a histogram of 64 bins. Plain pixels, no text: the
// file is for CI and documentation, and its numbers are in the CSV form.
import { interpolateViridis } from 'd3-scale-chromatic';
import type { StateView } from '../manifest/views';
import { finiteExtent } from './viewNumbers';

export interface RgbaImage {
  width: number;
  height: number;
  /** width × height × 4 bytes, row by row from the top. */
  rgba: Uint8Array;
}

export const LINE_PLOT = { width: 800, height: 300, margin: 8 } as const;
export const HISTOGRAM = { bins: 64, binWidth: 10, height: 300, margin: 8 } as const;
/** A heatmap's longer side is scaled up to at least this many pixels (by a whole factor). */
export const HEATMAP_MIN_SIDE = 256;

const BACKGROUND = [255, 255, 255, 255] as const;
const FRAME = [200, 200, 200, 255] as const;
const ZERO_LINE = [160, 160, 160, 255] as const;
const INK = [31, 119, 180, 255] as const;

type Rgba = readonly [number, number, number, number];

/** viridis at 256 levels, as RGB bytes. */
let viridis: Uint8Array | undefined;
function viridisTable(): Uint8Array {
  if (viridis) return viridis;
  const table = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) table.set(parseColour(interpolateViridis(i / 255)), i * 3);
  viridis = table;
  return table;
}

/** "#rrggbb" or "rgb(r, g, b)", as d3 writes colours. */
export function parseColour(colour: string): [number, number, number] {
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(colour);
  if (hex) return [parseInt(hex[1] ?? '0', 16), parseInt(hex[2] ?? '0', 16), parseInt(hex[3] ?? '0', 16)];
  const rgb = /^rgb\((\d+),\s*(\d+),\s*(\d+)\)$/.exec(colour);
  if (rgb) return [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])];
  throw new Error(`unexpected colour "${colour}" from the colour map`);
}

/** The viridis colour of `value` in [low, high] (clamped); undefined for NaN and infinities. */
export function heatColour(value: number, [low, high]: [number, number]): [number, number, number] | undefined {
  if (!Number.isFinite(value)) return undefined;
  const table = viridisTable();
  const t = high > low ? (value - low) / (high - low) : 0;
  const index = Math.max(0, Math.min(255, Math.round(t * 255))) * 3;
  return [table[index] ?? 0, table[index + 1] ?? 0, table[index + 2] ?? 0];
}

/** The range a view's values are mapped to: the manifest's, or the data's finite extent. */
export function valueRange(view: Pick<StateView, 'range'>, values: ArrayLike<number>): [number, number] {
  return view.range ?? finiteExtent(values);
}

export function heatmapScale(shape: readonly [number, number]): number {
  return Math.max(1, Math.ceil(HEATMAP_MIN_SIDE / Math.max(shape[0], shape[1])));
}

class Canvas {
  readonly rgba: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgba = BACKGROUND,
  ) {
    this.rgba = new Uint8Array(width * height * 4);
    for (let p = 0; p < this.rgba.length; p += 4) this.rgba.set(background, p);
  }

  set(x: number, y: number, colour: Rgba): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    this.rgba.set(colour, (y * this.width + x) * 4);
  }

  column(x: number, y0: number, y1: number, colour: Rgba): void {
    for (let y = Math.min(y0, y1); y <= Math.max(y0, y1); y++) this.set(x, y, colour);
  }

  row(y: number, x0: number, x1: number, colour: Rgba): void {
    for (let x = x0; x <= x1; x++) this.set(x, y, colour);
  }

  frame(x0: number, y0: number, x1: number, y1: number, colour: Rgba): void {
    this.row(y0, x0, x1, colour);
    this.row(y1, x0, x1, colour);
    this.column(x0, y0, y1, colour);
    this.column(x1, y0, y1, colour);
  }

  image(): RgbaImage {
    return { width: this.width, height: this.height, rgba: this.rgba };
  }
}

/** Draws `view` with its values (one per element, in order). A table has no picture: write it as CSV. */
export function renderView(view: StateView, values: ArrayLike<number>): RgbaImage {
  switch (view.plot) {
    case 'heatmap':
      return renderHeatmap(view, values);
    case 'line':
      return renderLine(view, values);
    case 'histogram':
      return renderHistogram(view, values);
    case 'table':
      throw new Error(`view "${view.name}" is a table, which has no picture; write it to a .csv file`);
  }
}

function renderHeatmap(view: StateView, values: ArrayLike<number>): RgbaImage {
  // Without a shape (a line view drawn as a heatmap would need one) the elements form one row.
  const [rows, columns] = view.shape ?? [1, values.length];
  const scale = heatmapScale([rows, columns]);
  const range = valueRange(view, values);
  // NaN and infinities are transparent, as in the webview.
  const canvas = new Canvas(columns * scale, rows * scale, [0, 0, 0, 0]);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const colour = heatColour(values[r * columns + c] ?? NaN, range);
      if (!colour) continue;
      const rgba: Rgba = [colour[0], colour[1], colour[2], 255];
      for (let dy = 0; dy < scale; dy++) canvas.row(r * scale + dy, c * scale, c * scale + scale - 1, rgba);
    }
  }
  return canvas.image();
}

/** The pixel row of `value` in a plot area from `top` to `bottom` showing [low, high]. */
export function plotY(value: number, [low, high]: [number, number], top: number, bottom: number): number {
  const t = (value - low) / (high - low);
  return Math.round(bottom - Math.max(0, Math.min(1, t)) * (bottom - top));
}

/** Which elements column `x` of `width` covers: at least one, so every element is drawn when there are more columns. */
export function columnElements(x: number, width: number, count: number): [number, number] {
  const first = Math.floor((x * count) / width);
  const end = Math.max(first + 1, Math.floor(((x + 1) * count) / width));
  return [Math.min(first, count - 1), Math.min(end, count)];
}

function renderLine(view: StateView, values: ArrayLike<number>): RgbaImage {
  const { width, height, margin } = LINE_PLOT;
  const canvas = new Canvas(width, height);
  const [left, top, right, bottom] = [margin, margin, width - 1 - margin, height - 1 - margin];
  canvas.frame(left - 1, top - 1, right + 1, bottom + 1, FRAME);
  const range = valueRange(view, values);
  if (range[0] < 0 && range[1] > 0) canvas.row(plotY(0, range, top, bottom), left, right, ZERO_LINE);
  const columns = right - left + 1;
  let previous: number | undefined;
  for (let x = 0; x < columns && values.length > 0; x++) {
    const [first, end] = columnElements(x, columns, values.length);
    let low = Infinity;
    let high = -Infinity;
    for (let i = first; i < end; i++) {
      const v = values[i] ?? NaN;
      if (!Number.isFinite(v)) continue;
      const y = plotY(v, range, top, bottom);
      low = Math.min(low, y);
      high = Math.max(high, y);
    }
    if (low > high) {
      previous = undefined;
      continue;
    }
    // Joined to the previous column, so steep changes stay one connected line.
    if (previous !== undefined) {
      low = Math.min(low, previous);
      high = Math.max(high, previous);
    }
    canvas.column(left + x, low, high, INK);
    previous = plotY(values[end - 1] ?? NaN, range, top, bottom);
    if (!Number.isFinite(values[end - 1] ?? NaN)) previous = undefined;
  }
  return canvas.image();
}

/** How many finite values fall in each of `bins` equal bins over `range` (the top edge in the last). */
export function histogramCounts(values: ArrayLike<number>, range: [number, number], bins: number): number[] {
  const counts = new Array<number>(bins).fill(0);
  const [low, high] = range;
  const width = (high - low) / bins;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? NaN;
    if (!Number.isFinite(v) || v < low || v > high) continue;
    const bin = Math.min(bins - 1, Math.floor((v - low) / width));
    counts[bin] = (counts[bin] ?? 0) + 1;
  }
  return counts;
}

function renderHistogram(view: StateView, values: ArrayLike<number>): RgbaImage {
  const { bins, binWidth, height, margin } = HISTOGRAM;
  const width = bins * binWidth + 2 * margin;
  const canvas = new Canvas(width, height);
  const [top, bottom] = [margin, height - 1 - margin];
  canvas.frame(margin - 1, top - 1, width - margin, bottom + 1, FRAME);
  const counts = histogramCounts(values, valueRange(view, values), bins);
  const most = Math.max(1, ...counts);
  counts.forEach((count, bin) => {
    if (count === 0) return;
    const y = plotY(count, [0, most], top, bottom);
    for (let x = 1; x < binWidth - 1; x++) canvas.column(margin + bin * binWidth + x, y, bottom, INK);
  });
  return canvas.image();
}
