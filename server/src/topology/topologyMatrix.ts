// The topology as text, in the shape of `nvidia-smi topo -m`: a matrix of link words with the NUMA
// node and physical GPU of each device, then the bandwidth of each link, a legend and the notes.
import type { GpuTopology } from './gpuTopology';
import { matrixWord } from './interconnect';

function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 2)))
        .join('')
        .trimEnd(),
    )
    .join('\n');
}

function formatGBps(value: number): string {
  if (!Number.isFinite(value)) return '-';
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

export function topologyMatrixText(topology: GpuTopology): string {
  const keys = topology.devices.map((d) => d.key);
  if (keys.length === 0) return ['No devices.', ...topology.notes.map((n) => `Note: ${n}`)].join('\n');

  const words: string[][] = [['', ...keys, 'NUMA Affinity', 'GPU']];
  const bandwidth: string[][] = [['GB/s', ...keys]];
  for (const device of topology.devices) {
    const wordRow = [device.key];
    const bandwidthRow = [device.key];
    for (const other of keys) {
      const link = topology.link(device.key, other);
      wordRow.push(link ? matrixWord(link.interconnect) : '?');
      bandwidthRow.push(
        !link || link.interconnect.kind === 'self'
          ? 'X'
          : `${formatGBps(link.bandwidthGBps)}${link.basis === 'measured' ? '*' : ''}`,
      );
    }
    wordRow.push(
      device.numaNode === undefined ? 'N/A' : String(device.numaNode),
      `${device.physicalGpu}${device.software ? ' (software)' : ''}`,
    );
    words.push(wordRow);
    bandwidth.push(bandwidthRow);
  }

  const names = topology.devices.map((d) => `  ${d.key.padEnd(Math.max(...keys.map((k) => k.length)) + 2)}${d.name}`);
  const lines = [
    table(words),
    '',
    'Bandwidth per direction, row to column, GB/s (* measured, otherwise estimated):',
    table(bandwidth),
    '',
    'Devices:',
    ...names,
    '',
    'Legend:',
    '  X    = Self',
    '  SYS  = PCIe peer-to-peer across the SMP interconnect between NUMA nodes (e.g. QPI/UPI)',
    '  NODE = PCIe peer-to-peer across the interconnect between PCIe host bridges within a NUMA node',
    '  PHB  = PCIe peer-to-peer through a PCIe host bridge (typically the CPU)',
    '  PXB  = PCIe peer-to-peer through multiple PCIe bridges (without the host bridge)',
    '  PIX  = PCIe peer-to-peer through at most a single PCIe bridge',
    '  NV#  = a bonded set of # NVLinks, direct or through NVSwitch',
    '  HOST = no peer access: copies are staged through system memory',
    '  SAME = the same physical GPU through another backend (copies staged through system memory)',
  ];
  const bisection = topology.bisectionBandwidth();
  if (topology.physicalRepresentatives().length >= 2) {
    lines.push(
      '',
      `Bisection (peer links): ${formatGBps(bisection.bandwidthGBps)} GB/s per direction between ` +
        `{${bisection.halves[0].join(', ')}} and {${bisection.halves[1].join(', ')}}${bisection.exact ? '' : ' (approximate)'}` +
        `${bisection.bandwidthGBps === 0 ? ' (no peer route between these halves: their traffic goes through system memory)' : ''}; ` +
        `fully connected: ${topology.isFullyConnected() ? 'yes' : 'no'}`,
    );
  }
  if (topology.notes.length > 0) lines.push('', 'Notes:', ...topology.notes.map((n) => `  - ${n}`));
  return lines.join('\n');
}
