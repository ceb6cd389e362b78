// The Tint host child the WGSL tests run: dist/tintHost.js when the build made it, else one
// bundled here from the source (same options as scripts/build.mjs), so the tests need no more
// than the test build.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { repoRoot } from '../../support/repo';

let built: Promise<string> | undefined;

export function tintHostScript(): Promise<string> {
  const dist = join(repoRoot, 'dist', 'tintHost.js');
  if (existsSync(dist)) return Promise.resolve(dist);
  built ??= (async () => {
    // Loaded at run time so the test bundle does not contain esbuild itself.
    const esbuild = createRequire(__filename)('esbuild') as typeof import('esbuild');
    const outfile = join(repoRoot, 'out', 'test', 'tintHost.js');
    await esbuild.build({
      entryPoints: [join(repoRoot, 'server', 'src', 'validation', 'child', 'tintHostMain.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      external: ['webgpu'],
      logLevel: 'warning',
    });
    return outfile;
  })();
  return built;
}
