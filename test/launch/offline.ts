// Runs the integration suite without a desktop VS Code: the VS Code server from the npm package
// code-server (tools/codeServer.ts) serves the workbench, Debian's headless Chromium renders it
// (driven by playwright-core), and the extension host is a real Node process on this machine.
//
//   node out/test/launch/offline.js [--workspace FOLDER]
//
// The workbench gets the test parameters in its `payload` query (honoured because the server runs
// with --enable-smoke-test-driver), runs out/test/integration/index.js, and reports the result by
// calling window.codeAutomationExit(code), which this script exposes. The suite's output arrives
// as browser console messages and is printed here.
//
// Environment: CHROME_PATH (default /usr/bin/chromium), RINGKERNEL_TEST_TIMEOUT_MS (default
// 600000), RINGKERNEL_TEST_VERBOSE=1 (also print the server's output and browser noise),
// RINGKERNEL_TEST_GREP (passed on to mocha).
//
// UI requests: a test that needs what only a user can do in the workbench (granting workspace
// trust) prints `[ringkernel-ui] REQUEST` on its console; this launcher does it with Playwright as
// a user would (see UI_REQUESTS) and sets RINGKERNEL_TEST_UI_DRIVER=playwright so tests know.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { formatWithOptions } from 'node:util';
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { createRunDirs, ensureCodeServer, startCodeServer, type CodeServer } from '../../tools/codeServer';
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

const TAG = 'offline';
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function chromiumPath(): string {
  const path = process.env['CHROME_PATH'] ?? '/usr/bin/chromium';
  if (!existsSync(path)) {
    throw new Error(
      `no Chromium at ${path}. Run \`sudo bash scripts/install-system-deps.sh\` (as root) to install ` +
        "Debian's chromium, or point CHROME_PATH at a Chromium or Chrome executable.",
    );
  }
  return path;
}

/**
 * Console output that says nothing about the tests: the workbench's own chatter in a headless,
 * offline browser (no service worker, no gallery, no web manifest). Matched against the whole
 * formatted message; shown anyway with RINGKERNEL_TEST_VERBOSE=1. Test lines never match these.
 */
