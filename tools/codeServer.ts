// Provisions and starts the VS Code server that ships in the npm package `code-server`, for the
// offline integration tests (test/launch/offline.ts) and for `npm start` without a desktop VS Code
// (tools/open.ts). The package is not a project dependency: it is installed on first use into
// `<repo>/.vscode-test/code-server-<version>/`, the same cache folder @vscode/test-electron uses.
//
// Every child process gets its own TMPDIR and XDG_* folders inside a per-run temporary directory,
// so VS Code leaves no sockets, caches or settings behind in /tmp or the home folder.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { STOP_SIGNALS, killGroupOnExit, signalGroup } from './processGroup';

/** The newest code-server whose bundled Node matches Node 20 (later ones need Node 22 or 24). */
export const CODE_SERVER_VERSION = '4.100.3';
/** The @vscode/ripgrep version inside that code-server, and the release its postinstall fetches. */
const RIPGREP_PACKAGE_VERSION = '1.15.11';
const RIPGREP_RELEASE = 'v13.0.0-10';
const STAMP_NAME = '.ringkernel-installed.json';
const READY_LINE = 'Extension host agent listening on';

export function log(message: string): void {
  console.log(`[code-server] ${message}`);
}

/** The repository root: the nearest folder above this bundle with package.json and server/. */
export function findRepoRoot(start: string = __dirname): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'server'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no RingKernel repository root above ${start}`);
    dir = parent;
  }
  return dir;
}

/** Finds an executable on PATH (no shell involved). */
export function which(command: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    try {
      const stats = statSync(candidate);
      if (stats.isFile() && (stats.mode & 0o111) !== 0) return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Per-run temporary folders

export interface RunDirs {
  root: string;
  /** Environment for child processes: TMPDIR and XDG_* inside `root`. */
  env: NodeJS.ProcessEnv;
  /**
   * Removes `root` and everything under it (again, if something wrote there since). A failure
   * is reported on stderr unless `quiet`.
   */
  remove(quiet?: boolean): void;
}

/** Creates a fresh temporary folder with its own TMPDIR and XDG_* folders for child processes. */
export function createRunDirs(prefix = 'ringkernel-vscode-'): RunDirs {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const sub = (name: string): string => {
    const path = join(root, name);
    mkdirSync(path, { recursive: true, mode: 0o700 });
    return path;
  };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TMPDIR: sub('tmp'),
    XDG_CONFIG_HOME: sub('xdg/config'),
    XDG_CACHE_HOME: sub('xdg/cache'),
    XDG_DATA_HOME: sub('xdg/data'),
    XDG_STATE_HOME: sub('xdg/state'),
    XDG_RUNTIME_DIR: sub('xdg/runtime'),
  };
  return {
    root,
    env,
    remove(quiet = false): void {
      try {
        rmSync(root, { recursive: true, force: true, maxRetries: 3 });
      } catch (error) {
        if (!quiet) console.error(`[code-server] could not remove ${root}: ${String(error)}`);
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Install

export interface InstallOptions {
  /** Where the cache folder lives; default $RINGKERNEL_CODE_SERVER_CACHE, else `<repo>/.vscode-test`. */
  cacheDir?: string;
}

/** The cache folder: one can be shared by several checkouts through RINGKERNEL_CODE_SERVER_CACHE. */
function cacheDirOf(options: InstallOptions): string {
  return options.cacheDir ?? (process.env['RINGKERNEL_CODE_SERVER_CACHE'] || join(findRepoRoot(), '.vscode-test'));
}

function ripgrepTarget(): string {
  if (process.platform !== 'linux') {
    throw new Error(
      `the offline VS Code (code-server) is only set up for Linux here, not ${process.platform}; ` +
        'install a desktop VS Code and set VSCODE_EXECUTABLE_PATH instead',
    );
  }
  switch (process.arch) {
    case 'x64':
      return 'x86_64-unknown-linux-musl';
    case 'arm64':
      return 'aarch64-unknown-linux-musl';
    default:
      throw new Error(`no ripgrep build is known for linux-${process.arch}`);
  }
}

/**
 * Puts a tarball holding the system's `rg` where @vscode/ripgrep's postinstall looks for its
 * download (`$TMPDIR/vscode-ripgrep-cache-<version>/ripgrep-<release>-<target>.tar.gz`), so the
 * install never reaches for GitHub.
 */
function prefillRipgrepCache(tmp: string): void {
  const rg = which('rg');
  if (rg === undefined) {
    throw new Error(
      'ripgrep (`rg`) is not on PATH, and installing code-server offline needs it. ' +
        'Run `sudo bash scripts/install-system-deps.sh` (as root) to install it, then try again.',
    );
  }
  const cache = join(tmp, `vscode-ripgrep-cache-${RIPGREP_PACKAGE_VERSION}`);
  mkdirSync(cache, { recursive: true });
  const staging = mkdtempSync(join(tmp, 'rg-'));
  copyFileSync(rg, join(staging, 'rg'));
  chmodSync(join(staging, 'rg'), 0o755);
  const tarball = join(cache, `ripgrep-${RIPGREP_RELEASE}-${ripgrepTarget()}.tar.gz`);
  const tar = spawnSync('tar', ['-czf', tarball, '-C', staging, 'rg'], { stdio: 'inherit' });
  if (tar.status !== 0) throw new Error(`could not pack ${rg} into ${tarball} (tar exited with ${String(tar.status)})`);
}

/**
 * code-server's postinstall compiles native modules (node-pty, kerberos, ...) with node-gyp when
 * no prebuilt binary can be downloaded, which is always the case offline. Say what is missing up
 * front instead of after a minute of npm output.
 */
function checkBuildPrerequisites(): void {
  const missing: string[] = [];
  if (which('rg') === undefined)
    missing.push('ripgrep (`rg`), which stands in for the one @vscode/ripgrep would download');
  for (const tool of ['make', 'python3']) if (which(tool) === undefined) missing.push(`\`${tool}\``);
  if (which('g++') === undefined && which('c++') === undefined) missing.push('a C++ compiler (`g++`)');
  if (!existsSync('/usr/include/gssapi/gssapi.h') && !existsSync('/usr/local/include/gssapi/gssapi.h')) {
    missing.push('the Kerberos GSS-API headers (Debian package `libkrb5-dev`, for the `kerberos` module)');
  }
  if (missing.length > 0) {
    throw new Error(
      `installing code-server needs ${missing.join(', ')}. ` +
        'Run `sudo bash scripts/install-system-deps.sh` (as root) to install them, then try again.',
    );
  }
}

