// The workspace-trust configuration's entry: the launchers start VS Code with trust on (a fresh
// profile, so the folder opens untrusted) and point the workbench here instead of at the default
// suite (test/launch/run.ts, RINGKERNEL_TEST_CONFIG). Runs every `*.test.js` beside this file.
import { runSuite } from '../index';

export function run(): Promise<void> {
  return runSuite(__dirname);
}
