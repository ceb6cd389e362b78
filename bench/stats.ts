// Summaries for benchmark samples.

export interface LatencySummary {
  samples: number;
  p50Ms: number;
  p95Ms: number;
  meanMs: number;
}

export function summarize(samplesMs: number[]): LatencySummary {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  const mean = sorted.reduce((sum, x) => sum + x, 0) / Math.max(1, sorted.length);
  const round = (x: number): number => Math.round(x * 1000) / 1000;
  return { samples: sorted.length, p50Ms: round(at(0.5)), p95Ms: round(at(0.95)), meanMs: round(mean) };
}

export function gbPerSecond(bytes: number, ms: number): number {
  return Math.round((bytes / (ms / 1000) / 1e9) * 1000) / 1000;
}

/** engine / raw: 1.0 means the engine costs nothing over the raw API. */
export function ratio(engine: number, raw: number): number {
  return Math.round((engine / raw) * 100) / 100;
}

export async function timeMany(count: number, run: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  return samples;
}
