// `ringkernel run --cuda-instances N` on any machine: bad values are refused with usage (exit 2)
// before anything runs, and where CUDA is absent a move to a CUDA device names the devices there and
// the option that opens more. (On a GPU: test/gpu/cudaInstances.test.ts moves a kernel between them.)
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../support/repo';

const run = promisify(execFile);
const CLI = join(repoRoot, 'bin', 'ringkernel.js');
const EXAMPLE = join(repoRoot, 'examples', 'ringkernel.json');

async function failing(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await run(process.execPath, [CLI, 'run', EXAMPLE, ...args], { timeout: 60_000 });
  } catch (error) {
    const failed = error as { code?: number; stderr?: string };
    return { code: failed.code ?? -1, stderr: failed.stderr ?? '' };
  }
  return assert.fail(`ringkernel run ${args.join(' ')} should have failed`);
}

test(
  '--cuda-instances takes a whole number from 1 to 8; anything else is a usage error',
  { timeout: 60_000 },
  async () => {
    for (const value of ['0', '9', '1.5', 'two', '']) {
      const { code, stderr } = await failing(['--steps', '1', `--cuda-instances=${value}`]);
      assert.equal(code, 2, `--cuda-instances=${value}: ${stderr}`);
      assert.match(stderr, /--cuda-instances needs a whole number from 1 to 8/);
      assert.match(stderr, /usage: ringkernel run MANIFEST .*--cuda-instances N/);
    }
    const missing = await failing(['--steps', '1', '--cuda-instances']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--cuda-instances needs a whole number from 1 to 8 \(got nothing\)/);
  },
);

test(
  'without CUDA, --cuda-instances 2 --migrate counter=cuda:1@1 says there is no cuda:1 and how devices are opened',
  { timeout: 120_000 },
  async (t) => {
    const { code, stderr } = await failing(['--steps', '2', '--cuda-instances', '2', '--migrate', 'counter=cuda:1@1']);
    if (!/no such device here/.test(stderr)) {
      // A machine with CUDA has cuda:1 now; the GPU tier covers it.
      t.skip(`CUDA is present here (exit ${code})`);
      return;
    }
    assert.equal(code, 2, stderr);
    assert.match(
      stderr,
      /--migrate to cuda:1: no such device here \(devices: [^)]*; .*--cuda-instances N more CUDA devices\)/,
    );
  },
);
