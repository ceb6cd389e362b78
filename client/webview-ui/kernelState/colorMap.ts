// Heatmap colours: a perceptually uniform colour map (viridis, from d3-scale-chromatic) sampled
// once into a 256-entry table, then every value mapped to RGBA for an ImageData. No DOM:
// unit-tested in Node.
import { interpolateViridis } from 'd3-scale-chromatic';
import { finiteRange } from './histogram';

export const TABLE_SIZE = 256;

/** "#rrggbb" or "rgb(r, g, b)" → [r, g, b]. */
export function parseColor(text: string): [number, number, number] {
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(text.trim());
  if (hex) return [parseInt(hex[1] ?? '0', 16), parseInt(hex[2] ?? '0', 16), parseInt(hex[3] ?? '0', 16)];
  const rgb = /^rgb\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)$/i.exec(text.trim());
  if (rgb) return [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])];
  throw new Error(`not a colour: ${text}`);
}

/** r, g, b for TABLE_SIZE evenly spaced points of `interpolate` (0 → first, 1 → last). */
export function colorTable(interpolate: (t: number) => string = interpolateViridis, size = TABLE_SIZE): Uint8Array {
  const table = new Uint8Array(size * 3);
  for (let i = 0; i < size; i++) table.set(parseColor(interpolate(i / (size - 1))), i * 3);
  return table;
}

/** The range a heatmap maps: the view's, or the data's finite extent. */
export function heatmapRange(values: ArrayLike<number>, fixed?: [number, number]): [number, number] {
  return fixed ?? finiteRange(values);
}

/**
 * RGBA pixels for `values` (row-major, one per pixel): `low` and below get the first colour,
 * `high` and above the last; NaN and infinities are transparent, so the background shows them.
 */
export function toRgba(
  values: ArrayLike<number>,
  [low, high]: [number, number],
  table: Uint8Array,
  out = new Uint8ClampedArray(values.length * 4),
): Uint8ClampedArray {
  const last = table.length / 3 - 1;
  const scale = high > low ? last / (high - low) : 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? NaN;
    const p = i * 4;
    if (!Number.isFinite(v)) {
      out[p] = 0;
      out[p + 1] = 0;
      out[p + 2] = 0;
      out[p + 3] = 0;
      continue;
    }
    const index = Math.max(0, Math.min(last, Math.round((v - low) * scale))) * 3;
    out[p] = table[index] ?? 0;
    out[p + 1] = table[index + 1] ?? 0;
    out[p + 2] = table[index + 2] ?? 0;
    out[p + 3] = 255;
  }
  return out;
}
