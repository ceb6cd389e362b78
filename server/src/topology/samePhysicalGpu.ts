// Recognising one physical GPU seen through two backends (CUDA and Dawn's Vulkan adapter for the
// same H100). Evidence, strongest first: the same UUID (Vulkan's deviceUUID is CUDA's UUID on
// NVIDIA), the same PCI bus id, the same PCI vendor:device id, the same name. The two weaker kinds
// only count when they single out one device on each side: two H100s through CUDA and one "NVIDIA
// H100" adapter through Dawn could be either, and saying which would be a guess.
import { normalizePciBusId, normalizeUuid, type DeviceProbe, type DeviceKey } from '../probe/probeRecords';
import type { SameGpuMethod } from './interconnect';

export interface SameGpuMatch {
  a: DeviceKey;
  b: DeviceKey;
  method: SameGpuMethod;
}

export interface SameGpuResult {
  matches: SameGpuMatch[];
  /** Ambiguities and other things the UI should say. */
  notes: string[];
}

/** A software rasteriser (lavapipe, llvmpipe, SwiftShader, WARP): a CPU, never a GPU's twin. */
export function isSoftwareAdapter(device: DeviceProbe): boolean {
  if (device.adapterType === 'cpu') return true;
  return /\b(llvmpipe|lavapipe|swiftshader|softpipe|microsoft basic render|warp)\b/i.test(
    `${device.name} ${device.vendor ?? ''}`,
  );
}

/** Names compared without case, vendor prefix, punctuation and repeated spaces. */
function normalName(name: string): string {
  return name
    .toLowerCase()
    .replace(/\b(nvidia|amd|intel|corporation|corp\.?)\b/g, ' ')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

function pciIdOf(device: DeviceProbe): string | undefined {
  if (device.pciVendorId === undefined || device.pciDeviceId === undefined) return undefined;
  return `${device.pciVendorId.toString(16).padStart(4, '0')}:${device.pciDeviceId.toString(16).padStart(4, '0')}`;
}

/** Pairs devices of different backends that are the same physical GPU. Each device joins at most one pair per other backend. */
export function findSamePhysicalGpus(devices: readonly DeviceProbe[]): SameGpuResult {
  const matches: SameGpuMatch[] = [];
  const notes: string[] = [];
  const hardware = devices.filter((d) => !isSoftwareAdapter(d));
  const backends = [...new Set(hardware.map((d) => d.backend))].sort();
  for (let i = 0; i < backends.length; i++) {
    for (let j = i + 1; j < backends.length; j++) {
      const left = hardware.filter((d) => d.backend === backends[i]);
      const right = hardware.filter((d) => d.backend === backends[j]);
      matchBackends(left, right, matches, notes);
    }
  }
  return { matches, notes };
}

type Identity = (device: DeviceProbe) => string | undefined;

const STRONG: readonly [SameGpuMethod, Identity][] = [
  ['uuid', (d) => (d.uuid === undefined ? undefined : normalizeUuid(d.uuid))],
  ['pciBusId', (d) => (d.pciBusId === undefined ? undefined : normalizePciBusId(d.pciBusId))],
];
const WEAK: readonly [SameGpuMethod, Identity][] = [
  ['pciDeviceId', pciIdOf],
  ['name', (d) => normalName(d.name) || undefined],
];

function matchBackends(left: DeviceProbe[], right: DeviceProbe[], matches: SameGpuMatch[], notes: string[]): void {
  const taken = new Set<DeviceKey>();
  const free = (list: DeviceProbe[]): DeviceProbe[] => list.filter((d) => !taken.has(d.key));
  const take = (a: DeviceProbe, b: DeviceProbe, method: SameGpuMethod): void => {
    matches.push({ a: a.key, b: b.key, method });
    taken.add(a.key);
    taken.add(b.key);
  };
  for (const [method, identity] of STRONG) {
    for (const a of free(left)) {
      const id = identity(a);
      if (id === undefined) continue;
      const b = free(right).find((candidate) => identity(candidate) === id);
      if (b) take(a, b, method);
    }
  }
  for (const [method, identity] of WEAK) {
    const unmatchedLeft = free(left);
    const unmatchedRight = free(right);
    for (const a of unmatchedLeft) {
      if (taken.has(a.key)) continue;
      const id = identity(a);
      if (id === undefined) continue;
      const sameLeft = unmatchedLeft.filter((d) => !taken.has(d.key) && identity(d) === id);
      const sameRight = unmatchedRight.filter((d) => !taken.has(d.key) && identity(d) === id);
      const [only] = sameRight;
      if (sameLeft.length === 1 && sameRight.length === 1 && only) take(a, only, method);
      else if (sameRight.length > 0 && method === 'name') {
        notes.push(
          `${sameRight.map((d) => d.key).join(', ')} may be the same GPU as one of ${sameLeft.map((d) => d.key).join(', ')} ` +
            `("${a.name}"), but no UUID or PCI bus id says which; they are shown as separate devices`,
        );
        for (const d of [...sameLeft, ...sameRight]) taken.add(d.key);
      }
    }
  }
}
