// Runs the integration suite in a desktop VS Code with @vscode/test-electron.
//
//   node out/test/launch/electron.js [--workspace FOLDER]
//
// The VS Code used: VSCODE_EXECUTABLE_PATH, else a `code` on PATH (the Electron binary behind
// its launcher script), else test-electron's download into .vscode-test/ (needs the internet).
// On a Linux machine without a display, run it under `xvfb-run -a`.
import { runTests } from '@vscode/test-electron';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { which } from '../../tools/codeServer';
import {
  isMainScript,
  launchLog,
  onTerminate,
  parseLaunchOptions,
  repoRoot,
  requireBuiltTests,
  runAsScript,
  testsEntry,
  type LaunchOptions,
} from './common';

const TAG = 'electron';

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isScript(path: string): boolean {
  if (/\.(?:cmd|bat)$/i.test(path)) return true;
  try {
    const head = readFileSync(path).subarray(0, 2).toString('latin1');
    return head === '#!';
  } catch {
    return false;
  }
}

/**
 * The Electron executable behind a VS Code launcher: the `bin/code` shell script on Linux
 * (`<install>/bin/code` starts `<install>/code`), the one inside `Contents/` on macOS, and
 * `bin/code.cmd` next to `Code.exe` on Windows. An Electron executable is returned as it is.
 */
export function electronBehind(launcher: string): string | undefined {
  const real = realpathSync(launcher);
  if (!isScript(real)) return real;
  const install = dirname(dirname(real));
  if (process.platform === 'darwin') {
    const contents = real.slice(0, real.lastIndexOf('/Contents/') + '/Contents'.length);
    return ['Electron', 'Code', 'Code - Insiders'].map((name) => join(contents, 'MacOS', name)).find(isFile);
  }
  if (process.platform === 'win32') {
    const stem = basename(real).replace(/\.(?:cmd|bat)$/i, '');
    return [stem === 'code' ? 'Code.exe' : `${stem}.exe`, 'Code.exe', 'Code - Insiders.exe']
      .map((name) => join(install, name))
      .find(isFile);
  }
  // Linux: the script sets ELECTRON="$VSCODE_PATH/<name>".
  const text = readFileSync(real, 'utf8');
  const named = /ELECTRON="\$VSCODE_PATH\/([^"/]+)"/.exec(text)?.[1];
  return [named, basename(real), 'code', 'code-insiders']
    .filter((name): name is string => name !== undefined)
    .map((name) => join(install, name))
    .find((path) => isFile(path) && !isScript(path));
}

export interface DesktopVSCode {
  executable: string;
  why: string;
}

/** A desktop VS Code from VSCODE_EXECUTABLE_PATH or PATH, if there is one. */
export function findDesktopVSCode(): DesktopVSCode | undefined {
  const configured = process.env['VSCODE_EXECUTABLE_PATH'];
  if (configured !== undefined && configured !== '') {
    if (!existsSync(configured)) throw new Error(`VSCODE_EXECUTABLE_PATH is ${configured}, which does not exist`);
    const executable = electronBehind(configured);
    if (executable === undefined)
      throw new Error(`VSCODE_EXECUTABLE_PATH is ${configured}, but no VS Code executable was found behind it`);
    return { executable, why: `VSCODE_EXECUTABLE_PATH=${configured}` };
  }
  for (const name of ['code', 'code-insiders']) {
    const onPath = which(name);
    if (onPath === undefined) continue;
    const executable = electronBehind(onPath);
    if (executable !== undefined) return { executable, why: `\`${name}\` on PATH (${onPath})` };
  }
  return undefined;
}

/** How one run differs from the integration suite's (see OfflineRunOptions, the same for the offline launcher). */
export interface ElectronRunOptions {
  /** The extension tests entry (an index.js exporting run()); default: the suite. */
  testsEntry?: string;
  /** Workspace trust on, as a user has it, instead of --disable-workspace-trust. */
  workspaceTrust?: boolean;
  /** User settings VS Code starts with. */
  userSettings?: Record<string, unknown>;
}

export async function runElectron(options: LaunchOptions, config: ElectronRunOptions = {}): Promise<number> {
  if (config.testsEntry === undefined) requireBuiltTests();
  else if (!existsSync(config.testsEntry))
    throw new Error(`${config.testsEntry} does not exist; build first with \`npm run build\``);
  const desktop = findDesktopVSCode();
  if (desktop !== undefined) launchLog(TAG, `using ${desktop.executable} (from ${desktop.why})`);
  else launchLog(TAG, 'no desktop VS Code configured; letting @vscode/test-electron download one into .vscode-test/');

  const scratch = mkdtempSync(join(tmpdir(), 'ringkernel-electron-test-'));
  if (config.userSettings !== undefined) {
    mkdirSync(join(scratch, 'user-data', 'User'), { recursive: true });
    writeFileSync(join(scratch, 'user-data', 'User', 'settings.json'), JSON.stringify(config.userSettings, null, 2));
  }
  const cleanup = (): Promise<void> => {
    rmSync(scratch, { recursive: true, force: true, maxRetries: 3 });
    return Promise.resolve();
  };
  const removeHandlers = onTerminate(TAG, cleanup);
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const run = runTests({
      ...(desktop !== undefined ? { vscodeExecutablePath: desktop.executable } : {}),
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: config.testsEntry ?? testsEntry,
      extensionTestsEnv: { RINGKERNEL_TEST_WORKSPACE: options.workspace },
      launchArgs: [
        options.workspace,
        '--disable-extensions',
        ...(config.workspaceTrust === true ? [] : ['--disable-workspace-trust']),
        '--skip-welcome',
        '--skip-release-notes',
        '--user-data-dir',
        join(scratch, 'user-data'),
        '--extensions-dir',
        join(scratch, 'extensions'),
      ],
    }).then(
      () => ({ code: 0, why: 'the suite passed' }),
      (error: unknown) => {
        if (
          (error instanceof Error && error.name === 'TestRunFailedError') ||
          (error instanceof Error && /Test run failed/.test(error.message))
        ) {
          return { code: 1, why: error.message };
        }
        const message = error instanceof Error ? error.message : String(error);
        if (desktop === undefined) {
          return {
            code: 1,
            why:
              `could not download VS Code (${message}). Offline, use the default launcher (RINGKERNEL_TEST_LAUNCHER=offline) ` +
              'or point VSCODE_EXECUTABLE_PATH at an installed VS Code',
          };
        }
        return { code: 1, why: `VS Code failed to run the suite: ${message}` };
      },
    );
    const timeout = new Promise<{ code: number; why: string }>((resolve) => {
      timer = setTimeout(
        () => resolve({ code: 1, why: `timed out after ${options.timeoutMs} ms (RINGKERNEL_TEST_TIMEOUT_MS)` }),
        options.timeoutMs,
      );
    });
    const result = await Promise.race([run, timeout]);
    if (timer !== undefined && result.why.startsWith('timed out')) {
      // test-electron does not hand out its VS Code process; its SIGINT handler stops it.
      removeHandlers();
      process.emit('SIGINT', 'SIGINT');
      await Promise.race([run, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    launchLog(TAG, `${result.code === 0 ? 'PASS' : 'FAIL'}: ${result.why} (${seconds} s)`);
    return result.code;
  } finally {
    clearTimeout(timer);
    await cleanup();
    removeHandlers();
  }
}

if (isMainScript('electron')) runAsScript(TAG, () => runElectron(parseLaunchOptions()));
