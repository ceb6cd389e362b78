// Byte ranges of a kernel's state: what the open views need, merged so overlapping or touching
// views cost one read, and sliced back out of what was read. Offsets and lengths are multiples of
// 4: the state is 32-bit words, and WebGPU copies only 4-byte-aligned ranges.

export interface ByteRange {
  offset: number;
  length: number;
}

/** Bytes read for one range. */
export interface RangeBytes {
  offset: number;
  bytes: Uint8Array;
}

/** Why a range cannot be read, or undefined when it is fine. `stateBytes` bounds it when given. */
export function rangeProblem(range: ByteRange, stateBytes?: number): string | undefined {
  const { offset, length } = range;
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length <= 0) {
    return `the range at ${String(offset)} of ${String(length)} bytes is not a non-negative offset with a positive length`;
  }
  if (offset % 4 !== 0 || length % 4 !== 0)
    return `the range at ${offset} of ${length} bytes is not made of whole 32-bit words (both must be multiples of 4)`;
  if (stateBytes !== undefined && offset + length > stateBytes)
    return `the range at ${offset} of ${length} bytes ends at ${offset + length}, past the state's ${stateBytes} bytes`;
  return undefined;
}

/** Sorted, with overlapping and touching ranges joined. */
export function mergeRanges(ranges: readonly ByteRange[]): ByteRange[] {
  const sorted = [...ranges].sort((a, b) => a.offset - b.offset || b.length - a.length);
  const merged: ByteRange[] = [];
  for (const range of sorted) {
    const last = merged.at(-1);
    if (last !== undefined && range.offset <= last.offset + last.length) {
      last.length = Math.max(last.length, range.offset + range.length - last.offset);
    } else {
      merged.push({ offset: range.offset, length: range.length });
    }
  }
  return merged;
}

export function totalLength(ranges: readonly ByteRange[]): number {
  return ranges.reduce((sum, range) => sum + range.length, 0);
}

/**
 * The bytes of `wanted` cut out of what was read (views, not copies), or undefined when `read`
 * does not hold all of it (the ranges read were for other views).
 */
export function sliceRange(read: readonly RangeBytes[], wanted: ByteRange): Uint8Array | undefined {
  for (const piece of read) {
    const start = wanted.offset - piece.offset;
    if (start >= 0 && start + wanted.length <= piece.bytes.byteLength)
      return piece.bytes.subarray(start, start + wanted.length);
  }
  return undefined;
}
