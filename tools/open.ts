// `npm start`: opens the examples folder in VS Code with the extension loaded from this working
// tree (the npm script builds first).
//
//   node out/tools/open.js [--port N] [--browser] [--verbose]
//
// With a desktop VS Code (`code` on PATH) that is `code --extensionDevelopmentPath=<repo>
// <repo>/examples`, and no system package is installed. Without one (or with --browser), the
// packages that path needs are installed (tools/systemDeps.ts), the VS Code server from
// code-server is installed on first use (tools/codeServer.ts, about 90 s) and started on
// 127.0.0.1 with a connection token, and the address to open in a browser, token included, is
// printed. It runs until Ctrl-C, `kill` or the terminal closing (SIGHUP), and then ends the
// server's whole process group. Port: --port, else RINGKERNEL_PORT, else 8080; a free port is
// used when that one is taken. --verbose prints the server's output.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  createRunDirs,
  ensureCodeServer,
  findRepoRoot,
  isCodeServerInstalled,
  startCodeServer,
  which,
  type CodeServer,
} from './codeServer';
import { onStopSignal } from './processGroup';
import { depsFor, installSystemDeps } from './systemDeps';

const TAG = 'open';
const DEFAULT_PORT = 8080;

function say(message: string): void {
  console.log(`[${TAG}] ${message}`);
}

interface OpenOptions {
  port: number;
  browser: boolean;
  verbose: boolean;
}

function parsePort(value: string, from: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`${from} must be a TCP port (1-65535), not "${value}"`);
  return port;
}

function parseOptions(argv: readonly string[]): OpenOptions {
  let port: number | undefined;
  let browser = false;
  let verbose = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--port') {
      const value = argv[++i];
      if (value === undefined) throw new Error('--port needs a number');
      port = parsePort(value, '--port');
    } else if (arg.startsWith('--port=')) {
      port = parsePort(arg.slice('--port='.length), '--port');
    } else if (arg === '--browser') {
      browser = true;
    } else if (arg === '--verbose') {
      verbose = true;
    } else {
      throw new Error(`unknown argument ${arg} (usage: [--port N] [--browser] [--verbose])`);
    }
  }
  const fromEnv = process.env['RINGKERNEL_PORT'];
  if (port === undefined && fromEnv !== undefined && fromEnv !== '') port = parsePort(fromEnv, 'RINGKERNEL_PORT');
  return { port: port ?? DEFAULT_PORT, browser, verbose };
}

function openInDesktop(code: string, repoRoot: string, examples: string): Promise<number> {
  say(`opening ${examples} in VS Code (${code}) with the extension from ${repoRoot}`);
  const child = spawn(code, [`--extensionDevelopmentPath=${repoRoot}`, examples], { stdio: 'inherit' });
  return new Promise((resolve) => {
    child.once('error', (error) => {
      console.error(`[${TAG}] could not run ${code}: ${error.message}`);
      resolve(1);
    });
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

async function openInBrowser(repoRoot: string, examples: string, options: OpenOptions): Promise<number> {
  const port = options.port;
  installSystemDeps(repoRoot, depsFor('browser', isCodeServerInstalled()));
  const packageDir = await ensureCodeServer();
  const runDirs = createRunDirs('ringkernel-open-');
  process.on('exit', () => runDirs.remove(true));
  // Settings and state survive restarts; temporary files do not.
  const dataDir = join(repoRoot, '.vscode-test', 'code-server-user-data');
  mkdirSync(dataDir, { recursive: true });
  let server: CodeServer | undefined;
  let stopping = false;
  onStopSignal(async (signal) => {
    stopping = true;
    say(`${signal}: stopping the VS Code server`);
    await server?.stop();
    runDirs.remove();
  });

  // A fresh secret per start: only whoever has the printed address gets in.
  const connectionToken = randomBytes(24).toString('base64url');
  try {
    server = await startCodeServer({
      packageDir,
      port,
      runDirs,
      dataDir,
      connectionToken,
      ...(options.verbose ? { onLine: (line: string) => console.log(`[server] ${line}`) } : {}),
    });
  } catch (error) {
    runDirs.remove();
    throw error;
  }
  if (server.port !== port) say(`port ${port} is taken; using ${server.port} instead`);
  const url = server.url(examples, { extensionDevelopmentPath: repoRoot });
  console.log('');
  console.log(`  Open ${url} in your browser`);
  console.log("  (the address holds this session's connection token: without it the server lets no one in)");
  console.log('');
  say(
    `the extension loads from ${repoRoot}: after \`npm run build\` (or with \`npm run watch\`), run "Developer: Reload Window" in VS Code`,
  );
  say('press Ctrl-C to stop; closing the terminal stops it too');

  const how = await server.exited;
  if (stopping) return new Promise<number>(() => undefined); // the stop handler exits
  console.error(
    `[${TAG}] the VS Code server stopped (${how}). Its last output:\n${server
      .lastLines()
      .map((line) => `    ${line}`)
      .join('\n')}`,
  );
  runDirs.remove();
  return 1;
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const repoRoot = findRepoRoot();
  const examples = join(repoRoot, 'examples');
  if (!existsSync(examples)) throw new Error(`${examples} does not exist`);
  if (!existsSync(join(repoRoot, 'dist', 'client.js')))
    say('warning: dist/client.js is missing; run `npm run build` first');

  const code = options.browser ? undefined : which('code');
  // The desktop VS Code brings what it needs: no system package is installed for it.
  if (code !== undefined) return openInDesktop(code, repoRoot, examples);
  say(
    options.browser
      ? 'opening in a browser (--browser)'
      : 'no desktop VS Code (`code`) on PATH; serving VS Code to a browser instead',
  );
  return openInBrowser(repoRoot, examples, options);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`[${TAG}] ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
