// The unit tier is pure and fast: a unit test that starts a process fails, naming the tier it
// belongs in. test/support/unitTier.ts installs this before loading the unit tests; preloaded with
// `node --require` it guards the files Node's test runner starts, and leaves the runner itself
// (which starts them) alone: NODE_TEST_CONTEXT is set only inside those files.
import childProcess from 'node:child_process';

const STARTERS = ['spawn', 'spawnSync', 'fork', 'exec', 'execSync', 'execFile', 'execFileSync'] as const;

export function refuseProcesses(): void {
  const module = childProcess as unknown as Record<string, unknown>;
  for (const name of STARTERS) {
    module[name] = (command: unknown): never => {
      throw new Error(
        `a unit test started a process (child_process.${name}(${JSON.stringify(String(command))})): ` +
          'unit tests are pure; put tests that start processes under test/process/ and GPU tests under test/gpu/',
      );
    };
  }
}

if (process.env.NODE_TEST_CONTEXT !== undefined) refuseProcesses();
