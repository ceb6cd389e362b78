// Whether a process's memory grew during the soak: a least-squares line through its RSS samples
// after the warm-up. A short run cannot tell a slow leak from the heap settling, so growth counts
// only when both the slope and the growth that slope makes over the measured span pass their
// bounds: on a short run the span bound decides, on a 30-minute run the slope does. A process
// measured for less than `minSpanMinutes` after the warm-up is not judged at all: the Tint host,
// for one, climbs from about 110 to 205 MiB over its first ten large files and then stays flat
// (measured: 570 validations of a 4,000-line file in 5 minutes, 201-214 MiB after the tenth).

export interface MemorySample {
  /** Milliseconds since the soak started. */
  atMs: number;
  rssMiB: number;
}

export interface MemoryBound {
  /** Growth slower than this is not growth, however long the run (MiB per minute). */
  maxSlopeMiBPerMinute: number;
  /** Growth over the measured span (slope × span) smaller than this is noise (MiB). */
  noiseMiB: number;
  /** Fewer minutes of samples after the warm-up than this: reported, not judged. */
  minSpanMinutes: number;
}

export const DEFAULT_MEMORY_BOUND: MemoryBound = { maxSlopeMiBPerMinute: 4, noiseMiB: 32, minSpanMinutes: 3 };

export interface MemoryTrend {
  samples: number;
  /** Minutes between the first and the last sample counted. */
  spanMinutes: number;
  minMiB: number;
  maxMiB: number;
  firstMiB: number;
  lastMiB: number;
  /** The least-squares slope, MiB per minute (0 with fewer than two samples or no span). */
  slopeMiBPerMinute: number;
  /** slope × span: what the line says the process gained over the span. */
  fittedGrowthMiB: number;
  /** False when the span is shorter than the bound's minSpanMinutes: `grew` is then false. */
  judged: boolean;
  grew: boolean;
}

/** The trend of the samples taken at or after `fromMs`; undefined when none was. */
export function memoryTrend(
  samples: readonly MemorySample[],
  fromMs: number,
  bound: MemoryBound,
): MemoryTrend | undefined {
  const counted = samples.filter((s) => s.atMs >= fromMs);
  const first = counted[0];
  const last = counted.at(-1);
  if (!first || !last) return undefined;
  const minutes = counted.map((s) => s.atMs / 60_000);
  const meanX = minutes.reduce((a, b) => a + b, 0) / counted.length;
  const meanY = counted.reduce((a, s) => a + s.rssMiB, 0) / counted.length;
  let sxx = 0;
  let sxy = 0;
  counted.forEach((s, i) => {
    const dx = (minutes[i] ?? 0) - meanX;
    sxx += dx * dx;
    sxy += dx * (s.rssMiB - meanY);
  });
  const slope = sxx > 0 ? sxy / sxx : 0;
  const spanMinutes = (last.atMs - first.atMs) / 60_000;
  const fittedGrowthMiB = slope * spanMinutes;
  const rss = counted.map((s) => s.rssMiB);
  const judged = spanMinutes >= bound.minSpanMinutes;
  return {
    samples: counted.length,
    spanMinutes,
    minMiB: Math.min(...rss),
    maxMiB: Math.max(...rss),
    firstMiB: first.rssMiB,
    lastMiB: last.rssMiB,
    slopeMiBPerMinute: slope,
    fittedGrowthMiB,
    judged,
    grew: judged && slope > bound.maxSlopeMiBPerMinute && fittedGrowthMiB > bound.noiseMiB,
  };
}
