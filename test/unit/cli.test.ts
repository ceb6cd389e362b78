import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../support/repo';

const run = promisify(execFile);
const cli = join(repoRoot, 'bin', 'ringkernel.js');
const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

async function ringkernel(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

test('ringkernel --version prints the package version', async () => {
  const result = await ringkernel('--version');
  assert.equal(result.code, 0);
  assert.equal(result.stdout.trim(), version);
});

test('ringkernel --help lists the commands', async () => {
  const result = await ringkernel('--help');
  assert.equal(result.code, 0);
  assert.match(result.stdout, /ringkernel devices \[--json\]/);
  assert.match(result.stdout, /ringkernel-language-server --stdio/);
});

test('ringkernel with an unknown command exits 2 and says what to do', async () => {
  const result = await ringkernel('frobnicate');
  assert.equal(result.code, 2);
  assert.match(result.stderr, /unknown command "frobnicate".*--help/);
});

test('ringkernel devices --json lists every backend with devices or a reason', async () => {
  const result = await ringkernel('devices', '--json');
  assert.equal(result.code, 0, result.stderr);
  const { backends } = JSON.parse(result.stdout) as { backends: { backend: string; available: boolean; reason?: string; devices: unknown[] }[] };
  assert.deepEqual(backends.map((b) => b.backend).sort(), ['cuda', 'webgpu']);
  for (const b of backends) assert.ok(b.available ? b.devices.length > 0 : (b.reason ?? '').length > 10, JSON.stringify(b));
});

test('ringkernel-language-server without a transport says which to choose', async () => {
  try {
    await run(process.execPath, [join(repoRoot, 'bin', 'ringkernel-language-server.js')]);
    assert.fail('it should exit non-zero');
  } catch (error) {
    const failed = error as { code: number; stderr: string };
    assert.equal(failed.code, 2);
    assert.match(failed.stderr, /--stdio/);
  }
});
