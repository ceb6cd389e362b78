// Builds every bundle with esbuild: the extension client, the language server, the command-line
// front end, the webview scripts (for the browser, into media/webview/build with uPlot's style
// sheet), and the test and tool scripts. Type-checking is separate (`npm run typecheck`).
// Usage: node scripts/build.mjs [--watch] [--production]
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

/** Native and binary dependencies stay outside the bundles: they load from node_modules or native/. */
const external = [
  'vscode',
  'webgpu',
  '*.node',
  'mocha',
  'playwright-core',
  '@vscode/test-electron',
  'vscode-textmate',
  'vscode-oniguruma',
  'web-tree-sitter',
  'tree-sitter-cpp',
];

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
  try {
    entries = readdirSync(dir);
  } catch {
    return found;
  }
  for (const name of entries) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found = found.concat(tsFilesUnder(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) found.push(path);
  }
  return found;
}

const builds = [
  { entryPoints: { client: 'client/src/extension.ts' }, outdir: 'dist' },
  {
    entryPoints: {
      server: 'server/src/main.ts',
      cli: 'server/src/cli/main.ts',
      probe: 'server/src/probe/child/probeMain.ts',
      deviceHost: 'server/src/hosts/child/deviceHostMain.ts',
      hashWorker: 'server/src/hosts/child/hashWorkerMain.ts',
      tintHost: 'server/src/validation/child/tintHostMain.ts',
      mslParser: 'server/src/validation/child/mslParserMain.ts',
    },
    outdir: 'dist',
  },
];
// The webviews load only from media/webview (their Content Security Policy): their scripts, with
// uPlot and d3-scale-chromatic bundled in, and uPlot's style sheet go there.
const webviewBuild = 'media/webview/build';
builds.push({
  entryPoints: {
    routerStats: 'client/webview-ui/routerStats/main.ts',
    kernelState: 'client/webview-ui/kernelState/main.ts',
  },
  outdir: webviewBuild,
  platform: 'browser',
  format: 'iife',
  target: 'es2022',
  external: [],
  sourcemap: !production,
});
mkdirSync(webviewBuild, { recursive: true });
copyFileSync('node_modules/uplot/dist/uPlot.min.css', `${webviewBuild}/uPlot.min.css`);
const scripts = [
  ...tsFilesUnder('test'),
  ...tsFilesUnder('tools'),
  ...tsFilesUnder('bench'),
  ...tsFilesUnder('soak'),
].filter((f) => !f.includes('/fixtures/'));
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
