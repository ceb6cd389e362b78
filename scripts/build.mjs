// Builds every bundle with esbuild: the extension client, the language server, the command-line
// front end, and the test and tool scripts. Type-checking is separate (`npm run typecheck`).
// Usage: node scripts/build.mjs [--watch] [--production]
import * as esbuild from 'esbuild';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

/** Native and binary dependencies stay outside the bundles: they load from node_modules or native/. */
const external = ['vscode', 'webgpu', '*.node', 'mocha', 'playwright-core', '@vscode/test-electron',
  'vscode-textmate', 'vscode-oniguruma', 'web-tree-sitter', 'tree-sitter-cpp'];

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  sourcesContent: false,
  minify: production,
  external,
  logLevel: 'warning',
};

function tsFilesUnder(dir) {
  let found = [];
  let entries;
  try { entries = readdirSync(dir); } catch { return found; }
  for (const name of entries) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found = found.concat(tsFilesUnder(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) found.push(path);
  }
  return found;
}

const builds = [
  { entryPoints: { client: 'client/src/extension.ts' }, outdir: 'dist' },
  { entryPoints: { server: 'server/src/main.ts', cli: 'server/src/cli/main.ts', probe: 'server/src/probe/child/probeMain.ts', deviceHost: 'server/src/hosts/child/deviceHostMain.ts', tintHost: 'server/src/validation/child/tintHostMain.ts' }, outdir: 'dist' },
];
const scripts = [...tsFilesUnder('test'), ...tsFilesUnder('tools'), ...tsFilesUnder('bench')].filter((f) => !f.includes('/fixtures/'));
if (scripts.length > 0) {
  builds.push({
    entryPoints: Object.fromEntries(scripts.map((f) => [relative('.', f).replace(/\.ts$/, ''), f])),
    outdir: 'out',
  });
}

if (watch) {
  for (const options of builds) {
    const ctx = await esbuild.context({ ...common, ...options });
    await ctx.watch();
  }
  console.log('build: watching for changes');
} else {
  await Promise.all(builds.map((options) => esbuild.build({ ...common, ...options })));
}
