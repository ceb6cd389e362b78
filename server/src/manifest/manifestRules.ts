// The manifest's rules as data: properties, defaults, limits. media/schemas/ringkernel.schema.json
// states the same rules for VS Code's JSON service; test/unit/manifest.test.ts compares the two so
// they cannot drift apart. A rule belongs to the schema only when it is in the schema file.
import type { KernelBackendChoice, KernelLanguage, KernelSpec } from './manifestTypes';

export const MANIFEST_NAME = 'ringkernel.json';
export const MANIFEST_VERSION = 1;

export const TOP_LEVEL_PROPERTIES = ['$schema', 'version', 'kernels'] as const;
export const KERNEL_PROPERTIES = [
  'id',
  'source',
  'sources',
  'entryPoint',
  'backend',
  'device',
  'stateBytes',
  'grid',
  'block',
  'inboxCapacity',
  'outboxCapacity',
  'rateHz',
  'views',
] as const;
export const REQUIRED_KERNEL_PROPERTIES = ['id', 'source', 'entryPoint', 'stateBytes'] as const;
export const BACKENDS: readonly KernelBackendChoice[] = ['auto', 'webgpu', 'cuda'];

export const KERNEL_DEFAULTS = {
  backend: 'auto',
  device: 'auto',
  grid: [1, 1, 1],
  block: [64, 1, 1],
  inboxCapacity: 16,
  outboxCapacity: 16,
  rateHz: 60,
} as const satisfies Partial<Record<(typeof KERNEL_PROPERTIES)[number], unknown>>;

/** What to write for a missing required property. */
export const REQUIRED_HINT: Record<(typeof REQUIRED_KERNEL_PROPERTIES)[number], string> = {
  id: 'a unique name such as "heat"',
  source: 'the .wgsl, .ptx or .metal file, relative to ringkernel.json',
  entryPoint: 'the kernel function to run',
  stateBytes: "the size of the kernel's state buffer in bytes, a multiple of 4",
};

/** `sources`: one file per backend, the language each backend runs (the file's extension must say it). */
export const BACKEND_SOURCE_EXTENSIONS: Readonly<Record<'webgpu' | 'cuda', string>> = { webgpu: '.wgsl', cuda: '.ptx' };

/** Sources are picked by extension; the language follows from it. */
export const SOURCE_EXTENSIONS: Readonly<Record<string, KernelLanguage>> = {
  '.wgsl': 'wgsl',
  '.ptx': 'ptx',
  '.metal': 'msl',
};

const GIB = 1024 ** 3;

export const LIMITS = {
  /** Ids name kernels in commands, the status bar and file names: short and plain. */
  id: /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/,
  /** WGSL, PTX and Metal identifiers (PTX also allows `$` and a leading `%`). */
  entryPoint: /^[A-Za-z_$%][A-Za-z0-9_$]*$/,
  /** The state is one GPU buffer of 32-bit words; 4 GiB is the largest a binding can address. */
  stateBytes: { min: 4, max: 4 * GIB },
  /** CUDA: gridDim.x up to 2^31-1, y and z up to 65535. */
  grid: { min: 1, max: [2_147_483_647, 65_535, 65_535] },
  /** CUDA: blockDim up to 1024 x 1024 x 64, and at most 1024 threads in all. */
  block: { min: 1, max: [1024, 1024, 64], maxThreads: 1024 },
  /** Messages per ring. */
  capacity: { min: 0, max: 65_536 },
  rateHz: { min: 0, max: 100_000 },
  /** WebGPU guarantees only this many workgroups per dimension (maxComputeWorkgroupsPerDimension). */
  webgpuWorkgroupsPerDimension: 65_535,
  /**
   * Kernels read from one manifest; the ones past it are left out with one error. Twice what eight
   * devices hold at the default ringkernel.maxKernelsPerDevice (64): more is a mistake or a
   * generator gone wrong, and reading, checking and starting them all would hold the editor up.
   */
  kernels: 1024,
  /**
   * How deep objects and arrays may nest. A manifest needs 4 levels (the root, "kernels", a
   * kernel, "grid"); the limit keeps a pathological file from exhausting the parser's stack.
   */
  nesting: 64,
} as const;

export const LANGUAGE_NAME: Record<KernelLanguage, string> = { wgsl: 'WGSL', ptx: 'PTX', msl: 'Metal' };
/** The backend `auto` means, per language; Metal has none on this platform. */
export const AUTO_BACKEND: Record<KernelLanguage, 'webgpu' | 'cuda' | undefined> = {
  wgsl: 'webgpu',
  ptx: 'cuda',
  msl: undefined,
};

/** The backend a kernel runs on: its own, or for `auto` the one its language needs; none for Metal. */
export function runsOn(spec: Pick<KernelSpec, 'backend' | 'language'>): 'webgpu' | 'cuda' | undefined {
  return spec.backend === 'auto' ? AUTO_BACKEND[spec.language] : spec.backend;
}
