// What the integration-test launchers share: where things are, the command line, and signals.
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { findRepoRoot } from '../../tools/codeServer';

export const repoRoot = findRepoRoot();
/** The suite's entry, built from test/integration/index.ts. */
export const testsEntry = join(repoRoot, 'out', 'test', 'integration', 'index.js');
/** The workspace-trust configuration's entry, built from test/integration/trust/index.ts. */
export const trustTestsEntry = join(repoRoot, 'out', 'test', 'integration', 'trust', 'index.js');
export const fixtureWorkspace = join(repoRoot, 'test', 'fixtures', 'workspace');
export const examplesWorkspace = join(repoRoot, 'examples');

/**
 * The folder the suite opens by default: a fresh copy of the fixture files and of the example
 * workspace (its ringkernel.json and kernels), so tests that edit and save kernels, as a user
 * would, never change the repository, and each run starts from the committed code.
 */
export function defaultWorkspace(): string {
  const workspace = mkdtempSync(join(tmpdir(), 'ringkernel-it-workspace-'));
  cpSync(fixtureWorkspace, workspace, { recursive: true });
  cpSync(join(examplesWorkspace, 'ringkernel.json'), join(workspace, 'ringkernel.json'));
  cpSync(join(examplesWorkspace, 'kernels'), join(workspace, 'kernels'), { recursive: true });
  return workspace;
}

/**
 * The folder the workspace-trust configuration opens: the default one, plus what a hostile
 * repository could hold: a `.vscode/settings.json` whose `ringkernel.ptxas.path` names a script
 * of the folder's own. The script records each run in `.vscode/ptxas-runs.log` and then runs the
 * real `ptxas` from PATH, so the test sees whether VS Code applied the folder's value.
 */
export function untrustedWorkspace(): string {
  const workspace = defaultWorkspace();
  const dotVscode = join(workspace, '.vscode');
  mkdirSync(dotVscode, { recursive: true });
  const script = join(dotVscode, 'record-ptxas.sh');
  writeFileSync(
    script,
    ['#!/bin/sh', 'printf \'%s\\n\' "$*" >> "$(dirname "$0")/ptxas-runs.log"', 'exec ptxas "$@"', ''].join('\n'),
  );
  chmodSync(script, 0o755);
  writeFileSync(join(dotVscode, 'settings.json'), `${JSON.stringify({ 'ringkernel.ptxas.path': script }, null, 2)}\n`);
  return workspace;
}

export interface LaunchOptions {
  /** The folder VS Code opens (absolute). */
  workspace: string;
  /** The whole run's deadline. */
  timeoutMs: number;
}

export function launchLog(tag: string, message: string): void {
  console.log(`[${tag}] ${message}`);
}

/** Reads `--workspace PATH` (or `--workspace=PATH`) and RINGKERNEL_TEST_TIMEOUT_MS. */
export function parseLaunchOptions(argv: readonly string[] = process.argv.slice(2)): LaunchOptions {
  let workspace: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--workspace') {
      const value = argv[++i];
      if (value === undefined) throw new Error('--workspace needs a folder');
      workspace = resolve(value);
    } else if (arg.startsWith('--workspace=')) {
      workspace = resolve(arg.slice('--workspace='.length));
    } else {
      throw new Error(`unknown argument ${arg} (usage: [--workspace FOLDER])`);
    }
  }
  workspace ??= defaultWorkspace();
  if (!existsSync(workspace) || !statSync(workspace).isDirectory())
    throw new Error(`the workspace ${workspace} is not a folder`);

  const rawTimeout = process.env['RINGKERNEL_TEST_TIMEOUT_MS'];
  let timeoutMs = 10 * 60_000;
  if (rawTimeout !== undefined && rawTimeout !== '') {
    timeoutMs = Number(rawTimeout);
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
      throw new Error(`RINGKERNEL_TEST_TIMEOUT_MS must be a positive number of milliseconds, not "${rawTimeout}"`);
  }
  return { workspace, timeoutMs };
}

/** Fails early, with the fix, when the suite has not been built. */
export function requireBuiltTests(): void {
  if (!existsSync(testsEntry)) throw new Error(`${testsEntry} does not exist; build first with \`npm run build\``);
}

/**
 * True when this bundle was started as `node out/test/launch/<name>.js`. esbuild inlines the
 * launchers into run.js, where `require.main === module` would hold for every one of them.
 */
export function isMainScript(name: string): boolean {
  const main = require.main?.filename;
  return main !== undefined && basename(main) === `${name}.js`;
}

/**
 * Runs `cleanup` once on SIGINT/SIGTERM, then exits with 130/143. Returns a function that
 * removes the handlers again.
 */
export function onTerminate(tag: string, cleanup: (signal: NodeJS.Signals) => Promise<void>): () => void {
  let running = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (running) return;
    running = true;
    launchLog(tag, `${signal}: stopping and cleaning up`);
    const code = signal === 'SIGINT' ? 130 : 143;
    cleanup(signal).then(
      () => process.exit(code),
      (error: unknown) => {
        console.error(`[${tag}] cleanup failed: ${String(error)}`);
        process.exit(code);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/** Runs a launcher's main function as a script: prints errors and exits with its code. */
export function runAsScript(tag: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`[${tag}] ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
