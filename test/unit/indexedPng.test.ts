// The screenshot's indexed PNG (test/launch/indexedPng.ts), read back by pngjs, a decoder that
// is not ours: pictures of at most 256 colours come back exactly; beyond that the most frequent
// 256 stay exact and each rarer colour becomes its nearest.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PNG } from 'pngjs';
import { encodeIndexedPng, toIndexed, type RgbaImage } from '../launch/indexedPng';

function image(width: number, height: number, colourAt: (x: number, y: number) => number): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const rgb = colourAt(x, y);
      const at = (y * width + x) * 4;
      data.set([(rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255, 255], at);
    }
  return { width, height, data };
}

function decoded(png: Buffer): RgbaImage {
  const read = PNG.sync.read(png);
  return { width: read.width, height: read.height, data: new Uint8Array(read.data) };
}

function rgb(img: RgbaImage, x: number, y: number): number {
  const at = (y * img.width + x) * 4;
  return ((img.data[at] ?? 0) << 16) | ((img.data[at + 1] ?? 0) << 8) | (img.data[at + 2] ?? 0);
}

test('a picture of at most 256 colours comes back pixel for pixel, as an 8-bit indexed PNG', () => {
  // 256 colours (a ramp like a colour map) over 37 x 23 pixels: odd sizes, every palette entry used.
  const original = image(37, 23, (x, y) => {
    const i = (x * 23 + y) % 256;
    return (i << 16) | ((255 - i) << 8) | ((i * 7) & 255);
  });
  const indexed = toIndexed(original);
  assert.equal(indexed.palette.length, 256);
  assert.equal(indexed.approximated, 0);
  const png = encodeIndexedPng(original.width, original.height, indexed);
  assert.equal(png[25], 3, 'IHDR colour type 3: indexed');
  assert.equal(png[24], 8, 'eight bits an index');
  assert.deepEqual(decoded(png), original);
});

test('beyond 256 colours the most frequent stay exact and each rare one becomes its nearest', () => {
  // 256 greys, four of each; row 3 holds 44 rare shades once each, each one step of blue from a grey.
  const frequent = (x: number): number => (x << 16) | (x << 8) | x;
  const original = image(256, 5, (x, y) => (y === 3 && x < 44 ? frequent(x) + 1 : frequent(x)));
  const indexed = toIndexed(original);
  assert.equal(indexed.approximated, 44);
  const back = decoded(encodeIndexedPng(original.width, original.height, indexed));
  for (let x = 0; x < 256; x++) {
    assert.equal(rgb(back, x, 0), frequent(x), `frequent colour ${x} is exact`);
    const rare = rgb(back, x, 3);
    const wanted = rgb(original, x, 3);
    const off = Math.abs(((rare >> 8) & 255) - ((wanted >> 8) & 255)) + Math.abs((rare & 255) - (wanted & 255));
    assert.ok(off <= 2, `rare shade at ${x} drawn as a neighbour (${rare.toString(16)} for ${wanted.toString(16)})`);
  }
});

test('an image whose bytes do not match its size is refused, saying both', () => {
  assert.throws(() => toIndexed({ width: 4, height: 4, data: new Uint8Array(10) }), /4 x 4 but holds 10 bytes, not 64/);
});