interface Stamp {
  version: string;
  installedAt: string;
}

function installDirFor(cacheDir: string): string {
  return join(cacheDir, `code-server-${CODE_SERVER_VERSION}`);
}

function packageDirOf(installDir: string): string {
  return join(installDir, 'node_modules', 'code-server');
}

/** Files whose absence means an install stopped half way (the postinstall builds lib/vscode's deps). */
function missingPieces(packageDir: string): string[] {
  const required = [
    'package.json',
    'lib/vscode/out/server-main.js',
    'lib/vscode/node_modules',
    'lib/vscode/node_modules/@vscode/ripgrep/bin/rg',
  ];
  return required.filter((relative) => !existsSync(join(packageDir, relative)));
}

function readStamp(installDir: string): Stamp | undefined {
  try {
    const stamp = JSON.parse(readFileSync(join(installDir, STAMP_NAME), 'utf8')) as Partial<Stamp>;
    return stamp.version === CODE_SERVER_VERSION && typeof stamp.installedAt === 'string'
      ? (stamp as Stamp)
      : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A lock folder so two runs never install into the same place at once. Stale locks are broken. */
async function withInstallLock<T>(cacheDir: string, body: () => Promise<T>): Promise<T> {
  const lock = join(cacheDir, `code-server-${CODE_SERVER_VERSION}.lock`);
  const deadline = Date.now() + 15 * 60_000;
  let announced = false;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let owner = NaN;
      try {
        owner = Number(readFileSync(join(lock, 'pid'), 'utf8'));
      } catch {
        // the other process may be between mkdir and writeFile
      }
      let age = 0;
      try {
        age = Date.now() - statSync(lock).mtimeMs;
      } catch {
        continue;
      }
      if ((Number.isInteger(owner) && owner > 0 && !isAlive(owner)) || (Number.isNaN(owner) && age > 60_000)) {
        log(`removing a stale install lock left by process ${Number.isNaN(owner) ? '?' : owner}`);
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (!announced) {
        log(`another process (${owner}) is installing code-server; waiting for it`);
        announced = true;
      }
      if (Date.now() > deadline) throw new Error(`gave up waiting for the install lock ${lock}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
  // Also released when the process exits on a signal (the launchers exit from their handlers).
  const release = (): void => rmSync(lock, { recursive: true, force: true });
  process.on('exit', release);
  try {
    return await body();
  } finally {
    process.off('exit', release);
    release();
  }
}

async function runNpmInstall(installDir: string, runDirs: RunDirs): Promise<void> {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const args = [
    'install',
    '--prefix',
    installDir,
    '--no-save',
    '--no-audit',
    '--no-fund',
    '--loglevel=http',
    `code-server@${CODE_SERVER_VERSION}`,
  ];
  const logFile = join(installDir, 'install.log');
  const child = spawn(npm, args, {
    cwd: installDir,
    env: {
      ...runDirs.env,
      // node-pty's install runs `npx node-gyp`; as root npm would otherwise drop privileges.
      npm_config_unsafe_perm: 'true',
      npm_config_yes: 'true',
      npm_config_update_notifier: 'false',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so that npm and the builds it started can be stopped together.
    detached: true,
  });
  const stopInstall = (): void => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  process.on('exit', stopInstall);
  // A caller without signal handlers would die on Ctrl-C without its 'exit' event; stop npm then too.
  const onSignal = (signal: NodeJS.Signals): void => {
    stopInstall();
    process.exit(signal === 'SIGINT' ? 130 : signal === 'SIGHUP' ? 129 : 143);
  };
  const ownSignals = STOP_SIGNALS.filter((signal) => process.listenerCount(signal) === 0);
  for (const signal of ownSignals) process.on(signal, onSignal);
  const output: string[] = [];
  const started = Date.now();
  const collect = (chunk: Buffer): void => {
    output.push(chunk.toString('utf8'));
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const ticker = setInterval(() => {
    log(`still installing (${Math.round((Date.now() - started) / 1000)} s)...`);
  }, 15_000);
  let code: number | null;
  let signal: NodeJS.Signals | null;
  try {
    [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  } finally {
    clearInterval(ticker);
    process.off('exit', stopInstall);
    for (const signal of ownSignals) process.off(signal, onSignal);
  }
  const text = output.join('');
  writeFileSync(logFile, text);
  if (code !== 0) {
    const tail = text.trimEnd().split('\n').slice(-25).join('\n');
    throw new Error(
      `npm install code-server@${CODE_SERVER_VERSION} failed (${signal ?? `exit code ${String(code)}`}); ` +
        `full log in ${logFile}. Last lines:\n${tail}`,
    );
  }
}

/** Whether code-server is installed completely in the cache folder (so installing needs nothing). */
export function isCodeServerInstalled(options: InstallOptions = {}): boolean {
  const installDir = installDirFor(cacheDirOf(options));
  return readStamp(installDir) !== undefined && missingPieces(packageDirOf(installDir)).length === 0;
}

/**
 * Makes sure code-server is installed in the cache folder and returns the package folder
 * (`.../node_modules/code-server`). The first call takes about 90 s; later calls return at once.
 */
export async function ensureCodeServer(options: InstallOptions = {}): Promise<string> {
  const cacheDir = cacheDirOf(options);
  const installDir = installDirFor(cacheDir);
  const packageDir = packageDirOf(installDir);
  if (readStamp(installDir) !== undefined && missingPieces(packageDir).length === 0) return packageDir;

  ripgrepTarget(); // throws on platforms this offline set-up does not cover
  checkBuildPrerequisites();
  mkdirSync(cacheDir, { recursive: true });
  return withInstallLock(cacheDir, async () => {
    // Another run may have finished the install while this one waited for the lock.
    if (readStamp(installDir) !== undefined && missingPieces(packageDir).length === 0) return packageDir;
    if (existsSync(installDir)) {
      log(`removing an unfinished install in ${installDir}`);
      rmSync(installDir, { recursive: true, force: true });
    }
    mkdirSync(installDir, { recursive: true });
    // A package.json of its own keeps npm from walking up into the repository's.
    writeFileSync(
      join(installDir, 'package.json'),
      `${JSON.stringify(
        {
          name: 'ringkernel-code-server-cache',
          private: true,
          description: "Cache of the VS Code server used by RingKernel's offline integration tests; safe to delete.",
          // npm 11 warns about (and later npm versions skip) install scripts not approved here.
          // code-server's postinstall installs and builds lib/vscode's own dependencies.
          allowScripts: { 'code-server': true, argon2: true },
        },
        null,
        2,
      )}\n`,
    );

    const runDirs = createRunDirs('ringkernel-code-server-install-');
    const removeRunDirs = (): void => runDirs.remove();
    process.on('exit', removeRunDirs);
    try {
      prefillRipgrepCache(runDirs.env['TMPDIR'] ?? tmpdir());
      log(`installing code-server@${CODE_SERVER_VERSION} into ${installDir} (first run only: about 90 s, 300 MB)`);
      const started = Date.now();
      await runNpmInstall(installDir, runDirs);
      const missing = missingPieces(packageDir);
      if (missing.length > 0) {
        throw new Error(
          `npm install finished but the code-server install is incomplete (missing ${missing.join(', ')}); ` +
            `see ${join(installDir, 'install.log')}. Its install scripts may have been skipped.`,
        );
      }
      const stamp: Stamp = { version: CODE_SERVER_VERSION, installedAt: new Date().toISOString() };
      writeFileSync(join(installDir, STAMP_NAME), `${JSON.stringify(stamp, null, 2)}\n`);
      log(`installed in ${Math.round((Date.now() - started) / 1000)} s`);
      return packageDir;
    } finally {
      process.off('exit', removeRunDirs);
      runDirs.remove();
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Start

/** A free TCP port on 127.0.0.1, or `preferred` when it can be bound. */
export async function freePort(preferred?: number): Promise<number> {
  const tryPort = (port: number): Promise<number | undefined> =>
    new Promise((resolve) => {
      const server = createServer();
      server.unref();
      server.once('error', () => resolve(undefined));
      server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
        const address = server.address();
        const bound = typeof address === 'object' && address !== null ? address.port : undefined;
        server.close(() => resolve(bound));
      });
    });
  if (preferred !== undefined) {
    const port = await tryPort(preferred);
    if (port !== undefined) return port;
  }
  const port = await tryPort(0);
  if (port === undefined) throw new Error('could not find a free TCP port on 127.0.0.1');
  return port;
}

/** The workbench's launch parameters; the server honours them only with --enable-smoke-test-driver. */
export interface WorkbenchPayload {
  extensionDevelopmentPath?: string;
  extensionTestsPath?: string;
}

export interface CodeServer {
  port: number;
  /** http://127.0.0.1:PORT */
  origin: string;
  /** The remote URI the workbench uses for a path on this machine. */
  remoteUri(path: string): string;
  /** The address that opens `folder` with the given launch parameters. */
  url(folder: string, payload?: WorkbenchPayload): string;
  /** Resolves when the server process ends, with its exit code or signal. */
  exited: Promise<string>;
  /** The server's last output lines, for error messages. */
  lastLines(): string[];
  /** Stops the server and everything it started, then removes its temporary folders. */
  stop(): Promise<void>;
}

export interface StartOptions {
  packageDir: string;
  /** Preferred port; a free one is picked when it is taken or not given. */
  port?: number;
  /** Per-run temporary folders; created (and removed on stop) when not given. */
  runDirs?: RunDirs;
  /** Where the server keeps user settings, state and extensions; default: inside the run folder. */
  dataDir?: string;
  /** How long to wait for the server to be ready; default 60 s. */
  readyTimeoutMs?: number;
  /** Called with each line the server prints (stdout and stderr). */
  onLine?: (line: string) => void;
  /**
   * The secret a browser must present (`?tkn=` in the URL, then a cookie). Without one the server
   * accepts anyone who can reach 127.0.0.1, and the workbench has a terminal. It travels in a
   * file only this user can read, not on the command line that `ps` shows everyone.
   */
  connectionToken?: string;
  /**
   * Workspace trust as a user has it (default false: started with --disable-workspace-trust, so
   * every folder is trusted). With it, a folder this fresh profile never trusted opens in
   * Restricted Mode until someone grants trust in the workbench.
   */
  workspaceTrust?: boolean;
  /** User settings written to the server's `User/settings.json` before the workbench loads. */
  userSettings?: Record<string, unknown>;
}

/** What VS Code's server accepts as a connection token. */
const TOKEN_PATTERN = /^[0-9A-Za-z_-]+$/;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  // The server runs detached in its own process group; its id is the server's pid.
  if (signalGroup(child.pid, signal)) return;
  try {
    child.kill(signal);
  } catch {
    // already gone
  }
}

export async function startCodeServer(options: StartOptions): Promise<CodeServer> {
  const ownRunDirs = options.runDirs === undefined;
  const runDirs = options.runDirs ?? createRunDirs();
  const port = await freePort(options.port);
  const origin = `http://127.0.0.1:${port}`;
  const dataDir = options.dataDir ?? join(runDirs.root, 'server-data');
  const extensionsDir = join(dataDir, 'extensions');
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(extensionsDir, { recursive: true });
  if (options.userSettings !== undefined) {
    mkdirSync(join(dataDir, 'User'), { recursive: true });
    writeFileSync(join(dataDir, 'User', 'settings.json'), `${JSON.stringify(options.userSettings, null, 2)}\n`);
  }

  const entry = join(options.packageDir, 'lib', 'vscode', 'out', 'server-main.js');
  const token = options.connectionToken;
  let tokenArgs = ['--without-connection-token'];
  if (token !== undefined) {
    if (!TOKEN_PATTERN.test(token)) throw new Error('a connection token may only hold letters, digits, "-" and "_"');
    const tokenFile = join(runDirs.root, 'connection-token');
    writeFileSync(tokenFile, token, { mode: 0o600 });
    tokenArgs = ['--connection-token-file', tokenFile];
  }
  const args = [
    entry,
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    ...tokenArgs,
    '--accept-server-license-terms',
    '--enable-smoke-test-driver',
    '--disable-telemetry',
    ...(options.workspaceTrust === true ? [] : ['--disable-workspace-trust']),
    // (--skip-welcome and --skip-release-notes are ignored by the server: "not supported for
    // server"; the welcome page is skipped through the payload's skipWelcome instead.)
    '--server-data-dir',
    dataDir,
    '--user-data-dir',
    dataDir,
    '--extensions-dir',
    extensionsDir,
  ];
  log(`starting the VS Code server on ${origin}`);
  const child = spawn(process.execPath, args, {
    cwd: runDirs.root,
    env: runDirs.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  // Whatever ends this process, the server's group ends with it.
  const disarm = child.pid === undefined ? () => undefined : killGroupOnExit(child.pid);

  const recent: string[] = [];
  let ready = false;
  let resolveReady: () => void = () => undefined;
  const readyPromise = new Promise<void>((resolve) => {
    resolveReady = resolve;
  });
  const onText = (prefix: string): ((chunk: Buffer) => void) => {
    let partial = '';
    return (chunk: Buffer) => {
      partial += chunk.toString('utf8');
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const raw of lines) {
        const line = `${prefix}${raw.replace(/\r$/, '')}`;
        recent.push(line);
        if (recent.length > 40) recent.shift();
        options.onLine?.(line);
        if (!ready && raw.includes(READY_LINE)) {
          ready = true;
          resolveReady();
        }
      }
    };
  };
  child.stdout.on('data', onText(''));
  child.stderr.on('data', onText(''));

  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal !== null ? `signal ${signal}` : `exit code ${String(code)}`));
    child.once('error', (error) => resolve(`spawn error: ${error.message}`));
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      killGroup(child, 'SIGTERM');
      const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 5000).unref());
      if ((await Promise.race([exited, timer])) === 'timeout') killGroup(child, 'SIGKILL');
      // Children of the server (extension host, pty host) share its group and may outlive it.
      killGroup(child, 'SIGKILL');
      if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
      disarm();
      if (ownRunDirs) runDirs.remove();
    })();
    return stopping;
  };

  const timeoutMs = options.readyTimeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    readyPromise.then(() => 'ready' as const),
    exited.then((how) => `exited (${how})`),
    new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`was not ready after ${timeoutMs} ms`), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if (outcome !== 'ready') {
    await stop();
    const tail = recent.length > 0 ? recent.map((line) => `    ${line}`).join('\n') : '    (no output)';
    throw new Error(`the VS Code server ${outcome} before printing "${READY_LINE}". Its last output:\n${tail}`);
  }
  log(`ready on ${origin}`);

  const remoteUri = (path: string): string => `vscode-remote://127.0.0.1:${port}${encodeURI(path)}`;
  return {
    port,
    origin,
    remoteUri,
    url(folder: string, payload: WorkbenchPayload = {}): string {
      const entries: [string, string][] = [];
      if (payload.extensionDevelopmentPath !== undefined)
        entries.push(['extensionDevelopmentPath', remoteUri(payload.extensionDevelopmentPath)]);
      if (payload.extensionTestsPath !== undefined)
        entries.push(['extensionTestsPath', remoteUri(payload.extensionTestsPath)]);
      entries.push(['skipWelcome', 'true']);
      // Slashes stay readable in the folder; the workbench decodes both parameters. The server
      // trades `tkn` for a cookie and redirects to the same address without it.
      const folderParam = encodeURIComponent(folder).replace(/%2F/gi, '/');
      const tokenParam = token === undefined ? '' : `tkn=${token}&`;
      return `${origin}/?${tokenParam}folder=${folderParam}&payload=${encodeURIComponent(JSON.stringify(entries))}`;
    },
    exited,
    lastLines: () => [...recent],
    stop,
  };
}
