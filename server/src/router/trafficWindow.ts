// What one flow of messages (a kernel pair, a device pair) did lately: messages and bytes per
// second over a sliding window of time buckets, and the latencies of its latest deliveries. Adding
// is O(1) and allocation-free; percentiles are computed only when a snapshot asks.

export interface Percentiles {
  p50: number;
  p99: number;
  /** Deliveries the percentiles are over (the latest ones, at most LATENCY_SAMPLES). */
  samples: number;
}

/** Latencies kept per flow for its percentiles. */
export const LATENCY_SAMPLES = 512;

export class TrafficWindow {
  private readonly messages: Float64Array;
  private readonly bytes: Float64Array;
  /** The bucket number (time / bucketMs) of the newest bucket written. */
  private newest = -1;
  private readonly stepLatency = new Float64Array(LATENCY_SAMPLES);
  private readonly msLatency = new Float64Array(LATENCY_SAMPLES);
  private latencyCount = 0;
  /** Lifetime totals. */
  totalMessages = 0;
  totalBytes = 0;

  constructor(
    private readonly bucketMs: number,
    buckets: number,
  ) {
    this.messages = new Float64Array(buckets);
    this.bytes = new Float64Array(buckets);
  }

  get windowMs(): number {
    return this.bucketMs * this.messages.length;
  }

  /** Counts one delivery at time `nowMs` with its latencies. */
  record(nowMs: number, bytes: number, latencySteps: number, latencyMs: number): void {
    this.recordMany(nowMs, 1, bytes, latencySteps, latencyMs);
  }

  /** Counts `count` deliveries of `bytes` in all at time `nowMs`, each with the same latencies (one run of an inbox). */
  recordMany(nowMs: number, count: number, bytes: number, latencySteps: number, latencyMs: number): void {
    const slot = this.advance(nowMs);
    this.messages[slot] = (this.messages[slot] ?? 0) + count;
    this.bytes[slot] = (this.bytes[slot] ?? 0) + bytes;
    this.totalMessages += count;
    this.totalBytes += bytes;
    // Only the latest LATENCY_SAMPLES deliveries are kept: a longer run writes that many.
    for (let k = Math.max(0, count - LATENCY_SAMPLES); k < count; k++) {
      const at = this.latencyCount++ % LATENCY_SAMPLES;
      this.stepLatency[at] = latencySteps;
      this.msLatency[at] = latencyMs;
    }
    this.latencyCount += Math.max(0, count - LATENCY_SAMPLES);
  }

  /** Messages and bytes per second over the window ending at `nowMs` (the current bucket counts in full). */
  rates(nowMs: number): { messagesPerSecond: number; bytesPerSecond: number } {
    this.advance(nowMs);
    let messages = 0;
    let bytes = 0;
    for (let i = 0; i < this.messages.length; i++) {
      messages += this.messages[i] ?? 0;
      bytes += this.bytes[i] ?? 0;
    }
    const seconds = this.windowMs / 1000;
    return { messagesPerSecond: messages / seconds, bytesPerSecond: bytes / seconds };
  }

  latencySteps(): Percentiles {
    return percentiles(this.stepLatency, Math.min(this.latencyCount, LATENCY_SAMPLES));
  }

  latencyMs(): Percentiles {
    return percentiles(this.msLatency, Math.min(this.latencyCount, LATENCY_SAMPLES));
  }

  /** Moves the window to `nowMs`, clearing buckets that fell out of it; returns the current bucket's slot. */
  private advance(nowMs: number): number {
    const bucket = Math.floor(nowMs / this.bucketMs);
    const size = this.messages.length;
    if (bucket > this.newest) {
      const stale = Math.min(size, this.newest < 0 ? size : bucket - this.newest);
      for (let i = 1; i <= stale; i++) {
        const slot = (((bucket - stale + i) % size) + size) % size;
        this.messages[slot] = 0;
        this.bytes[slot] = 0;
      }
      this.newest = bucket;
    }
    // A clock that steps back (it should not) counts into the newest bucket rather than a stale one.
    return this.newest % size;
  }
}

/** Nearest-rank percentiles of the first `count` values. */
export function percentiles(values: Float64Array, count: number): Percentiles {
  if (count === 0) return { p50: 0, p99: 0, samples: 0 };
  const sorted = values.slice(0, count).sort();
  const rank = (p: number): number => sorted[Math.max(0, Math.ceil(p * count) - 1)] ?? 0;
  return { p50: rank(0.5), p99: rank(0.99), samples: count };
}
