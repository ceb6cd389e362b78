// The entry points a workspace's `ringkernel.json` declares, per kernel source file, for
// validation: a WGSL file must define every entry point the manifest names for it. A manifest
// that cannot be read or parsed declares nothing here (its own diagnostics belong to the
// manifest's validation, not to every kernel file).
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ExpectedEntryPoint } from '../validation';

export const MANIFEST_NAME = 'ringkernel.json';

interface Cached {
  mtimeMs: number;
  bySource: Map<string, ExpectedEntryPoint[]>;
}

const cache = new Map<string, Cached>();

/** Reads (and caches by modification time) which entry points each source file must define. */
export function declaredEntryPoints(manifestPath: string): Map<string, ExpectedEntryPoint[]> {
  let mtimeMs: number;
  try {
    mtimeMs = statSync(manifestPath).mtimeMs;
  } catch {
    cache.delete(manifestPath);
    return new Map();
  }
  const cached = cache.get(manifestPath);
  if (cached?.mtimeMs === mtimeMs) return cached.bySource;
  const bySource = new Map<string, ExpectedEntryPoint[]>();
  try {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { kernels?: unknown };
    const kernels = Array.isArray(manifest.kernels) ? (manifest.kernels as unknown[]) : [];
    for (const kernel of kernels) {
      if (typeof kernel !== 'object' || kernel === null) continue;
      const { id, source, entryPoint } = kernel as { id?: unknown; source?: unknown; entryPoint?: unknown };
      if (typeof source !== 'string' || typeof entryPoint !== 'string' || entryPoint === '') continue;
      const path = resolve(dirname(manifestPath), source);
      const list = bySource.get(path) ?? [];
      list.push(typeof id === 'string' ? { name: entryPoint, kernelId: id } : { name: entryPoint });
      bySource.set(path, list);
    }
  } catch {
    // Not JSON (yet: the user may be typing it): no declarations.
  }
  cache.set(manifestPath, { mtimeMs, bySource });
  return bySource;
}
