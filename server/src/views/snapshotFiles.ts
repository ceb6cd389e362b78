// A view at one step, as a file: PNG (the picture, encoded by pngjs) or CSV (the numbers, each
// with the step it was read at). `ringkernel run --snapshot VIEW@STEP=FILE` writes these.
import { PNG } from 'pngjs';
import type { StateView } from '../manifest/views';
import { renderView, type RgbaImage } from './snapshotImage';

export type SnapshotFormat = 'png' | 'csv';

export function snapshotFormat(file: string): SnapshotFormat | undefined {
  const lower = file.toLowerCase();
  return lower.endsWith('.png') ? 'png' : lower.endsWith('.csv') ? 'csv' : undefined;
}

export function encodePng(image: RgbaImage): Buffer {
  const png = new PNG({ width: image.width, height: image.height });
  png.data = Buffer.from(image.rgba.buffer, image.rgba.byteOffset, image.rgba.byteLength);
  return PNG.sync.write(png);
}

/** Decodes a PNG back to pixels (the tests compare a snapshot with the state). */
export function decodePng(bytes: Uint8Array): RgbaImage {
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return {
    width: png.width,
    height: png.height,
    rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength),
  };
}

/** Numbers as they read back exactly: integers as they are, f32 values with the digits that round-trip. */
function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  return String(value);
}

/**
 * One line per element: `step,index,value`, or `step,row,column,value` for a view with a shape,
 * after a header line naming the columns.
 */
export function encodeCsv(view: StateView, step: number, values: ArrayLike<number>): string {
  const lines: string[] = [];
  if (view.shape) {
    const columns = view.shape[1];
    lines.push('step,row,column,value');
    for (let i = 0; i < values.length; i++)
      lines.push(`${step},${Math.floor(i / columns)},${i % columns},${formatNumber(values[i] ?? NaN)}`);
  } else {
    lines.push('step,index,value');
    for (let i = 0; i < values.length; i++) lines.push(`${step},${i},${formatNumber(values[i] ?? NaN)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The file's bytes for `view`'s values at `step`, in the format its name asks for. */
export function snapshotBytes(
  format: SnapshotFormat,
  view: StateView,
  step: number,
  values: ArrayLike<number>,
): Uint8Array {
  return format === 'png' ? encodePng(renderView(view, values)) : Buffer.from(encodeCsv(view, step, values), 'utf8');
}
