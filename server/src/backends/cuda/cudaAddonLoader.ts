// Finds and loads the `ringkernel_cuda` native addon (native/build/Release, or $RINGKERNEL_CUDA_ADDON)
// once per process. When it cannot, one reason lists every path tried, why the last native build
// failed, and how to build it.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { CudaAddon } from './cudaAddon';

/** The addon's file, relative to the package root. */
export const CUDA_ADDON_RELATIVE_PATH = join('native', 'build', 'Release', 'ringkernel_cuda.node');
/** Environment variable naming the addon's file explicitly (tests, packaged layouts). */
export const CUDA_ADDON_ENV = 'RINGKERNEL_CUDA_ADDON';

export type CudaAddonLoad = { ok: true; addon: CudaAddon; path: string } | { ok: false; reason: string };

/** The nearest directory at or above `start` holding a package.json. */
function packageRoot(start: string): string | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Why the last `npm run build:native` failed, as scripts/build-native.mjs recorded it. */
function buildFailure(root: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(join(root, 'native', 'build', 'unavailable.json'), 'utf8'));
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { reason?: unknown }).reason === 'string') {
      return (parsed as { reason: string }).reason;
    }
  } catch {
    // No record: the build never ran or succeeded.
  }
  return undefined;
}

/** 'current', 'older' (a build from before allocation handles: it must be rebuilt), or 'foreign'. */
function addonShape(value: unknown): 'current' | 'older' | 'foreign' {
  const has = (name: string): boolean =>
    typeof value === 'object' && value !== null && typeof (value as Record<string, unknown>)[name] === 'function';
  if (!has('driverStatus') || !has('launchKernel')) return 'foreign';
  return has('liveResources') ? 'current' : 'older';
}

let cached: CudaAddonLoad | undefined;

/**
 * Loads the addon once per process: from $RINGKERNEL_CUDA_ADDON when set, else from
 * native/build/Release under the package root found above this bundle (dist/server.js,
 * out/test/...). On failure, one reason lists every path tried and what to do.
 */
export function loadCudaAddon(): CudaAddonLoad {
  cached ??= findCudaAddon({ explicitPath: process.env[CUDA_ADDON_ENV], searchFrom: __dirname });
  return cached;
}

export interface FindCudaAddonOptions {
  /** Tried first (the value of $RINGKERNEL_CUDA_ADDON). */
  explicitPath?: string | undefined;
  /** Where to start looking upwards for the package root. */
  searchFrom: string;
}

/** Loads the addon without caching; loadCudaAddon is the one to use. */
export function findCudaAddon(options: FindCudaAddonOptions): CudaAddonLoad {
  const candidates: Array<{ path: string; origin: string }> = [];
  if (options.explicitPath) candidates.push({ path: options.explicitPath, origin: ` (from $${CUDA_ADDON_ENV})` });
  const root = packageRoot(options.searchFrom);
  if (root !== undefined) candidates.push({ path: join(root, CUDA_ADDON_RELATIVE_PATH), origin: '' });

  // A require esbuild leaves alone: the addon is a file on disk next to the bundle, never bundled.
  const load = createRequire(__filename);
  const tried: string[] = [];
  for (const { path, origin } of candidates) {
    if (!existsSync(path)) {
      tried.push(`${path}${origin}: not found`);
      continue;
    }
    try {
      const exports: unknown = load(path);
      const shape = addonShape(exports);
      if (shape === 'current') return { ok: true, addon: exports as CudaAddon, path };
      tried.push(
        `${path}${origin}: loaded, but it is ${shape === 'older' ? 'an older build of the addon than this code expects (rebuild it)' : 'not the RingKernel CUDA addon'}`,
      );
    } catch (error) {
      tried.push(
        `${path}${origin}: ${error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error)}`,
      );
    }
  }

  const lines = ['The RingKernel CUDA addon could not be loaded, so the CUDA backend is unavailable.'];
  if (tried.length > 0) lines.push(`Tried:\n${tried.map((t) => `  - ${t}`).join('\n')}`);
  else
    lines.push(
      `No package root (a directory with package.json) was found above ${options.searchFrom}, and $${CUDA_ADDON_ENV} is not set.`,
    );
  const failure = root !== undefined ? buildFailure(root) : undefined;
  if (failure !== undefined) lines.push(`The last native build failed: ${failure}`);
  lines.push(
    `To build it, run \`npm run build:native\`${root !== undefined ? ` in ${root}` : ''}. It needs a C++17 compiler and Python 3 for node-gyp ` +
      '(Linux: g++ and make; macOS: the Xcode command-line tools; Windows: Visual Studio Build Tools), but no CUDA toolkit. ' +
      `Or set $${CUDA_ADDON_ENV} to a built ringkernel_cuda.node.`,
  );
  return { ok: false, reason: lines.join('\n') };
}
