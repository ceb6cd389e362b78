// Dawn's "artificially reduced" lines are noise on every CLI command: shown only with RINGKERNEL_DEBUG=1.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { isDriverNoise } from '../../server/src/driverNoise';
import { repoRoot } from '../support/repo';

const cli = (env: NodeJS.ProcessEnv): { stdout: string; stderr: string; status: number | null } => {
  const result = spawnSync(process.execPath, [join(repoRoot, 'bin', 'ringkernel.js'), 'devices'], {
    encoding: 'utf8',
    env,
    timeout: 120_000,
  });
  return { stdout: result.stdout, stderr: result.stderr, status: result.status };
};

test('ringkernel devices prints no driver noise; RINGKERNEL_DEBUG=1 shows it', { timeout: 240_000 }, (t) => {
  const env = { ...process.env };
  delete env['RINGKERNEL_DEBUG'];
  const quiet = cli(env);
  assert.equal(quiet.status, 0, quiet.stderr);
  assert.doesNotMatch(quiet.stderr, /artificially reduced/);
  const loud = cli({ ...env, RINGKERNEL_DEBUG: '1' });
  // Dawn on Vulkan prints these lines; a driver that does not leaves nothing to filter.
  if (!/artificially reduced/.test(loud.stderr)) t.diagnostic("this machine's driver printed no such line");
  else assert.match(loud.stderr, /^\[driver\] .*artificially reduced/m);
});

test('what counts as driver noise', () => {
  assert.equal(
    isDriverNoise(
      'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.',
    ),
    true,
  );
  assert.equal(isDriverNoise('WARNING: lavapipe is not a conformant vulkan implementation, testing use only.'), true);
  assert.equal(isDriverNoise('Error: VK_ERROR_DEVICE_LOST'), false);
});
