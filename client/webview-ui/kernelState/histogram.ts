// Values counted into equal bins for the histogram plot. No DOM: unit-tested in Node.

export const HISTOGRAM_BINS = 64;

export interface Histogram {
  /** The centre of each bin (the x of its bar). */
  centers: Float64Array;
  counts: Float64Array;
  low: number;
  high: number;
  /** Values outside a fixed range, and NaN or infinite values: counted, not drawn. */
  outside: number;
  nonFinite: number;
}

/** The finite minimum and maximum; [0, 1] when there is no finite value; a single value v gives [v - 0.5, v + 0.5]. */
export function finiteRange(values: ArrayLike<number>): [number, number] {
  let low = Infinity;
  let high = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? NaN;
    if (!Number.isFinite(v)) continue;
    if (v < low) low = v;
    if (v > high) high = v;
  }
  if (low === Infinity) return [0, 1];
  return low === high ? [low - 0.5, high + 0.5] : [low, high];
}

export function histogram(values: ArrayLike<number>, bins = HISTOGRAM_BINS, range?: [number, number]): Histogram {
  const [low, high] = range ?? finiteRange(values);
  const counts = new Float64Array(bins);
  const width = (high - low) / bins;
  let outside = 0;
  let nonFinite = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? NaN;
    if (!Number.isFinite(v)) {
      nonFinite++;
      continue;
    }
    if (v < low || v > high) {
      outside++;
      continue;
    }
    // The top edge belongs to the last bin.
    const bin = Math.min(bins - 1, Math.floor((v - low) / width));
    counts[bin] = (counts[bin] ?? 0) + 1;
  }
  const centers = new Float64Array(bins);
  for (let b = 0; b < bins; b++) centers[b] = low + (b + 0.5) * width;
  return { centers, counts, low, high, outside, nonFinite };
}
