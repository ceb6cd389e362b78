// A view's bytes as numbers: its 32-bit little-endian words read as the view's type. Pure, shared
// by the snapshots the command line writes (PNG and CSV).
import type { StateView, StateViewType } from '../manifest/views';

/** The bytes a view covers in the state. */
export function viewRange(view: Pick<StateView, 'offset' | 'count'>): { offset: number; length: number } {
  return { offset: view.offset, length: view.count * 4 };
}

/** `bytes` (exactly the view's range) as numbers of `type`. */
export function viewNumbers(type: StateViewType, bytes: Uint8Array): Float64Array {
  if (bytes.byteLength % 4 !== 0)
    throw new Error(`a view's bytes must be whole 32-bit words (got ${bytes.byteLength} bytes)`);
  const words = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const numbers = new Float64Array(bytes.byteLength / 4);
  for (let i = 0; i < numbers.length; i++) {
    numbers[i] =
      type === 'f32'
        ? words.getFloat32(i * 4, true)
        : type === 'u32'
          ? words.getUint32(i * 4, true)
          : words.getInt32(i * 4, true);
  }
  return numbers;
}

/** The smallest and largest finite value; [0, 1] when there is none, and a span of 1 around a constant. */
export function finiteExtent(values: ArrayLike<number>): [number, number] {
  let low = Infinity;
  let high = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? NaN;
    if (!Number.isFinite(v)) continue;
    if (v < low) low = v;
    if (v > high) high = v;
  }
  if (low > high) return [0, 1];
  if (low === high) return [low - 0.5, high + 0.5];
  return [low, high];
}
