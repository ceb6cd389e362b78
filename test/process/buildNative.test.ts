// `npm install` builds the CUDA addon for about a minute: the build script says so before it
// starts, not only after. Run on a copy of the script in a scratch tree with a stand-in node-gyp
// that holds the build until the test has seen that line (the real build would take a minute and
// replace this checkout's addon).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pollUntil } from '../support/poll';
import { repoRoot } from '../support/repo';

const STAND_IN_NODE_GYP = `
const { existsSync, mkdirSync, writeFileSync } = require('node:fs');
const go = process.env.BUILD_GO_FILE;
const deadline = Date.now() + 20000;
const wait = setInterval(() => {
  if (existsSync(go)) {
    clearInterval(wait);
    mkdirSync('build/Release', { recursive: true });
    writeFileSync('build/Release/ringkernel_cuda.node', '');
  } else if (Date.now() > deadline) {
    clearInterval(wait);
    process.stderr.write('nobody said the build had started');
    process.exit(1);
  }
}, 20);
`;

test(
  'the addon build says what it is doing before the minute of building, then how long it took',
  { timeout: 60_000 },
  async () => {
    const root = mkdtempSync(join(tmpdir(), 'ringkernel-build-native-'));
    mkdirSync(join(root, 'scripts'));
    mkdirSync(join(root, 'native'));
    mkdirSync(join(root, 'node_modules', 'node-gyp', 'bin'), { recursive: true });
    copyFileSync(join(repoRoot, 'scripts', 'build-native.mjs'), join(root, 'scripts', 'build-native.mjs'));
    writeFileSync(join(root, 'package.json'), '{"name":"scratch","private":true}\n');
    writeFileSync(join(root, 'node_modules', 'node-gyp', 'package.json'), '{"name":"node-gyp","version":"0.0.0"}\n');
    writeFileSync(join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'), STAND_IN_NODE_GYP);
    const go = join(root, 'go');
    const build = spawn(process.execPath, [join(root, 'scripts', 'build-native.mjs')], {
      cwd: root,
      env: { ...process.env, BUILD_GO_FILE: go, RINGKERNEL_SKIP_NATIVE: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    build.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    build.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) => build.once('exit', resolve));
    try {
      // While node-gyp is still running, the line is already there.
      await pollUntil(
        `the line that says the build started (stdout: ${stdout}, stderr: ${stderr})`,
        () => (stdout.includes('\n') ? true : undefined),
        { timeoutMs: 15_000 },
      );
      assert.match(
        stdout,
        /^ringkernel: building the CUDA addon \(native\) with node-gyp, about a minute; .*RINGKERNEL_SKIP_NATIVE=1 skips it\)\n$/,
      );
      writeFileSync(go, '');
      assert.equal(await exited, 0, stderr);
      assert.match(
        stdout.split('\n')[1] ?? '',
        /^ringkernel: built native\/build\/Release\/ringkernel_cuda\.node in \d+\.\d s$/,
      );
      assert.equal(stdout.split('\n').filter(Boolean).length, 2, stdout);
      assert.ok(existsSync(join(root, 'native', 'build', 'build-native.log')));
    } finally {
      build.kill('SIGKILL');
    }
  },
);
