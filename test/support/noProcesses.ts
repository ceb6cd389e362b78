// Preloaded into every unit test file (`npm run test:unit`): the unit tier is pure and fast, so a
// test that starts a process fails here, naming the tier it belongs in. Node's test runner itself
// starts one process per file; it is left alone (NODE_TEST_CONTEXT is set only inside those files).
import childProcess from 'node:child_process';

const STARTERS = ['spawn', 'spawnSync', 'fork', 'exec', 'execSync', 'execFile', 'execFileSync'] as const;

if (process.env.NODE_TEST_CONTEXT !== undefined) {
  const module = childProcess as unknown as Record<string, unknown>;
  for (const name of STARTERS) {
    module[name] = (command: unknown): never => {
      throw new Error(`a unit test started a process (child_process.${name}(${JSON.stringify(String(command))})): ` +
        'unit tests are pure; put tests that start processes under test/process/ and GPU tests under test/gpu/');
    };
  }
}
