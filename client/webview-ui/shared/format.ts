// Numbers as the webviews show them. No DOM: unit-tested in Node.

/** 1204 → "1,204". */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A rate with a unit and SI prefix: 1234.5 → "1.23 k/s". */
export function formatRate(value: number, unit = ''): string {
  if (!Number.isFinite(value)) return '–';
  const prefixes = ['', 'k', 'M', 'G', 'T'];
  let v = Math.abs(value);
  let p = 0;
  while (v >= 1000 && p < prefixes.length - 1) {
    v /= 1000;
    p++;
  }
  const digits = v >= 100 || (p === 0 && Number.isInteger(v)) ? 0 : v >= 10 ? 1 : 2;
  return `${value < 0 ? '-' : ''}${v.toFixed(digits)} ${prefixes[p] ?? ''}${unit}/s`;
}

export function formatBytesPerSecond(value: number): string {
  return formatRate(value, 'B');
}

/** Microseconds: 850 → "850 µs", 12500 → "12.5 ms". */
export function formatMicros(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  if (value >= 1_000_000) return `${(value / 1_000_000).toFixed(2)} s`;
  if (value >= 1000) return `${(value / 1000).toFixed(value >= 100_000 ? 0 : 1)} ms`;
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} µs`;
}

/** A state value: integers as they are, floats to 6 significant digits. */
export function formatValue(value: number): string {
  if (Number.isInteger(value)) return String(value);
  if (!Number.isFinite(value)) return String(value);
  return Number(value.toPrecision(6)).toString();
}
