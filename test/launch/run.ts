// `npm run test:integration`: runs the integration suite in a real VS Code, picking the launcher.
//
//   RINGKERNEL_TEST_LAUNCHER=electron   desktop VS Code through @vscode/test-electron (electron.ts)
//   RINGKERNEL_TEST_LAUNCHER=offline    VS Code server + headless Chromium (offline.ts)
//   unset                               electron when VSCODE_EXECUTABLE_PATH is set, else offline
//
//   RINGKERNEL_TEST_CONFIG=main         the suite (test/integration/*.test.ts), workspace trust disabled
//   RINGKERNEL_TEST_CONFIG=trust        test/integration/trust/: trust on, the folder opens untrusted
//   unset or all                        both, one after the other
//
// Arguments (`--workspace FOLDER`) are passed on to the launcher for the main suite; the trust
// configuration always opens its own folder (untrustedWorkspace()).
import { launchLog, parseLaunchOptions, runAsScript, trustTestsEntry, untrustedWorkspace } from './common';
import { runElectron } from './electron';
import { runOffline } from './offline';

type Launcher = 'electron' | 'offline';

export function chooseLauncher(env: NodeJS.ProcessEnv = process.env): { launcher: Launcher; why: string } {
  const requested = env['RINGKERNEL_TEST_LAUNCHER'];
  if (requested === 'electron' || requested === 'offline')
    return { launcher: requested, why: `RINGKERNEL_TEST_LAUNCHER=${requested}` };
  if (requested !== undefined && requested !== '') {
    throw new Error(`RINGKERNEL_TEST_LAUNCHER must be "electron" or "offline", not "${requested}"`);
  }
  const executable = env['VSCODE_EXECUTABLE_PATH'];
  if (executable !== undefined && executable !== '')
    return { launcher: 'electron', why: `VSCODE_EXECUTABLE_PATH is set (${executable})` };
  return {
    launcher: 'offline',
    why: 'the default (no VSCODE_EXECUTABLE_PATH; set RINGKERNEL_TEST_LAUNCHER=electron for a desktop VS Code)',
  };
}

type Config = 'main' | 'trust';

export function chooseConfigs(env: NodeJS.ProcessEnv = process.env): Config[] {
  const requested = env['RINGKERNEL_TEST_CONFIG'];
  if (requested === undefined || requested === '' || requested === 'all') return ['main', 'trust'];
  if (requested === 'main' || requested === 'trust') return [requested];
  throw new Error(`RINGKERNEL_TEST_CONFIG must be "main", "trust" or "all", not "${requested}"`);
}

/**
 * The trust configuration's settings: no modal "Do you trust the authors?" at start-up (the
 * folder then stays in Restricted Mode, as after answering "No"), so the test drives the rest.
 */
const TRUST_SETTINGS = { 'security.workspace.trust.startupPrompt': 'never' };

runAsScript('test:integration', async () => {
  const options = parseLaunchOptions();
  const configs = chooseConfigs();
  const { launcher, why } = chooseLauncher();
  launchLog('test:integration', `launcher: ${launcher}, because ${why}; configurations: ${configs.join(', ')}`);
  let code = 0;
  for (const config of configs) {
    let result: number;
    if (config === 'main') {
      result = launcher === 'electron' ? await runElectron(options) : await runOffline(options);
    } else {
      const trustOptions = { ...options, workspace: untrustedWorkspace() };
      const run = { testsEntry: trustTestsEntry, workspaceTrust: true, userSettings: TRUST_SETTINGS };
      result =
        launcher === 'electron'
          ? await runElectron(trustOptions, run)
          : await runOffline(trustOptions, { ...run, what: 'the trust configuration' });
    }
    launchLog(
      'test:integration',
      `configuration ${config}: ${result === 0 ? 'passed' : `failed (exit code ${result})`}`,
    );
    if (code === 0) code = result;
  }
  return code;
});
