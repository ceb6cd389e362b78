// `npm start`'s launcher (tools/open.ts) as a user runs it, against a stand-in for the VS Code
// server (installing the real one takes 90 s and 300 MB): the server gets a connection token that
// the printed address carries, and when the launcher is stopped (the terminal closing sends
// SIGHUP) no process of the server's group is left and its port is free. The system packages
// each path needs are those of scripts/install-system-deps.sh's groups.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { CODE_SERVER_VERSION, freePort } from '../../tools/codeServer';
import { depsFor } from '../../tools/systemDeps';
import { pollUntil } from '../support/poll';
import { repoRoot } from '../support/repo';

const linuxOnly = process.platform === 'linux' ? {} : { skip: 'process groups and /proc as on Linux' };

/** Like the real server: listens, checks the token, and starts a helper in its own group that ignores SIGTERM (as an extension host may). */
const STAND_IN = `
const http = require('node:http');
const { spawn } = require('node:child_process');
const { readFileSync } = require('node:fs');
const args = process.argv.slice(2);
const value = (name) => { const i = args.indexOf(name); return i === -1 ? undefined : args[i + 1]; };
const tokenFile = value('--connection-token-file');
const token = tokenFile === undefined ? undefined : readFileSync(tokenFile, 'utf8').trim();
const helper = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000);"], { stdio: 'ignore' });
http.createServer((request, response) => {
  const tkn = new URL(request.url, 'http://127.0.0.1').searchParams.get('tkn');
  response.writeHead(token !== undefined && tkn === token ? 200 : 403).end();
}).listen(Number(value('--port')), '127.0.0.1', () => {
  console.log('server pid ' + process.pid + ' helper pid ' + helper.pid + ' token ' + (token === undefined ? 'none' : 'from-file'));
  console.log('Extension host agent listening on ' + value('--port'));
});
`;

/** A code-server cache folder whose install is complete, with the stand-in as the server. */
function standInCache(): string {
  const cache = mkdtempSync(join(tmpdir(), 'ringkernel-open-cache-'));
  const installDir = join(cache, `code-server-${CODE_SERVER_VERSION}`);
  const packageDir = join(installDir, 'node_modules', 'code-server');
  mkdirSync(join(packageDir, 'lib', 'vscode', 'out'), { recursive: true });
  mkdirSync(join(packageDir, 'lib', 'vscode', 'node_modules', '@vscode', 'ripgrep', 'bin'), { recursive: true });
  writeFileSync(join(packageDir, 'package.json'), '{"name":"code-server"}\n');
  writeFileSync(join(packageDir, 'lib', 'vscode', 'node_modules', '@vscode', 'ripgrep', 'bin', 'rg'), '');
  writeFileSync(join(packageDir, 'lib', 'vscode', 'out', 'server-main.js'), STAND_IN);
  writeFileSync(
    join(installDir, '.ringkernel-installed.json'),
    JSON.stringify({ version: CODE_SERVER_VERSION, installedAt: new Date().toISOString() }),
  );
  return cache;
}

/** Running and not a zombie (nothing may reap orphans here). */
function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const portIsFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });

