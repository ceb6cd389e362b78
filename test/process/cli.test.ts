import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
  const { backends } = JSON.parse(result.stdout) as {
    backends: { backend: string; available: boolean; reason?: string; devices: unknown[] }[];
  };
  assert.deepEqual(backends.map((b) => b.backend).sort(), ['cuda', 'webgpu']);
  for (const b of backends)
    assert.ok(b.available ? b.devices.length > 0 : (b.reason ?? '').length > 10, JSON.stringify(b));
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

test(
  "ringkernel run runs a manifest's kernels for N steps and prints each one's step and state digest, the same every run",
  { timeout: 120_000 },
  async () => {
    const root = mkdtempSync(join(tmpdir(), 'ringkernel-cli-run-'));
    writeFileSync(
      join(root, 'tick.wgsl'),
      `
struct Control { step: u32, kernel_index: u32, inbox_count: u32, outbox_capacity: u32 }
@group(0) @binding(0) var<storage, read> control: Control;
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
@compute @workgroup_size(1)
fn step() { state[0] = control.step + 1u; state[1] = state[1] + control.step; }
`,
    );
    writeFileSync(
      join(root, 'ringkernel.json'),
      JSON.stringify({ version: 1, kernels: [{ id: 'tick', source: 'tick.wgsl', entryPoint: 'step', stateBytes: 8 }] }),
    );
    const first = await ringkernel('run', join(root, 'ringkernel.json'), '--steps', '50', '--json');
    assert.equal(first.code, 0, first.stderr);
    const parsed = JSON.parse(first.stdout) as {
      kernels: { id: string; device: string; step: number; sha256: string }[];
    };
    const [tick] = parsed.kernels;
    assert.equal(tick?.id, 'tick');
    assert.match(tick.device, /^webgpu:\d+$/);
    assert.equal(tick.step, 50);
    // state = [50, 0 + 1 + ... + 49] as little-endian words.
    const expected = Buffer.alloc(8);
    expected.writeUInt32LE(50, 0);
    expected.writeUInt32LE((49 * 50) / 2, 4);
    assert.equal(tick.sha256, createHash('sha256').update(expected).digest('hex'));
    const text = await ringkernel('run', join(root, 'ringkernel.json'), '--steps', '50');
    assert.equal(text.code, 0);
    assert.equal(text.stdout, `tick\t${tick.device}\tstep 50\tsha256 ${tick.sha256}\n`);
  },
);

test('ringkernel run says what is wrong with a bad manifest or command line', async () => {
  const missing = await ringkernel('run', join(tmpdir(), 'no-such-folder', 'ringkernel.json'));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /ringkernel\.json/);
  const noManifest = await ringkernel('run');
  assert.equal(noManifest.code, 2);
  assert.match(noManifest.stderr, /which manifest\?/);
  const badSteps = await ringkernel('run', 'ringkernel.json', '--steps', '-3');
  assert.equal(badSteps.code, 2);
  assert.match(badSteps.stderr, /--steps needs a whole number/);
});
