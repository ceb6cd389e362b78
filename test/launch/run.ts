// `npm run test:integration`: runs the integration suite in a real VS Code, picking the launcher.
//
//   RINGKERNEL_TEST_LAUNCHER=electron   desktop VS Code through @vscode/test-electron (electron.ts)
//   RINGKERNEL_TEST_LAUNCHER=offline    VS Code server + headless Chromium (offline.ts)
//   unset                               electron when VSCODE_EXECUTABLE_PATH is set, else offline
//
// Arguments (`--workspace FOLDER`) are passed on to the launcher.
import { launchLog, parseLaunchOptions, runAsScript } from './common';
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

runAsScript('test:integration', async () => {
  const options = parseLaunchOptions();
  const { launcher, why } = chooseLauncher();
  launchLog('test:integration', `launcher: ${launcher}, because ${why}`);
  return launcher === 'electron' ? runElectron(options) : runOffline(options);
});
