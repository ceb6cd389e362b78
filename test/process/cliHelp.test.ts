import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../support/repo';

const run = promisify(execFile);
const cli = join(repoRoot, 'bin', 'ringkernel.js');

async function ringkernel(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const OPTIONS: Record<string, string[]> = {
  devices: ['--json'],
  topology: ['--json', '--measure'],
  check: ['--json', '--ptxas PATH'],
  run: ['--steps N', '--json'],
};

for (const [command, options] of Object.entries(OPTIONS)) {
  test(`ringkernel ${command} --help prints the command's usage and options and exits 0, without running it`, async () => {
    for (const flag of ['--help', '-h']) {
      const result = await ringkernel(command, flag);
      assert.equal(result.code, 0, `${flag}: ${result.stderr}`);
      assert.match(result.stdout, new RegExp(`^Usage: ringkernel ${command}\\b`));
      for (const option of options)
        assert.ok(result.stdout.includes(`  ${option}`), `${flag} should name ${option}:\n${result.stdout}`);
      assert.match(result.stdout, /Exit codes: 0/);
      // Nothing ran: no probe output, no "file(s) checked", no "which manifest?".
      assert.equal(result.stderr, '');
    }
  });
}

test('--help wins over the other arguments of a command', async () => {
  const result = await ringkernel('run', 'no-such.json', '--steps', '-3', '--help');
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^Usage: ringkernel run MANIFEST/);
});

test("ringkernel --help names every command and says how to get a command's own help", async () => {
  const result = await ringkernel('--help');
  assert.equal(result.code, 0);
  for (const command of Object.keys(OPTIONS)) assert.match(result.stdout, new RegExp(`ringkernel ${command} `));
  assert.match(result.stdout, /ringkernel COMMAND --help/);
});
