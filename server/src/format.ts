// Numbers as people read them in log lines and messages. A leaf: imports nothing.

/** 1536 -> "1.5 KiB"; below 1 KiB the exact count in bytes. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit] ?? ''}`;
}
