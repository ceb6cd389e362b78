// Builds the CUDA addon (native/) with node-gyp. A failed build never fails `npm install`: the
// extension works without CUDA, so the reason goes to native/build/unavailable.json (which the
// addon loader quotes to the user), the full log to native/build/build-native.log, and one warning
// line to stderr.
// Usage: node scripts/build-native.mjs [--verbose]    (RINGKERNEL_SKIP_NATIVE=1 skips the build)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const nativeDir = join(root, 'native');
const buildDir = join(nativeDir, 'build');
const unavailableFile = join(buildDir, 'unavailable.json');
const logFile = join(buildDir, 'build-native.log');
const addonFile = join(buildDir, 'Release', 'ringkernel_cuda.node');
const verbose = process.argv.includes('--verbose');
const howToRetry =
  'install a C++17 compiler and Python 3 (Linux: g++ and make; macOS: Xcode command-line tools; ' +
  'Windows: Visual Studio Build Tools), then run `npm run build:native`';

function unavailable(reason, log) {
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(unavailableFile, `${JSON.stringify({ reason }, null, 2)}\n`);
  if (log !== undefined) writeFileSync(logFile, log);
  const details = relative(process.cwd(), log !== undefined ? logFile : unavailableFile);
  console.warn(
    `ringkernel: the CUDA addon was not built, so CUDA kernels are unavailable (everything else works); see ${details}`,
  );
  process.exit(0);
}

/** node-gyp's entry script: this package's devDependency, else the copy bundled with npm. */
function findNodeGyp() {
  try {
    return createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    const bundled = process.env.npm_config_node_gyp;
    return bundled && existsSync(bundled) ? bundled : undefined;
  }
}

/**
 * Where Node's headers are. npm passes its `nodedir` setting on as npm_config_nodedir; run
 * directly, a Node installed with its headers beside it (e.g. /usr/bin/node and
 * /usr/include/node) is used as is, so node-gyp does not try to download them.
 */
function nodeDirArgs() {
  if (process.env.npm_config_nodedir) return [`--nodedir=${process.env.npm_config_nodedir}`];
  const prefix = dirname(dirname(process.execPath));
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

if (process.env.RINGKERNEL_SKIP_NATIVE === '1') {
  if (existsSync(addonFile)) process.exit(0);
  unavailable('the build was skipped (RINGKERNEL_SKIP_NATIVE=1); unset it and run `npm run build:native`');
}

const nodeGyp = findNodeGyp();
if (nodeGyp === undefined) {
  unavailable(
    `node-gyp was not found (neither in node_modules nor bundled with npm); run \`npm install\`, then \`npm run build:native\``,
  );
}

const args = [nodeGyp, 'rebuild', '--jobs=max', ...nodeDirArgs()];
const started = Date.now();
// The build takes about a minute and prints nothing meanwhile (its log goes to a file): say so first.
console.log(
  `ringkernel: building the CUDA addon (${relative(process.cwd(), nativeDir) || '.'}) with node-gyp, about a minute; ` +
    'it is optional: without it everything but CUDA kernels works (RINGKERNEL_SKIP_NATIVE=1 skips it)',
);
const result = spawnSync(process.execPath, args, {
  cwd: nativeDir,
  encoding: 'utf8',
  stdio: verbose ? 'inherit' : 'pipe',
  maxBuffer: 64 * 1024 * 1024,
});
const log = `$ ${process.execPath} ${args.join(' ')}\n${result.stdout ?? ''}${result.stderr ?? ''}`;

if (result.error !== undefined || result.status !== 0 || !existsSync(addonFile)) {
  const why =
    result.error?.message ??
    (result.status !== 0
      ? `node-gyp rebuild exited with ${result.status ?? result.signal}`
      : `node-gyp succeeded but ${relative(root, addonFile)} is missing`);
  // The first compiler or gyp error says most; the full log is beside it.
  const firstError = log
    .split('\n')
    .find((line) => /error|not found|No such file/i.test(line) && !line.startsWith('gyp info'));
  unavailable(
    `${why}${firstError ? ` (${firstError.trim()})` : ''}. To fix: ${howToRetry}. Full log: ${relative(root, logFile)}`,
    log,
  );
}

rmSync(unavailableFile, { force: true });
writeFileSync(logFile, log);
console.log(`ringkernel: built ${relative(root, addonFile)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