for (const signal of ['SIGHUP', 'SIGTERM', 'SIGINT'] as const) {
  test(
    `the browser launcher serves with a connection token and, on ${signal}, ends the server's whole process group`,
    { ...linuxOnly, timeout: 60_000 },
    async () => {
      const port = await freePort();
      const launcher = spawn(
        process.execPath,
        [join(repoRoot, 'out', 'tools', 'open.js'), '--browser', '--verbose', '--port', String(port)],
        {
          env: { ...process.env, RINGKERNEL_CODE_SERVER_CACHE: standInCache() },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let output = '';
      launcher.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        output += chunk;
      });
      launcher.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        output += chunk;
      });
      let pids: number[] = [];
      try {
        const url = await pollUntil(
          'the address the launcher prints',
          () => {
            const found = /Open (http:\/\/\S+) in your browser/.exec(output)?.[1];
            // The timeout's message carries this error: what the launcher said before it gave up.
            if (found === undefined && launcher.exitCode !== null)
              throw new Error(`the launcher exited with ${launcher.exitCode}: ${output}`);
            return found;
          },
          { timeoutMs: 30_000 },
        );
        const started = await pollUntil(
          "the stand-in server's pids",
          () => /server pid (\d+) helper pid (\d+) token (\S+)/.exec(output) ?? undefined,
        );
        pids = [Number(started[1]), Number(started[2])];
        assert.equal(started[3], 'from-file');
        const token = new URL(url).searchParams.get('tkn') ?? '';
        assert.match(token, /^[0-9A-Za-z_-]{32,}$/, url);
        assert.ok(url.startsWith(`http://127.0.0.1:${port}/?tkn=`), url);
        // The token travels in a file, not on a command line that every user can read.
        assert.ok(!readFileSync(`/proc/${pids[0]}/cmdline`, 'utf8').includes(token));
        assert.equal((await fetch(url)).status, 200);
        assert.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 403);
        assert.ok(pids.every(isRunning));

        launcher.kill(signal);
        await pollUntil('the launcher to exit', () =>
          launcher.exitCode !== null || launcher.signalCode !== null ? true : undefined,
        );
        await pollUntil(
          `the port and every process of the server's group to be gone (${pids.join(', ')})`,
          async () => ((await portIsFree(port)) && !pids.some(isRunning) ? true : undefined),
          { timeoutMs: 15_000 },
        );
        assert.equal(launcher.exitCode, 0, output);
        assert.match(output, new RegExp(`${signal}: stopping the VS Code server`));
      } finally {
        launcher.kill('SIGKILL');
        for (const pid of pids) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
      }
    },
  );
}

test("a desktop VS Code needs no system package; serving to a browser needs lavapipe, and code-server's build tools until it is installed", () => {
  assert.deepEqual(depsFor('desktop', false), []);
  assert.deepEqual(depsFor('browser', true), ['lavapipe']);
  assert.deepEqual(depsFor('browser', false), ['code-server', 'lavapipe']);
  // `npm start` leaves the choice to the launcher; `npm test` still asks for everything.
  const scripts = (
    JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  ).scripts;
  assert.doesNotMatch(scripts['start'] ?? '', /install-system-deps/);
  assert.match(scripts['test'] ?? '', /bash scripts\/install-system-deps\.sh &&/);
});

test(
  'install-system-deps.sh names the packages of each group and installs only those asked for',
  { ...linuxOnly, timeout: 30_000 },
  async () => {
    const dryRun = async (...groups: string[]): Promise<string[]> => {
      const { stdout } = await promisify(execFile)('bash', [
        join(repoRoot, 'scripts', 'install-system-deps.sh'),
        '--dry-run',
        ...groups,
      ]);
      return stdout
        .split('\n')
        .filter((line) => / \((present|missing)\)$/.test(line))
        .map((line) => line.replace(/^install-system-deps: /, '').replace(/ \((present|missing)\)$/, ''));
    };
    assert.deepEqual(await dryRun('lavapipe'), ['lavapipe: mesa-vulkan-drivers 24 or later']);
    assert.deepEqual(await dryRun('code-server', 'lavapipe'), [
      'code-server: ripgrep',
      'code-server: libkrb5-dev',
      'lavapipe: mesa-vulkan-drivers 24 or later',
    ]);
    assert.deepEqual(await dryRun(), [
      'browser: chromium',
      'code-server: ripgrep',
      'code-server: libkrb5-dev',
      'lavapipe: mesa-vulkan-drivers 24 or later',
      'archives: xz-utils',
    ]);
    await assert.rejects(
      promisify(execFile)('bash', [join(repoRoot, 'scripts', 'install-system-deps.sh'), 'chromium']),
      /unknown argument "chromium"/,
    );
  },
);
