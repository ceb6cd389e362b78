// The router panel's time series: one point per stats message (at most 4 a second), the last
// 600 kept (2.5 minutes at full rate), saved with setState so a hidden or reloaded panel keeps
// its history. A pause longer than GAP_SECONDS (the panel was hidden, nothing was sent) breaks
// the lines instead of drawing a straight one across it. No DOM: unit-tested in Node.

export const MAX_POINTS = 600;
export const GAP_SECONDS = 5;

export interface RouterSeries {
  /** Seconds since the epoch. */
  t: number[];
  messages: (number | null)[];
  bytes: (number | null)[];
  p50: (number | null)[];
  p99: (number | null)[];
}

/** What one point needs from a RouterStats. */
export interface StatsPoint {
  at: number;
  totals: { messagesPerSecond: number; bytesPerSecond: number; latency: { p50Us: number; p99Us: number } | null };
}

export function emptySeries(): RouterSeries {
  return { t: [], messages: [], bytes: [], p50: [], p99: [] };
}

function push(
  series: RouterSeries,
  t: number,
  messages: number | null,
  bytes: number | null,
  p50: number | null,
  p99: number | null,
): void {
  series.t.push(t);
  series.messages.push(messages);
  series.bytes.push(bytes);
  series.p50.push(p50);
  series.p99.push(p99);
}

/** A new series with `stats` appended (a repeated or older time replaces nothing and is skipped). */
export function appendStats(series: RouterSeries, stats: StatsPoint): RouterSeries {
  const t = stats.at / 1000;
  const last = series.t.at(-1);
  if (last !== undefined && t <= last) return series;
  const next: RouterSeries = {
    t: [...series.t],
    messages: [...series.messages],
    bytes: [...series.bytes],
    p50: [...series.p50],
    p99: [...series.p99],
  };
  if (last !== undefined && t - last > GAP_SECONDS) push(next, last + GAP_SECONDS / 2, null, null, null, null);
  const { totals } = stats;
  push(
    next,
    t,
    totals.messagesPerSecond,
    totals.bytesPerSecond,
    totals.latency?.p50Us ?? null,
    totals.latency?.p99Us ?? null,
  );
  const extra = next.t.length - MAX_POINTS;
  if (extra > 0) for (const key of ['t', 'messages', 'bytes', 'p50', 'p99'] as const) next[key].splice(0, extra);
  return next;
}

/** A saved series if it is one (same lengths, numbers or nulls), else an empty one. */
export function restoreSeries(saved: unknown): RouterSeries {
  if (typeof saved !== 'object' || saved === null) return emptySeries();
  const s = saved as Record<string, unknown>;
  const t = s['t'];
  if (!Array.isArray(t) || !t.every((v) => typeof v === 'number')) return emptySeries();
  const column = (key: string): (number | null)[] | undefined => {
    const values = s[key];
    return Array.isArray(values) &&
      values.length === t.length &&
      values.every((v) => v === null || typeof v === 'number')
      ? (values as (number | null)[])
      : undefined;
  };
  const messages = column('messages');
  const bytes = column('bytes');
  const p50 = column('p50');
  const p99 = column('p99');
  if (!messages || !bytes || !p50 || !p99) return emptySeries();
  return { t, messages, bytes, p50, p99 };
}
