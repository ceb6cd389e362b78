// The CUDA addon's mapShared/unmapShared, for every process that moves bulk bytes: the server and
// every device host. Those two functions need no CUDA driver (loading the addon touches none), but
// the server may not import the CUDA backend (dependency-cruiser: backend implementations load only
// in child processes), so the addon's file is found here the way backends/cuda's loader finds it:
// $RINGKERNEL_CUDA_ADDON, else native/build/Release under the package root.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface SharedMapper {
  /** An ArrayBuffer over the pages of `path` (which holds exactly `bytes`), mapped MAP_SHARED. */
  map(path: string, bytes: number): ArrayBuffer;
  /** Detaches the buffer and unmaps its pages. */
  unmap(buffer: ArrayBuffer): void;
}

/** Set to 0 to use the fallback (reused files read and written in chunks) even where the addon loads. */
export const SHARED_MAPPING_ENV = 'RINGKERNEL_SHARED_MAPPING';

let loaded: { ok: true; mapper: SharedMapper } | { ok: false; reason: string } | undefined;

function packageRoot(start: string): string | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/** The mapper when the addon loads here and has it, else why not (once per process). */
export function sharedMapper(): { ok: true; mapper: SharedMapper } | { ok: false; reason: string } {
  loaded ??= findMapper();
  return loaded;
}

function findMapper(): { ok: true; mapper: SharedMapper } | { ok: false; reason: string } {
  if (process.env[SHARED_MAPPING_ENV] === '0') return { ok: false, reason: `${SHARED_MAPPING_ENV}=0` };
  const root = packageRoot(__dirname);
  const path =
    process.env.RINGKERNEL_CUDA_ADDON ??
    (root !== undefined ? join(root, 'native', 'build', 'Release', 'ringkernel_cuda.node') : undefined);
  if (path === undefined || !existsSync(path))
    return {
      ok: false,
      reason: `the native addon was not found (${path ?? 'no package root'}); build it with npm run build:native`,
    };
  try {
    // A require esbuild leaves alone: the addon is a file beside the bundle, never bundled.
    const addon = createRequire(__filename)(path) as Partial<{
      mapShared(path: string, bytes: number): ArrayBuffer;
      unmapShared(buffer: ArrayBuffer): void;
    }>;
    const { mapShared, unmapShared } = addon;
    if (typeof mapShared !== 'function' || typeof unmapShared !== 'function')
      return { ok: false, reason: `${path} is an older build without mapShared (rebuild it: npm run build:native)` };
    return {
      ok: true,
      mapper: { map: (file, bytes) => mapShared(file, bytes), unmap: (buffer) => unmapShared(buffer) },
    };
  } catch (error) {
    return {
      ok: false,
      reason: `${path} did not load: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
    };
  }
}
