// Where the installed extension's files are. The same code runs from dist/ (the bundles), from
// out/test/ (test bundles) and from a packaged .vsix, so the root is found, not assumed.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

let cachedRoot: string | undefined;

/** The folder holding RingKernel's package.json. */
export function extensionRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  let dir = __dirname;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && isOurManifest(manifest)) return (cachedRoot = dir);
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(
        `RingKernel could not find its own package.json above ${__dirname}; the installation is incomplete: reinstall the extension.`,
      );
    }
    dir = parent;
  }
}

function isOurManifest(path: string): boolean {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown }).name === 'ringkernel';
  } catch {
    return false;
  }
}

/** A bundle built next to the server bundle, e.g. `probe.js`. */
export function bundlePath(name: string): string {
  return join(extensionRoot(), 'dist', name);
}
