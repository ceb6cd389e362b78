// Checks the packaged .vsix: everything the installed extension loads is there, and nothing
// that must not ship (sources, tests, maps of our code, other platforms' binaries) is.
// Usage: node scripts/check-vsix.mjs FILE.vsix
import { execFileSync } from 'node:child_process';

const file = process.argv[2];
if (!file) {
  console.error('usage: node scripts/check-vsix.mjs FILE.vsix');
  process.exit(2);
}
const listing = execFileSync('unzip', ['-Z1', file], { encoding: 'utf8' }).split('\n').filter(Boolean);
const names = new Set(listing.map((name) => name.replace(/^extension\//, '')));
const required = [
  'package.json',
  'readme.md',
  'LICENSE.txt',
  'changelog.md',
  'dist/client.js',
  'dist/server.js',
  'dist/probe.js',
  'dist/deviceHost.js',
  'dist/hashWorker.js',
  'dist/tintHost.js',
  'dist/mslParser.js',
  'dist/cli.js',
  'bin/ringkernel.js',
  'bin/ringkernel-language-server.js',
  'media/grammars/wgsl.tmLanguage.json',
  'media/grammars/ptx.tmLanguage.json',
  'media/grammars/msl.tmLanguage.json',
  'media/language-configuration/wgsl.json',
  'media/language-configuration/ptx.json',
  'media/language-configuration/msl.json',
  'media/icons/ringkernel.svg',
  'media/schemas/ringkernel.schema.json',
  'media/webview/webview.css',
  'media/webview/build/uPlot.min.css',
  'media/webview/build/routerStats.js',
  'media/webview/build/kernelState.js',
  'native/build/Release/ringkernel_cuda.node',
  'node_modules/webgpu/package.json',
  'node_modules/webgpu/index.js',
  'node_modules/webgpu/dist/linux-x64/dawn.node',
  'node_modules/web-tree-sitter/web-tree-sitter.cjs',
  'node_modules/web-tree-sitter/web-tree-sitter.wasm',
  'node_modules/tree-sitter-cpp/tree-sitter-cpp.wasm',
];
const forbidden = [
  /^(client|server|test|tools|bench|scripts|examples)\//,
  /\.ts$/,
  /^(dist|media\/webview\/build)\/.*\.map$/,
  /^node_modules\/webgpu\/dist\/(?!linux-x64\/)/,
  /^\.vscode-test\//,
];
const missing = required.filter((name) => !names.has(name));
const unwanted = [...names].filter((name) => forbidden.some((pattern) => pattern.test(name)));
if (missing.length > 0 || unwanted.length > 0) {
  if (missing.length > 0) console.error(`${file} lacks:\n  ${missing.join('\n  ')}`);
  if (unwanted.length > 0) console.error(`${file} holds what must not ship:\n  ${unwanted.join('\n  ')}`);
  console.error('Fix .vscodeignore (an allowlist) and run `npm run package` again.');
  process.exit(1);
}
console.log(`${file}: ${names.size} files, every required one present, nothing unwanted`);
