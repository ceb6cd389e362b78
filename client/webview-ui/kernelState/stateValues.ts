// A frame's bytes as the numbers a view shows. Regions arrive base64-encoded; a view's elements
// are found in whichever region holds them. The state is little-endian 32-bit words, as every
// platform VS Code runs on is; a typed array over the bytes reads them as they are. No DOM:
// unit-tested in Node.
import type { WireStateRegion, WireStateViewType } from '../../../server/src/lsp/protocol';

export interface DecodedRegion {
  offset: number;
  bytes: Uint8Array;
}

export type ViewValues = Float32Array | Uint32Array | Int32Array;

export function base64ToBytes(base64: string): Uint8Array {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function decodeRegions(regions: readonly WireStateRegion[]): DecodedRegion[] {
  return regions.map((r) => ({ offset: r.offset, bytes: base64ToBytes(r.base64) }));
}

/** The `count` elements of `type` at byte `offset`, or undefined when no region holds all of them. */
export function viewValues(
  regions: readonly DecodedRegion[],
  view: { type: WireStateViewType; offset: number; count: number },
): ViewValues | undefined {
  const length = view.count * 4;
  for (const region of regions) {
    const start = view.offset - region.offset;
    if (start < 0 || start + length > region.bytes.byteLength) continue;
    let bytes = region.bytes.subarray(start, start + length);
    // A typed array needs a 4-byte-aligned start; a fresh copy has one.
    if (bytes.byteOffset % 4 !== 0) bytes = bytes.slice();
    switch (view.type) {
      case 'f32':
        return new Float32Array(bytes.buffer, bytes.byteOffset, view.count);
      case 'u32':
        return new Uint32Array(bytes.buffer, bytes.byteOffset, view.count);
      case 'i32':
        return new Int32Array(bytes.buffer, bytes.byteOffset, view.count);
    }
  }
  return undefined;
}

/** The first `n` values, as plain numbers (the test hook's summary). */
export function firstValues(values: ViewValues | undefined, n = 4): number[] {
  return values === undefined ? [] : Array.from(values.subarray(0, n));
}
