// The entry points a workspace's `ringkernel.json` declares, per kernel source file, for
// validation: a WGSL file must define every entry point the manifest names for it. Built from
// every kernel entry the manifest parser could read, errors or not: a kernel whose entry point is
// missing from its file is left out of the runnable kernels, yet that file is exactly where the
// error must show. The manifest's own problems are published on the manifest, not here.
import { readFileSync, statSync } from 'node:fs';
import type { ExpectedEntryPoint } from '../validation';
import { MANIFEST_NAME, parseManifest } from './manifest';

export { MANIFEST_NAME };

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
  let text = '';
  try {
    text = readFileSync(manifestPath, 'utf8');
  } catch {
    // Gone between stat and read: declares nothing.
  }
  // Only the declarations matter here, so the kernel files are not read (validation reads them).
  for (const kernel of parseManifest(text, manifestPath, () => undefined).declared) {
    if (kernel.source === undefined || kernel.entryPoint === undefined) continue;
    const list = bySource.get(kernel.source) ?? [];
    const entry: ExpectedEntryPoint =
      kernel.id !== undefined ? { name: kernel.entryPoint, kernelId: kernel.id } : { name: kernel.entryPoint };
    if (kernel.device !== undefined) entry.device = kernel.device;
    list.push(entry);
    bySource.set(kernel.source, list);
  }
  cache.set(manifestPath, { mtimeMs, bySource });
  return bySource;
}
