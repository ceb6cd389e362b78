// A screenshot as an indexed PNG (one byte a pixel, a palette of at most 256 colours), for the
// pictures the repository keeps. A VS Code window has few colours (the theme's, anti-aliased
// text, a heatmap's 256-entry colour map), but Chromium writes it as RGBA: 600 KB and more for
// 1280 x 800. Indexed, the same picture is a third of that. pngjs writes no palettes, so the
// encoding is here: the PNG format (RFC 2083) with Node's zlib.
import { crc32, deflateSync } from 'node:zlib';

export interface RgbaImage {
  width: number;
  height: number;
  /** RGBA, 4 bytes a pixel, row after row. */
  data: Uint8Array;
}

export interface Indexed {
  /** The palette's colours as 0xRRGGBB. */
  palette: number[];
  /** One palette index a pixel. */
  indices: Uint8Array;
  /** Colours of the image that are not in the palette (each drawn as its nearest). */
  approximated: number;
}

const rgbAt = (data: Uint8Array, pixel: number): number =>
  ((data[pixel * 4] ?? 0) << 16) | ((data[pixel * 4 + 1] ?? 0) << 8) | (data[pixel * 4 + 2] ?? 0);

function distance(a: number, b: number): number {
  const dr = ((a >> 16) & 255) - ((b >> 16) & 255);
  const dg = ((a >> 8) & 255) - ((b >> 8) & 255);
  const db = (a & 255) - (b & 255);
  // Green weighs most for the eye, blue least.
  return 3 * dr * dr + 4 * dg * dg + 2 * db * db;
}

/**
 * Maps the image to at most 256 colours: its 256 most frequent colours, exact; every other colour
 * (the rare shades of anti-aliased glyph edges) drawn as the nearest of those. Alpha is dropped:
 * a screenshot is opaque.
 */
export function toIndexed(image: RgbaImage): Indexed {
  const pixels = image.width * image.height;
  if (image.data.length !== pixels * 4)
    throw new Error(
      `the image is ${image.width} x ${image.height} but holds ${image.data.length} bytes, not ${pixels * 4}`,
    );
  const counts = new Map<number, number>();
  for (let p = 0; p < pixels; p++) {
    const rgb = rgbAt(image.data, p);
    counts.set(rgb, (counts.get(rgb) ?? 0) + 1);
  }
  const byFrequency = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([rgb]) => rgb);
  const palette = byFrequency.slice(0, 256);
  const index = new Map<number, number>(palette.map((rgb, i) => [rgb, i]));
  for (const rgb of byFrequency.slice(256)) {
    let best = 0;
    let bestDistance = Infinity;
    palette.forEach((candidate, i) => {
      const d = distance(rgb, candidate);
      if (d < bestDistance) {
        bestDistance = d;
        best = i;
      }
    });
    index.set(rgb, best);
  }
  const indices = new Uint8Array(pixels);
  for (let p = 0; p < pixels; p++) indices[p] = index.get(rgbAt(image.data, p)) ?? 0;
  return { palette, indices, approximated: Math.max(0, byFrequency.length - 256) };
}

function chunk(type: string, body: Uint8Array): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  const typeAndBody = Buffer.concat([Buffer.from(type, 'latin1'), body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndBody) >>> 0);
  return Buffer.concat([length, typeAndBody, crc]);
}

/** An 8-bit indexed PNG of `indexed` (width x height pixels). */
export function encodeIndexedPng(width: number, height: number, indexed: Indexed): Buffer {
  if (indexed.palette.length === 0 || indexed.palette.length > 256)
    throw new Error(`a PNG palette holds 1 to 256 colours, not ${indexed.palette.length}`);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bits per index
  header[9] = 3; // colour type: indexed
  // compression 0, filter method 0, no interlace: the zeros already there
  const plte = Buffer.alloc(indexed.palette.length * 3);
  indexed.palette.forEach((rgb, i) => {
    plte[i * 3] = (rgb >> 16) & 255;
    plte[i * 3 + 1] = (rgb >> 8) & 255;
    plte[i * 3 + 2] = rgb & 255;
  });
  // Each row: filter byte 0 (none; indices are not magnitudes, so the predictors do not help), then the row.
  const rows = Buffer.alloc(height * (width + 1));
  for (let y = 0; y < height; y++) rows.set(indexed.indices.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('PLTE', plte),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', new Uint8Array(0)),
  ]);
}