const NOISE: readonly RegExp[] = [
  // workbench log lines (INFO)
  /^Resolving connection token \(/,
  /^Resolved connection token \(/,
  /^Creating a socket \(renderer-/,
  /^Updating additional builtin extensions cache$/,
  /^ChatSessionStore: /,
  // errors of a browser without network or a web manifest
  /^\[Service Worker\] registration /,
  /getaddrinfo ENOTFOUND open-vsx\.org/,
  /^Failed to load resource: net::ERR_NAME_NOT_RESOLVED$/,
  /^Manifest fetch from http:\/\/127\.0\.0\.1:\d+\/manifest\.json failed/,
  /^A bad HTTP response code \(404\) was received when fetching the script\.$/,
  // a 404 comes with an error of its own from whoever asked (logged separately)
  /^Failed to load resource: the server responded with a status of 404 \(Not Found\)$/,
  /^The web worker extension host is started in a same-origin iframe!$/,
  /^An iframe which has both allow-scripts and allow-same-origin for its sandbox attribute can escape its sandboxing\.$/,
  /^Overwriting extension <<copilot-instructions\.md>>/,
];

async function argumentValues(message: ConsoleMessage): Promise<unknown[]> {
  return Promise.all(
    message.args().map(async (handle) => {
      try {
        return (await handle.jsonValue()) as unknown;
      } catch {
        return '[a value that cannot be copied out of the browser]';
      }
    }),
  );
}

/**
 * Forwards the browser console to this process's stdout and stderr, in order.
 *
 * The workbench prints the extension host's console (and so the suite's output) through its
 * console logger: `console.log('%c INFO', 'color: #33f', ...theExtensionHostArguments)`. Those
 * messages are printed as the extension host meant them (printf-style formatting applied, the
 * level marker dropped for INFO); WARN and ERR lines keep a marker and ERR goes to stderr. Other
 * browser messages are printed with a `[browser:TYPE]` prefix when they are errors or warnings.
 */
export class ConsoleForwarder {
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly verbose: boolean,
    /** Called with each line the extension host printed (INFO level), after it was printed. */
    private readonly onExtensionHostLine?: (text: string) => void,
  ) {}

  readonly listener = (message: ConsoleMessage): void => {
    // Argument values arrive asynchronously; chain them so lines keep their order.
    const values = argumentValues(message);
    this.queue = this.queue.then(
      async () => this.print(message, await values),
      (error: unknown) => {
        console.error(`[${TAG}] could not forward a console message: ${String(error)}`);
      },
    );
  };

  /** Resolves when every message received so far has been printed. */
  drain(): Promise<void> {
    return this.queue;
  }

  private print(message: ConsoleMessage, values: unknown[]): void {
    const [first, second, ...rest] = values;
    const level = typeof first === 'string' ? /^%c\s*(TRACE|DEBUG|INFO|WARN|ERR)$/.exec(first)?.[1] : undefined;
    if (level !== undefined && typeof second === 'string') {
      const text = formatWithOptions({ colors: false }, ...rest);
      if (this.isNoise(text)) return;
      if (level === 'ERR') console.error(`[error] ${text}`);
      else if (level === 'WARN') console.log(`[warn] ${text}`);
      else console.log(text);
      this.onExtensionHostLine?.(text);
      return;
    }
    const type = message.type();
    const text =
      values.length > 0 && values.every((value) => typeof value === 'string') ? values.join(' ') : message.text();
    if (this.isNoise(text)) return;
    if (type === 'error' || type === 'assert') console.error(`[browser:error] ${text}`);
    else if (type === 'warning' || this.verbose) console.log(`[browser:${type}] ${text}`);
  }

  private isNoise(text: string): boolean {
    if (!NOISE.some((pattern) => pattern.test(text))) return false;
    if (this.verbose) console.log(`[noise] ${text}`);
    return true;
  }
}

interface Outcome {
  code: number;
  why: string;
}

/** How one run of the offline launcher differs from the integration suite's. */
export interface OfflineRunOptions {
  /** The extension tests entry the workbench runs (an index.js exporting run()); default: the suite. */
  testsEntry?: string;
  /** Workspace trust on, as a user has it: a folder this fresh profile never trusted opens in Restricted Mode. */
  workspaceTrust?: boolean;
  /** Added to the extension host's environment. */
  env?: Record<string, string>;
  /** User settings the workbench starts with. */
  userSettings?: Record<string, unknown>;
  /** Called with the page when the tests entry reports its exit code, before anything closes (a screenshot). */
  atExit?: (page: Page, code: number) => Promise<void>;
  /** The name in log lines and in the PASS/FAIL line; default "the suite". */
  what?: string;
}

/** The line prefix of a UI request from the extension host (see the header). */
export const UI_REQUEST_PREFIX = '[ringkernel-ui] ';

/**
 * What the launcher does for a test, through the workbench's own UI as a user would: each returns
 * when done and throws with what it could not find otherwise.
 */
const UI_REQUESTS: Record<string, (page: Page) => Promise<void>> = {
  // The test has opened the Workspace Trust editor (workbench.trust.manage); press its "Trust"
  // button. No extension API grants trust (requestWorkspaceTrust is a proposed API and it, too,
  // only opens a dialog for the user), so the button is the way.
  'grant-workspace-trust': async (page) => {
    // Beside it, "Trust Parent" would trust more than this folder.
    const button = page.locator('.workspace-trust-editor .workspace-trust-buttons a.monaco-button', {
      hasText: /^Trust$/,
    });
    await button.first().click({ timeout: 30_000 });
  },
};

/** Runs the UI request a line names, if it names one; failures are printed (the test then times out saying what it waited for). */
function uiRequestHandler(page: () => Page | undefined): (text: string) => void {
  return (text) => {
    if (!text.startsWith(UI_REQUEST_PREFIX)) return;
    const name = text.slice(UI_REQUEST_PREFIX.length).trim();
    const action = UI_REQUESTS[name];
    const current = page();
    if (action === undefined || current === undefined) {
      console.error(`[${TAG}] unknown UI request "${name}" (known: ${Object.keys(UI_REQUESTS).join(', ')})`);
      return;
    }
    launchLog(TAG, `UI request: ${name}`);
    action(current).then(
      () => launchLog(TAG, `UI request done: ${name}`),
      (error: unknown) =>
        console.error(`[${TAG}] UI request ${name} failed: ${error instanceof Error ? error.message : String(error)}`),
    );
  };
}

/**
 * Runs the suite once; resolves with the process exit code (0 when every test passed). The
 * deadline (options.timeoutMs) covers everything after code-server is installed: starting the
 * server and the browser, loading the workbench, and the suite itself.
 */
export async function runOffline(options: LaunchOptions, run: OfflineRunOptions = {}): Promise<number> {
  const entry = run.testsEntry ?? testsEntry;
  const what = run.what ?? 'the suite';
  if (run.testsEntry === undefined) requireBuiltTests();
  else if (!existsSync(entry)) throw new Error(`${entry} does not exist; build first with \`npm run build\``);
  const executablePath = chromiumPath();
  const verbose = process.env['RINGKERNEL_TEST_VERBOSE'] === '1';
  const started = Date.now();

  const runDirs = createRunDirs('ringkernel-offline-test-');
  let server: CodeServer | undefined;
  let context: BrowserContext | undefined;
  let closed = false;
  let cleaned: Promise<void> | undefined;
  const cleanup = (): Promise<void> => {
    closed = true;
    cleaned ??= (async () => {
      if (context !== undefined) {
        try {
          await context.close();
        } catch {
          // the browser is already gone
        }
      }
      if (server !== undefined) await server.stop();
      // Quiet: a browser still starting up may be writing there; the finally block below retries.
      runDirs.remove(true);
    })();
    return cleaned;
  };
  let settle: (outcome: Outcome) => void = () => undefined;
  const outcome = new Promise<Outcome>((resolve) => {
    settle = resolve;
  });
  const removeHandlers = onTerminate(TAG, (signal) => {
    settle({ code: 1, why: `interrupted by ${signal}` });
    return cleanup();
  });
  let currentPage: Page | undefined;
  const forwarder = new ConsoleForwarder(
    verbose,
    uiRequestHandler(() => currentPage),
  );
  let timer: NodeJS.Timeout | undefined;
  let driving: Promise<Outcome> | undefined;

  /** Starts everything and resolves when the suite ends (or something else settles the run). */
  const drive = async (packageDir: string): Promise<Outcome> => {
    // The extension host inherits the server's environment.
    runDirs.env['RINGKERNEL_TEST_WORKSPACE'] = options.workspace;
    runDirs.env['RINGKERNEL_TEST_UI_DRIVER'] = 'playwright';
    Object.assign(runDirs.env, run.env);
    const running = await startCodeServer({
      packageDir,
      runDirs,
      ...(run.workspaceTrust === true ? { workspaceTrust: true } : {}),
      ...(run.userSettings !== undefined ? { userSettings: run.userSettings } : {}),
      ...(verbose ? { onLine: (line: string) => console.log(`[server] ${line}`) } : {}),
    });
    server = running;
    if (closed) await running.stop();
    void running.exited.then((how) =>
      settle({ code: 1, why: `the VS Code server stopped (${how}) before ${what} ended` }),
    );

    const profile = join(runDirs.root, 'chromium-profile');
    mkdirSync(profile, { recursive: true });
    launchLog(TAG, `starting ${executablePath} (headless)`);
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      chromiumSandbox: false,
      args: CHROMIUM_FLAGS,
      env: runDirs.env,
      viewport: { width: 1280, height: 800 },
      // Playwright's own SIGINT handler exits the process before the server is stopped; ours
      // (onTerminate) closes the browser, stops the server and removes the temporary folders.
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
    if (closed) await context.close();
    context.on('close', () => settle({ code: 1, why: `the browser closed before ${what} ended` }));
    const page = context.pages()[0] ?? (await context.newPage());
    currentPage = page;
    await page.exposeFunction('codeAutomationExit', async (code: unknown) => {
      let exitCode = typeof code === 'number' && Number.isInteger(code) ? code : 1;
      let why = exitCode === 0 ? `${what} passed` : `${what} reported exit code ${exitCode}`;
      if (run.atExit !== undefined) {
        try {
          await run.atExit(page, exitCode);
        } catch (error) {
          exitCode = 1;
          why = `${why}, then failed at its end: ${error instanceof Error ? error.message : String(error)}`;
        }
      }
      settle({ code: exitCode, why });
    });
    page.on('console', forwarder.listener);
    page.on('pageerror', (error) => console.error(`[browser:pageerror] ${error.message}`));
    page.on('crash', () => settle({ code: 1, why: 'the browser page crashed' }));
    page.on('close', () => settle({ code: 1, why: `the browser page closed before ${what} ended` }));

    const url = running.url(options.workspace, { extensionDevelopmentPath: repoRoot, extensionTestsPath: entry });
    launchLog(TAG, `opening ${options.workspace} in VS Code (${running.origin})`);
    if (verbose) launchLog(TAG, url);
    // The run's own deadline bounds this too; Playwright's 30 s default is too short on a busy machine.
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: options.timeoutMs });
    return outcome;
  };

  try {
    const packageDir = await ensureCodeServer();
    timer = setTimeout(
      () => settle({ code: 1, why: `timed out after ${options.timeoutMs} ms (RINGKERNEL_TEST_TIMEOUT_MS)` }),
      options.timeoutMs,
    );
    driving = drive(packageDir);
    // After a timeout the unfinished start-up fails once cleanup closes things; that is expected.
    driving.catch(() => undefined);
    const result = await Promise.race([driving, outcome]);
    // The suite's last lines may still be on their way through the console queue.
    await Promise.race([forwarder.drain(), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    if (result.code !== 0 && !result.why.startsWith(what) && !result.why.startsWith('interrupted')) {
      const lines = server?.lastLines() ?? [];
      if (lines.length > 0)
        console.error(`[${TAG}] the server's last output:\n${lines.map((line) => `    ${line}`).join('\n')}`);
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    launchLog(TAG, `${result.code === 0 ? 'PASS' : 'FAIL'}: ${result.why} (${seconds} s)`);
    return result.code;
  } finally {
    clearTimeout(timer);
    await cleanup();
    // A start-up cut short by the deadline stops what it started once it notices (see drive()).
    if (driving !== undefined)
      await Promise.race([
        driving.catch(() => undefined),
        new Promise((resolve) => setTimeout(resolve, 10_000).unref()),
      ]);
    runDirs.remove(); // again, in case a browser still starting up was writing there the first time
    removeHandlers();
  }
}

if (isMainScript('offline')) runAsScript(TAG, () => runOffline(parseLaunchOptions()));
