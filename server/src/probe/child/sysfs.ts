// What Linux's sysfs says about a PCI device: its NUMA node and its PCIe link to the host. Read in
// the probe child (never in the server); the root is a parameter so tests can lay out a fake tree.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { normalizePciBusId } from '../probeRecords';

export const SYSFS_ROOT = '/sys';

export interface SysfsProblem {
  what: 'numa' | 'link';
  message: string;
}

export interface PciSysfsInfo {
  /** sysfs numa_node; absent when it is -1 (no NUMA, or the firmware does not say) or unreadable. */
  numaNode?: number;
  /** The link's generation and width; absent when sysfs does not say. */
  link?: { generation: number; width: number };
  /**
   * true when the link was found trained below what both ends support (NVIDIA GPUs drop to Gen1
   * while idle to save power) and the generation both ends support was used instead.
   */
  linkIdle?: boolean;
  /** What could not be read, for the probe's notes: the NUMA node or the link. */
  problems: SysfsProblem[];
}

/** GT/s per lane → PCIe generation (PCI-SIG base specifications). */
const GENERATION_BY_RATE: readonly [number, number][] = [
  [2.5, 1],
  [5, 2],
  [8, 3],
  [16, 4],
  [32, 5],
  [64, 6],
];

/** "32.0 GT/s PCIe", "8 GT/s", "2.5 GT/s" → 5, 3, 1; undefined for "Unknown" or anything else. */
export function parseLinkSpeed(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*GT\/s/i.exec(text);
  if (!match) return undefined;
  const rate = Number(match[1]);
  return GENERATION_BY_RATE.find(([gts]) => Math.abs(gts - rate) < 0.01)?.[1];
}

/** "16" → 16; "0", "x16"-less garbage or an empty file → undefined. */
export function parseLinkWidth(text: string): number | undefined {
  const match = /^\s*x?(\d+)\s*$/i.exec(text);
  if (!match) return undefined;
  const width = Number(match[1]);
  return width > 0 ? width : undefined;
}

/** "1" → 1; "-1" (unknown) or garbage → undefined. */
export function parseNumaNode(text: string): number | undefined {
  const match = /^\s*(-?\d+)\s*$/.exec(text);
  if (!match) return undefined;
  const node = Number(match[1]);
  return node >= 0 ? node : undefined;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Whether this machine (or test tree) has a PCI device folder at all. */
export function hasPciSysfs(root: string = SYSFS_ROOT): boolean {
  return existsSync(join(root, 'bus', 'pci', 'devices'));
}

/**
 * Reads `<root>/bus/pci/devices/<busId>/{numa_node,current_link_speed,current_link_width}`. When the
 * current speed is below the device's max_link_speed and its upstream port's (the folder above in
 * the real device tree), the link is idling; the speed both ends support is what a transfer gets.
 */
export function readPciSysfs(busId: string, root: string = SYSFS_ROOT): PciSysfsInfo {
  const problems: SysfsProblem[] = [];
  const normal = normalizePciBusId(busId);
  if (normal === undefined) return { problems: [{ what: 'numa', message: `"${busId}" is not a PCI bus id` }] };
  const folder = join(root, 'bus', 'pci', 'devices', normal);
  if (!existsSync(folder))
    return {
      problems: [
        { what: 'numa', message: `${folder} does not exist` },
        { what: 'link', message: `${folder} does not exist` },
      ],
    };
  const info: PciSysfsInfo = { problems };

  const numaText = readText(join(folder, 'numa_node'));
  if (numaText === undefined) problems.push({ what: 'numa', message: `${normal}: numa_node is unreadable` });
  else {
    const node = parseNumaNode(numaText);
    if (node !== undefined) info.numaNode = node;
  }

  const speedText = readText(join(folder, 'current_link_speed'));
  const widthText = readText(join(folder, 'current_link_width'));
  let generation = speedText === undefined ? undefined : parseLinkSpeed(speedText);
  const width = widthText === undefined ? undefined : parseLinkWidth(widthText);
  if (generation === undefined || width === undefined) {
    problems.push({
      what: 'link',
      message: `${normal}: the PCIe link is not reported (current_link_speed ${JSON.stringify(speedText?.trim() ?? null)}, current_link_width ${JSON.stringify(widthText?.trim() ?? null)})`,
    });
    return info;
  }
  const deviceMax = parseLinkSpeed(readText(join(folder, 'max_link_speed')) ?? '');
  const upstreamMax = upstreamMaxSpeed(folder);
  if (deviceMax !== undefined && upstreamMax !== undefined) {
    const trainable = Math.min(deviceMax, upstreamMax);
    if (generation < trainable) {
      generation = trainable;
      info.linkIdle = true;
    }
  }
  info.link = { generation, width };
  return info;
}

/** max_link_speed of the PCIe port above the device (the parent folder of its real path), when it is a PCI device too. */
function upstreamMaxSpeed(folder: string): number | undefined {
  let real: string;
  try {
    real = realpathSync(folder);
  } catch {
    return undefined;
  }
  const parent = dirname(real);
  if (normalizePciBusId(basename(parent)) === undefined) return undefined;
  return parseLinkSpeed(readText(join(parent, 'max_link_speed')) ?? '');
}
