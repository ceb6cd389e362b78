// The integration suite's entry, loaded by VS Code through --extensionTestsPath (the offline
// launcher passes it in the workbench payload; @vscode/test-electron passes it on the command
// line). Runs every `*.test.js` beside this file in the extension host with mocha.
//
// Output goes through console.log, which the extension host forwards: to the launcher's stdout
// under test-electron, and to the browser console (which test/launch/offline.ts prints) in the
// offline set-up. The last line is always `N passed, N failed[, N skipped]`; CI parses it.
import Mocha from 'mocha';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The summary line CI looks for: `N passed, N failed` and `, N skipped` when some were pending. */
export function summaryLine(stats: { passes: number; failures: number; pending: number }): string {
  const parts = [`${stats.passes} passed`, `${stats.failures} failed`];
  if (stats.pending > 0) parts.push(`${stats.pending} skipped`);
  return parts.join(', ');
}

/** VS Code prints the rejection; mocha has already said where each test failed. */
function withoutStack(message: string): Error {
  const error = new Error(message);
  error.stack = `Error: ${message}`;
  return error;
}

/** The default suite: every `*.test.js` beside this file (trust/ has a configuration of its own). */
export function run(): Promise<void> {
  return runSuite(__dirname);
}

/** Runs every `*.test.js` directly in `folder` with mocha. */
export function runSuite(folder: string): Promise<void> {
  // Stack traces point into the .ts sources (esbuild writes the source maps beside the bundles).
  process.setSourceMapsEnabled(true);
  const grep = process.env['RINGKERNEL_TEST_GREP'];
  const mocha = new Mocha({
    ui: 'bdd',
    reporter: 'spec',
    color: false,
    timeout: 60_000,
    ...(grep !== undefined && grep !== '' ? { grep } : {}),
  });
  const files = readdirSync(folder)
    .filter((name) => name.endsWith('.test.js'))
    .sort();
  for (const name of files) mocha.addFile(join(folder, name));

  return new Promise<void>((resolve, reject) => {
    try {
      const runner = mocha.run((failures) => {
        const stats = runner.stats ?? { passes: 0, failures, pending: 0 };
        // A failure in a hook can leave stats.failures behind the count mocha returns.
        const failed = Math.max(failures, stats.failures);
        console.log(summaryLine({ passes: stats.passes, failures: failed, pending: stats.pending }));
        if (failed > 0) reject(withoutStack(`${failed} integration test${failed === 1 ? '' : 's'} failed`));
        else if (files.length === 0) reject(withoutStack(`no *.test.js files in ${folder}`));
        else resolve();
      });
    } catch (error) {
      // A test file that throws while loading ends up here.
      console.log(summaryLine({ passes: 0, failures: 1, pending: 0 }));
      reject(error instanceof Error ? error : new Error(String(error)));
    }
  });
}
