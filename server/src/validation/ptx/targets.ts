// PTX targets and the PTX ISA version each first appeared in (from the PTX ISA release notes),
// and how a target relates to a device's compute capability.

/** Minimum `.version` (major*10+minor) for each `.target` architecture. */
const MIN_PTX_VERSION: Record<string, number> = {
  sm_10: 10,
  sm_11: 10,
  sm_12: 12,
  sm_13: 12,
  sm_20: 20,
  sm_21: 20,
  sm_30: 30,
  sm_32: 40,
  sm_35: 31,
  sm_37: 41,
  sm_50: 40,
  sm_52: 41,
  sm_53: 42,
  sm_60: 50,
  sm_61: 50,
  sm_62: 50,
  sm_70: 60,
  sm_72: 61,
  sm_75: 63,
  sm_80: 70,
  sm_86: 71,
  sm_87: 74,
  sm_88: 90,
  sm_89: 78,
  sm_90: 78,
  sm_90a: 80,
  sm_100: 86,
  sm_100a: 86,
  sm_100f: 88,
  sm_101: 86,
  sm_101a: 86,
  sm_101f: 88, // renamed sm_110 in PTX ISA 9.0
  sm_103: 88,
  sm_103a: 88,
  sm_103f: 88,
  sm_110: 90,
  sm_110a: 90,
  sm_110f: 90,
  sm_120: 87,
  sm_120a: 87,
  sm_120f: 88,
  sm_121: 88,
  sm_121a: 88,
  sm_121f: 88,
};

/** `.target` words that are options, not architectures. */
export const TARGET_OPTIONS: ReadonlySet<string> = new Set([
  'texmode_unified',
  'texmode_independent',
  'debug',
  'map_f64_to_f32',
]);

export interface ParsedArch {
  /** `sm_90a` (a `compute_XY` target is normalised to `sm_XY`). */
  name: string;
  /** Compute capability as major*10+minor: 90 for sm_90, 100 for sm_100. */
  capability: number;
  suffix: '' | 'a' | 'f';
}

export function parseArch(word: string): ParsedArch | undefined {
  const match = /^(?:sm|compute)_(\d{2,3})([af]?)$/.exec(word);
  if (!match) return undefined;
  const capability = Number(match[1]);
  const suffix = (match[2] ?? '') as ParsedArch['suffix'];
  return { name: `sm_${match[1]}${suffix}`, capability, suffix };
}

/** The minimum PTX ISA version (major*10+minor) for an architecture; undefined if we do not know it. */
export function minimumPtxVersion(arch: ParsedArch): number | undefined {
  return MIN_PTX_VERSION[arch.name];
}

export const formatVersion = (v: number): string => `${Math.floor(v / 10)}.${v % 10}`;

/** `9.0` → 90, `8.7` → 87; undefined when it is not `major.minor`. */
export function parseVersion(text: string): number | undefined {
  const match = /^(\d+)\.(\d)$/.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * 10 + Number(match[2]);
}

/** A device's compute capability as 90 from `9.0`, `sm_90`, `[9, 0]` or 90. */
export function capabilityOf(value: string | number | readonly [number, number]): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (Array.isArray(value)) {
    const [major, minor] = value as readonly [number, number];
    return major * 10 + minor;
  }
  const text = String(value);
  const dotted = /^(\d+)\.(\d)$/.exec(text);
  if (dotted) return Number(dotted[1]) * 10 + Number(dotted[2]);
  return parseArch(text.replace(/[af]$/, ''))?.capability;
}

/**
 * Whether code for `arch` can run on a device of capability `device`: base targets run on every
 * newer device; `a` targets only on exactly that capability; `f` targets on the same family
 * (same major version) at that capability or newer.
 */
export function archRunsOn(arch: ParsedArch, device: number): boolean {
  if (arch.suffix === 'a') return device === arch.capability;
  if (arch.suffix === 'f')
    return Math.floor(device / 10) === Math.floor(arch.capability / 10) && device >= arch.capability;
  return device >= arch.capability;
}
